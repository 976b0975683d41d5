import type { ClientEvent, QosOptions, SendResult } from './client-types.js';
import { ClientError, ClientErrorCode, LossReason, MessageLostError } from './errors.js';

/** Longest delay a timer takes (2^31 − 1 ms, about 24.8 days); a longer `timeoutMs` is none. */
const MAX_TIMER_MS = 2_147_483_647;

/** One QoS message sent and not yet acked or lost. */
interface Pending {
  fp: string;
  to: string;
  content: string;
  typeu: number;
  text: string;
  firstSentAt: number;
  /** Last real transmission, null while it waits for a connection. */
  lastSentAt: number | null;
  /** Resends counted by the QoS tick (MobileIMSDK counts them whether or not the write worked). */
  retries: number;
  /** Resent since the last reconnect: the loss verdict waits `resendGraceMs` after that. */
  resentAfterReconnect: boolean;
  /** Receipts are SDK-internal: no acked/lost events for them. */
  internal: boolean;
  /** The send's own deadline (`timeoutMs`), when it has one. */
  deadline: ReturnType<typeof setTimeout> | null;
  resolve: (r: SendResult) => void;
  reject: (err: MessageLostError) => void;
}

/** How the outbox reaches the server: whether the client is online with a connection, and a write. */
export interface OutboxLink {
  /** Logged in and holding a connection. */
  online(): boolean;
  /** Write one encoded packet; false when the connection did not take it. */
  send(text: string): boolean;
}

/**
 * The sender side of MobileIMSDK QoS (§6.1): every QoS message waits here until its ack, is resent
 * by `tick()` and after a re-login, and is reported lost after the retries (or when the server
 * refuses it, or the client ends).
 */
export class Outbox {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly qos: Required<QosOptions>,
    private readonly link: OutboxLink,
    private readonly emit: (e: ClientEvent) => void,
  ) {}

  /** Messages waiting for an ack (delivery receipts included). */
  get size(): number {
    return this.pending.size;
  }

  /** Fingerprints of the application's pending messages, oldest first. */
  fingerprints(): string[] {
    return [...this.pending.values()].filter((p) => !p.internal).map((p) => p.fp);
  }

  has(fp: string): boolean {
    return this.pending.has(fp);
  }

  /**
   * Queue an encoded QoS message and write it now when online; resolves on its ack, rejects when lost:
   * after the retries, or when `timeoutMs` (a positive number; `Infinity` or undefined: none) passes
   * without its ack, whichever comes first.
   */
  add(fp: string, to: string, content: string, typeu: number, text: string, internal: boolean, timeoutMs?: number): Promise<SendResult> {
    return new Promise<SendResult>((resolve, reject) => {
      if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && timeoutMs > 0)) {
        throw new ClientError(ClientErrorCode.INVALID_ARGUMENT, 'timeoutMs must be a positive number of milliseconds (Infinity: none)');
      }
      const now = Date.now();
      const m: Pending = { fp, to, content, typeu, text, firstSentAt: now, lastSentAt: null, retries: 0, resentAfterReconnect: false, internal, deadline: null, resolve, reject };
      this.pending.set(fp, m);
      if (timeoutMs !== undefined && timeoutMs <= MAX_TIMER_MS) {
        m.deadline = setTimeout(() => this.lose(m, LossReason.TIMEOUT, undefined, `no ack within ${timeoutMs} ms`), timeoutMs);
      }
      if (this.link.online() && this.link.send(text)) m.lastSentAt = now;
      else m.resentAfterReconnect = true; // waits for the next login, which sends it
    });
  }

  /** MobileIMSDK's QoS send daemon (§6.1), plus a grace period for messages resent after a reconnect. */
  tick(): void {
    const now = Date.now();
    for (const m of [...this.pending.values()]) {
      if (now - m.firstSentAt <= this.qos.justSentMs) continue;
      if (m.retries >= this.qos.maxRetries) {
        // Sent again after a reconnect: give the new gateway time to deliver or store it.
        if (m.resentAfterReconnect && m.lastSentAt !== null && now - m.lastSentAt <= this.qos.resendGraceMs) continue;
        this.lose(m, LossReason.TIMEOUT);
        continue;
      }
      if (this.link.online() && this.link.send(m.text)) m.lastSentAt = now;
      m.retries++;
    }
  }

  /**
   * After a login: write every message that waited for a connection, and after a re-login every
   * unacked one, with its fingerprint (architecture §5).
   */
  resendAfterLogin(relogin: boolean): void {
    const now = Date.now();
    for (const m of this.pending.values()) {
      if (!this.link.online()) break;
      if (m.lastSentAt === null || relogin) {
        if (this.link.send(m.text)) {
          m.lastSentAt = now;
          m.resentAfterReconnect = true;
        }
      }
    }
  }

  /**
   * The ack (with the history `seq` it carries, if any) or a receipt of `fp` arrived. A late or
   * repeated one is ignored.
   */
  acked(fp: string, seq: number | null = null): void {
    const m = this.pending.get(fp);
    if (!m) return; // a late or repeated ack
    this.pending.delete(fp);
    if (m.deadline) clearTimeout(m.deadline);
    m.resolve({ fp, acked: true, seq });
    if (!m.internal) this.emit({ type: 'acked', fp, to: m.to, seq });
  }

  /** The server refused `fp` for good (its error packet named it). */
  refused(fp: string, serverCode: number): void {
    const m = this.pending.get(fp);
    if (m) this.lose(m, LossReason.REJECTED, serverCode);
  }

  /** The client ended: every pending message is lost for `reason`. */
  loseAll(reason: LossReason): void {
    for (const m of [...this.pending.values()]) this.lose(m, reason);
  }

  private lose(m: Pending, reason: LossReason, serverCode?: number, detail?: string): void {
    if (this.pending.get(m.fp) !== m) return;
    this.pending.delete(m.fp);
    if (m.deadline) clearTimeout(m.deadline);
    const err = new MessageLostError(m.fp, m.to, reason, { ...(serverCode === undefined ? {} : { serverCode }), ...(detail === undefined ? {} : { detail }) });
    m.reject(err);
    if (!m.internal) this.emit({ type: 'lost', fp: m.fp, to: m.to, content: m.content, typeu: m.typeu, reason, error: err });
  }
}
