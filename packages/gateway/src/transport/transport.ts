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
  /**
   * Null when a data packet written now would go out; otherwise a promise that settles once that
   * may have changed (or the connection closed). Only UDP ever holds back: an address that has not
   * yet acked a QoS packet gets one datagram beyond its amplification budget, then waits.
   */
  whenWritable?(): Promise<void> | null;
  /** Once, when the address proved that it receives (acked a QoS packet sent to it). Only UDP has it. */
  onVerified?(fn: () => void): void;
}

const NOOP = (): void => {};

/**
 * The callback slots and close bookkeeping every transport has. The defaults are one shared no-op
 * and the close list is made on demand: tens of thousands of idle connections each pay for what
 * they hold, so nothing per connection that is not needed.
 */
export abstract class TransportHandlers {
  protected packetFn: (text: string) => void = NOOP;
  protected violationFn: (reason: string) => void = NOOP;
  private closeFns: Array<() => void> | null = null;
  /** True once the connection is gone; `onClose` then runs its handler at once. */
  protected gone = false;

  onPacket(fn: (text: string) => void): void {
    this.packetFn = fn;
  }

  onViolation(fn: (reason: string) => void): void {
    this.violationFn = fn;
  }

  onClose(fn: () => void): void {
    if (this.gone) fn();
    else (this.closeFns ??= []).push(fn);
  }

  /** The connection is gone: run each close handler once (`onError` catches a throwing one). */
  protected runCloseHandlers(onError?: (err: unknown) => void): void {
    this.gone = true;
    const fns = this.closeFns;
    this.closeFns = null;
    if (fns === null) return;
    for (const fn of fns) {
      if (onError === undefined) fn();
      else {
        try {
          fn();
        } catch (err) {
          onError(err);
        }
      }
    }
  }
}
