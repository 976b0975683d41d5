import { ClientError, ClientErrorCode } from './errors.js';

/** Where one gateway listens, as dispatch describes it (or as configured for a fixed server). */
export interface ServerTarget {
  /** Gateway node id, when known (from dispatch). */
  node: string | null;
  /** WebSocket URL, e.g. `ws://127.0.0.1:3000/websocket`. */
  ws: string | null;
  /** TCP address. */
  tcp: { host: string; port: number } | null;
}

/** How a connection ended. `code` is the WebSocket close code (absent for TCP). */
export interface CloseInfo {
  code: number | null;
  reason: string;
}

/** Callbacks a transport calls for one connection. Never called after `Connection.close()`. */
export interface ConnectionHandlers {
  /** One packet's JSON text. */
  onText(text: string): void;
  /** The connection ended (by the peer or the network). */
  onClose(info: CloseInfo): void;
}

/** One open connection to a gateway. */
export interface Connection {
  /** Write one packet's JSON text. False when the connection is no longer writable. */
  send(text: string): boolean;
  /** Close; no handler is called afterwards. Idempotent. */
  close(): void;
}

/**
 * Opens connections to gateways: one per attempt, never reused. The same tiny interface for
 * WebSocket (browser or `ws`) and TCP, as the gateway's own transports.
 */
export interface Transport {
  readonly kind: 'ws' | 'tcp';
  /**
   * Open a connection to `target`. Resolves once it is open; rejects with a `ClientError`
   * (`CONNECT_FAILED` or `TIMEOUT`, retryable) when it cannot be opened within `timeoutMs`.
   */
  connect(target: ServerTarget, handlers: ConnectionHandlers, timeoutMs: number): Promise<Connection>;
}

/** The subset of the WHATWG WebSocket the SDK uses (browsers, Node 22+, and the `ws` package). */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

const OPEN = 1;

/**
 * WebSocket transport over a WHATWG-style WebSocket class: the browser's own by default, or any
 * compatible constructor (the Node entry passes the `ws` package's). One text frame per packet.
 */
export function webSocketTransport(ctor?: WebSocketConstructor): Transport {
  return {
    kind: 'ws',
    connect(target, handlers, timeoutMs) {
      const WS = ctor ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
      if (!WS) {
        return Promise.reject(
          new ClientError(ClientErrorCode.INVALID_ARGUMENT, 'no global WebSocket here: in Node use @switchboard/client/node'),
        );
      }
      if (!target.ws) return Promise.reject(new ClientError(ClientErrorCode.CONNECT_FAILED, 'the server offers no WebSocket URL', { retryable: true }));
      const url = target.ws;
      return new Promise<Connection>((resolve, reject) => {
        let ws: WebSocketLike;
        try {
          ws = new WS(url);
        } catch (err) {
          reject(new ClientError(ClientErrorCode.CONNECT_FAILED, `cannot open ${url}`, { cause: err, retryable: true }));
          return;
        }
        let state: 'opening' | 'open' | 'done' = 'opening';
        const timer = setTimeout(() => {
          if (state !== 'opening') return;
          state = 'done';
          detach();
          reject(new ClientError(ClientErrorCode.TIMEOUT, `${url} did not open within ${timeoutMs} ms`, { retryable: true }));
        }, timeoutMs);
        const detach = (): void => {
          ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
          try {
            ws.close();
          } catch {
            // closing a socket that never opened may throw in some implementations; it is gone either way
          }
        };
        ws.onerror = () => {
          // A close event always follows; the reason is reported there.
        };
        ws.onclose = (ev) => {
          clearTimeout(timer);
          if (state === 'opening') {
            state = 'done';
            reject(new ClientError(ClientErrorCode.CONNECT_FAILED, `cannot connect to ${url} (close ${ev.code})`, { retryable: true }));
            return;
          }
          if (state !== 'open') return;
          state = 'done';
          handlers.onClose({ code: typeof ev.code === 'number' ? ev.code : null, reason: String(ev.reason ?? '') });
        };
        ws.onmessage = (ev) => {
          if (state === 'open' && typeof ev.data === 'string') handlers.onText(ev.data);
        };
        ws.onopen = () => {
          if (state !== 'opening') return;
          clearTimeout(timer);
          state = 'open';
          resolve({
            send(text) {
              if (state !== 'open' || ws.readyState !== OPEN) return false;
              ws.send(text);
              return true;
            },
            close() {
              if (state === 'done') return;
              state = 'done';
              detach();
            },
          });
        };
      });
    },
  };
}
