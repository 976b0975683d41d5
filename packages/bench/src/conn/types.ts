/** What `connection.ts` and `raw-ws.ts` both speak (here so neither imports the other for its types). */

/**
 * One client connection carrying MobileIMSDK packets as text: a WebSocket text frame per packet,
 * or a 4-byte big-endian length-prefixed body per packet on TCP.
 */
export interface Conn {
  readonly kind: 'ws' | 'tcp';
  /** Write one packet. Silently dropped once the connection is closing. */
  send(text: string): void;
  /** Close now (no linger); `onClose` fires once. */
  close(): void;
  /** Set the handler of every inbound packet text. */
  onText(fn: (text: string) => void): void;
  /** Set the handler called once when the connection is gone, whoever closed it. */
  onClose(fn: () => void): void;
  readonly open: boolean;
}

/** Where to connect. */
export type Endpoint = { kind: 'ws'; url: string } | { kind: 'tcp'; host: string; port: number };

/**
 * Which WebSocket client opens `ws` endpoints: the `ws` library, or the bench's own lean client
 * (`raw-ws.ts`: plain `ws://` only, a fraction of the CPU per connection).
 */
export type WsClient = 'raw' | 'ws';
