/** Transport kinds a gateway serves. */
export type TransportKind = 'ws' | 'tcp' | 'udp';

/**
 * One client connection, as the session layer sees it: text packets in, text packets out.
 * Identical for WebSocket and TCP; framing is the transport's business.
 */
export interface Transport {
  readonly kind: TransportKind;
  /** Remote address, for logs. */
  readonly remote: string;
  /** Write one packet (wire JSON). False when the connection is already closed. */
  send(text: string): boolean;
  /** Bytes written but not yet flushed to the kernel: the slow-consumer measure. */
  bufferedBytes(): number;
  /** Close the connection after flushing what was written. `code` is used by WebSocket. */
  close(code: number, reason: string): void;
  /** Every complete inbound packet text. Called synchronously from the socket's data event. */
  onPacket(fn: (text: string) => void): void;
  /** Unrecoverable protocol violation (bad framing, binary frame…): the transport closes itself. */
  onViolation(fn: (reason: string) => void): void;
  /** Once, when the connection is gone for any reason. */
  onClose(fn: () => void): void;
}
