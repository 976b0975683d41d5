import { ChurnMap, delay, type Logger, type NodeId, type UserId } from '@switchboard/core';
import type { OfflineMessage, OfflineStore } from '@switchboard/cluster';
import * as D from '../defaults.js';
import type { Session } from '../sessions/session.js';
import type { SessionHub } from '../sessions/session-hub.js';
import type { InboundLedger, InboundRecord } from './inbound.js';
import type { LocalDelivery } from './local-delivery.js';

/** Why a queue is delivered: a login (everything queued), or a redelivery after an outage (only what is not already on its way). */
export type DeliveryReason = 'login' | 'redelivery';

/** One session's delivery of its queue under way. */
interface Run {
  /** Fps written (or passed over) in this run and not known to have left the queue: never written twice by one run. */
  readonly seen: Set<string>;
  /** Fps this run wrote whose ack has not come, with the record their ack takes. */
  readonly inflight: ChurnMap<string, InboundRecord>;
  /** Skip messages already pending on the connection (a redelivery); a login delivers everything. */
  redelivery: boolean;
  /** Asked to deliver again meanwhile: read the queue once more before ending. */
  again: boolean;
  wake: (() => void) | null;
  done: Promise<void>;
}

/** How long a page's wait sleeps before it looks at the ledger again (an ack that did not go through custody). */
const SETTLE_POLL_MS = 1_000;

/**
 * Writes a logged-in user's offline queue to its session (architecture §5), all of it, oldest first:
 * a page of `page` messages (`udpPage` on UDP), paced to the connection's buffer (and to a UDP address's proof that
 * it receives), then the next page once the receiver acked the previous one, until a read finds
 * nothing new. A page whose acks stop coming for `stallMs` is left (its unacked messages stay
 * queued for the next login or redelivery) and the next page follows. Nothing is removed on write:
 * an ack removes its message. Live messages are not held back meanwhile: they are written as they
 * come, so a new message may arrive before older queued ones (docs/operations.md).
 */
export class OfflineDelivery {
  private readonly runs = new Map<Session, Run>();
  private readonly watched = new WeakSet<Session>();

  constructor(
    private readonly nodeId: NodeId,
    private readonly log: Logger,
    private readonly hub: SessionHub,
    private readonly local: LocalDelivery,
    private readonly offline: OfflineStore,
    private readonly inbound: InboundLedger,
    private readonly opts: { page: number; udpPage: number; stuckLimit: number; stallMs: number } = {
      page: D.DEFAULT_OFFLINE_PAGE,
      udpPage: D.DEFAULT_OFFLINE_UDP_PAGE,
      stuckLimit: D.DEFAULT_OFFLINE_STUCK_LIMIT,
      stallMs: D.DEFAULT_OFFLINE_ACK_STALL_MS,
    },
  ) {}

  /**
   * Deliver the queue of `s`; resolves once its last page was written (every earlier page acked or left).
   * While a run for `s` is under way, asking again makes that run read the queue once more.
   */
  deliver(s: Session, reason: DeliveryReason = 'login'): Promise<void> {
    const r = this.runs.get(s);
    if (r) {
      r.again = true;
      if (reason === 'login') r.redelivery = false;
      r.wake?.();
      return r.done;
    }
    // A UDP address that proves it receives gets what was held back from it meanwhile.
    if (!this.watched.has(s)) {
      this.watched.add(s);
      s.transport.onVerified?.(() => void this.deliver(s, 'login'));
    }
    const run: Run = { seen: new Set(), inflight: new ChurnMap(), redelivery: reason === 'redelivery', again: false, wake: null, done: Promise.resolve() };
    this.runs.set(s, run);
    run.done = this.run(s, run)
      .catch((err: unknown) => s.log.warn({ err }, 'offline delivery failed; the rest waits for a later login'))
      .finally(() => this.runs.delete(s));
    return run.done;
  }

  /** Deliver every connected user's queue again (after an outage sent their messages there); only what is not already on its way. */
  redeliverAll(reason: string): void {
    this.log.info({ users: this.hub.userCount, reason }, 'delivering offline queues of connected users');
    this.inbound.rememberAcks(D.DEFAULT_INBOUND_MEMORY_MS);
    for (const s of this.hub.users()) void this.deliver(s, 'redelivery');
  }

  /** An acked message left `receiver`'s queue: the run that wrote it may read its next page. */
  removed(receiver: UserId, fp: string): void {
    const s = this.hub.user(receiver);
    const r = s ? this.runs.get(s) : undefined;
    if (!r) return;
    r.seen.delete(fp);
    if (r.inflight.delete(fp) && r.inflight.size === 0) r.wake?.();
  }

  private gone(s: Session): boolean {
    return s.state === 'closed' || s.userId === null || this.hub.user(s.userId) !== s;
  }

  private async run(s: Session, r: Run): Promise<void> {
    const uid = s.userId!;
    const size = s.transport.kind === 'udp' ? this.opts.udpPage : this.opts.page;
    let total = 0;
    for (;;) {
      if (this.gone(s)) return;
      if (r.seen.size >= this.opts.stuckLimit) {
        s.log.info({ stuck: r.seen.size }, 'offline delivery stopped: too many queued messages this connection cannot take or does not ack');
        return;
      }
      r.again = false;
      let page: OfflineMessage[];
      try {
        page = await this.offline.peek(uid, r.seen.size + size);
      } catch (err) {
        s.log.warn({ err }, 'offline queue unavailable; it will be delivered at a later login');
        return;
      }
      const fresh = page.filter((m) => !r.seen.has(m.fp)).slice(0, size);
      for (const m of fresh) {
        if (!(await this.writeOne(s, r, m))) return;
        total++;
      }
      // A short page was the end of the queue: done, without waiting for its acks (a message
      // stored from now on is nudged to the session by custody).
      if (fresh.length < size && !r.again) break;
      await this.settle(s, r);
    }
    if (total > 0 && s.debugEnabled) s.log.debug({ count: total }, 'delivered offline queue');
  }

  /** Write one queued message (or pass over it); false when the session is gone. */
  private async writeOne(s: Session, r: Run, m: OfflineMessage): Promise<boolean> {
    r.seen.add(m.fp);
    // Kept for a later login on a transport that carries it (WebSocket).
    if (!this.hub.fits(s, m.packet)) return true;
    if (!(await this.room(s, r, Buffer.byteLength(m.packet)))) return false;
    // A redelivery leaves what is already on its way to this connection, or was acked from it lately
    // (a sender's gateway nudged it meanwhile; its removal from the queue may still be under way).
    if (r.redelivery && (this.local.pendingOn(s, m.fp) || this.inbound.ackedOn(s.userId!, m.fp, s.connId))) return true;
    const record: InboundRecord = { origin: this.nodeId, sender: null, viaOffline: true, ...(r.redelivery ? { redelivered: true } : {}) };
    const result = this.local.write(s, m.packet, { fp: m.fp, record });
    if (result === 'closed') return false;
    if (result === 'written') r.inflight.set(m.fp, record);
    return true;
  }

  /**
   * Pace the queue to the connection: written all at once, a long queue of big messages would
   * overflow the slow-consumer bound and never be delivered. Keep half of the bound free for live
   * traffic (a message is always written into an empty buffer), and wait while a UDP address has
   * not proved that it receives (transport `whenWritable`). Pace it to the receiver's rate limit
   * too: its acks spend its control tokens, and an ack refused by the limit would leave its message
   * queued, to be delivered again.
   */
  private async room(s: Session, r: Run, bytes: number): Promise<boolean> {
    const reserve = Math.max(10, s.controlBucket.capacity / 10);
    for (;;) {
      if (this.gone(s)) return false;
      const held = s.transport.whenWritable?.();
      if (held) {
        await held;
        continue;
      }
      if (this.hub.hasRoomForBacklog(s, bytes) && s.controlBucket.available() >= r.inflight.size + 1 + reserve) return true;
      await delay(D.OFFLINE_PACING_STEP_MS);
    }
  }

  /** Wait until every message of the page was acked (or its record left the ledger), or the acks stalled. */
  private async settle(s: Session, r: Run): Promise<void> {
    const uid = s.userId!;
    let size = r.inflight.size;
    let progressAt = Date.now();
    while (r.inflight.size > 0 && !this.gone(s)) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, SETTLE_POLL_MS);
        r.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      r.wake = null;
      // Acked through another path (relayed, or a second copy), expired or overwritten: not ours to wait for.
      for (const [fp, rec] of r.inflight) if (this.inbound.pending(uid, fp)?.rec !== rec) r.inflight.delete(fp);
      if (r.inflight.size < size) {
        size = r.inflight.size;
        progressAt = Date.now();
      } else if (Date.now() - progressAt >= this.opts.stallMs) {
        if (s.debugEnabled) s.log.debug({ unacked: size }, 'offline page not acked; going on with the next');
        r.inflight.clear();
      }
    }
  }
}
