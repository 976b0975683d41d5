import { ErrorCode, ackPacket, type Packet } from '@switchboard/protocol';
import { ChurnMap, ChurnSet, LogThrottle, UnroutableError, type ConnId, type Logger, type NodeId, type UserId } from '@switchboard/core';
import type { Bridge, OfflineStore, Route, StoreOutcome } from '@switchboard/cluster';
import type { GatewayMetrics } from '../metrics.js';
import type { Session } from '../sessions/session.js';
import type { SessionHub } from '../sessions/session-hub.js';
import { DeadlineQueue } from './deadline-queue.js';
import { Nudges } from './nudges.js';
import { TtlMap } from './ttl-map.js';
import type { LocalDelivery } from './local-delivery.js';
import type { Outcomes } from './outcomes.js';
import type { RouteResolver } from './route-resolver.js';
import { withSeq } from './seq.js';
import type { Admission, OfflineAdmission } from './offline-admission.js';
import type { ReceiverCheck } from './receiver-check.js';

/** A QoS message in this gateway's custody, from its sender's arrival until ack or offline storage. */
export interface Custody {
  key: string;
  fp: string;
  sender: UserId;
  senderConn: ConnId | null;
  receiver: UserId;
  packet: Packet;
  wire: string;
  receivedAt: number;
  attempt: number;
  state: 'delivering' | 'storing' | 'done';
  ackedWhileStoring: boolean;
  kind: 'c2c' | 's2c';
  /** Receiver connections this custody already wrote the message to (the nudge skips them); rarely more than one. */
  triedConns: ConnId[];
  /** The last relay went by a cached route: a `miss` from its node makes custody look again at once. */
  routeCached: boolean;
}

/** What a new custody is about; `take` adds the delivery state. */
export type CustodyClaim = Pick<Custody, 'fp' | 'sender' | 'senderConn' | 'receiver' | 'packet' | 'wire' | 'kind'>;

/** A receiver's ack of one message: who acked which sender's fp. */
export interface ReceiverAck {
  sender: UserId;
  receiver: UserId;
  fp: string;
}

export interface CustodyDeps {
  nodeId: NodeId;
  log: Logger;
  metrics: GatewayMetrics;
  hub: SessionHub;
  local: LocalDelivery;
  resolver: RouteResolver;
  bridge: Bridge;
  offline: OfflineStore;
  outcomes: Outcomes;
  /** The offline budgets (per sender, total), asked before each offline store. */
  admission: OfflineAdmission;
  /** The application's receiver check; null when none is configured. */
  receivers: ReceiverCheck | null;
  resendMs: number;
  giveUpMs: number;
  c2cDedupeMs: number;
}

const custodyKey = (sender: string, fp: string) => sender + '\n' + fp;

/** The error code a sender gets for each refusal (errorMsg: the message's fp). */
const REFUSAL_CODES = {
  sender_budget: ErrorCode.OFFLINE_BUDGET_EXCEEDED,
  storage_full: ErrorCode.OFFLINE_STORAGE_FULL,
  unknown_receiver: ErrorCode.UNKNOWN_RECEIVER,
} as const;

/**
 * QoS custody (architecture §5): a message is held from its arrival until the receiver acks it
 * (the sender is acked then) or it is stored offline (the sender is acked once the store is
 * durable). Delivery writes locally or relays over the bridge; one resend after `resendMs`, then
 * offline storage at `giveUpMs`. Deadlines live in two FIFO queues with one timer each.
 */
export class CustodyDesk {
  private readonly held = new ChurnMap<string, Custody>();
  private readonly resendDue: DeadlineQueue<Custody>;
  private readonly giveUpDue: DeadlineQueue<Custody>;
  /** (sender, fp) → history seq (0 without history) of messages delivered or stored lately: a resend is acked at once. */
  private readonly done: TtlMap<number>;
  private readonly nudges: Nudges;
  /** Keys of messages whose receiver is being checked: custody has not started, but a resend must not start it twice. */
  private readonly checking = new ChurnSet<string>();
  private readonly quiet = { lookup: new LogThrottle(), bridgeSend: new LogThrottle(), offlineStore: new LogThrottle(), remove: new LogThrottle() };
  /** Told when an acked message left its receiver's offline queue (the offline delivery pages on). */
  onOfflineRemoved: (receiver: UserId, fp: string) => void = () => {};

  constructor(private readonly d: CustodyDeps) {
    this.done = new TtlMap(d.c2cDedupeMs);
    this.nudges = new Nudges(d, (target, c) => this.forward(target, c));
    this.resendDue = new DeadlineQueue(d.resendMs, (c) => {
      if (c.state === 'delivering') void this.attempt(c);
    });
    this.giveUpDue = new DeadlineQueue(Math.max(0, d.giveUpMs - d.resendMs), (c) => {
      if (c.state === 'delivering') void this.toOffline(c);
    });
  }

  get size(): number {
    return this.held.size;
  }

  /** Whether the message is in custody now (a resend meanwhile needs nothing: the ack will come). */
  holds(sender: UserId, fp: string): boolean {
    const key = custodyKey(sender, fp);
    return this.held.has(key) || this.checking.has(key);
  }

  /**
   * The history seq (0 without history) of a message delivered or stored lately, whose resend gets
   * the ack it missed; undefined when it was not.
   */
  settled(sender: UserId, fp: string): number | undefined {
    return this.done.get(custodyKey(sender, fp));
  }

  /**
   * Hold the message until the receiver's ack (or the offline store) settles it; start delivering it.
   * With a receiver check, a receiver not connected here is checked first: one the application says
   * does not exist is refused (error 1036 to the sender, no ack) and custody never starts.
   */
  take(claim: CustodyClaim): void {
    const receivers = this.d.receivers;
    if (receivers === null || this.d.hub.user(claim.receiver)) return this.hold(claim);
    const known = receivers.exists(claim.receiver);
    if (known === true) return this.hold(claim);
    if (known === false) return this.refuse(claim, 'unknown_receiver');
    const key = custodyKey(claim.sender, claim.fp);
    this.checking.add(key);
    void known.then((exists) => {
      this.checking.delete(key);
      if (exists) this.hold(claim);
      else this.refuse(claim, 'unknown_receiver');
    });
  }

  /**
   * Whether the receiver check (if any) lets `receiver` through: true without a check or for a user
   * connected here. Asked before history is written, so a message to a user the application says
   * does not exist never reaches history; `take` then answers from the check's cache.
   */
  receiverKnown(receiver: UserId): boolean | Promise<boolean> {
    if (this.d.receivers === null || this.d.hub.user(receiver)) return true;
    return this.d.receivers.exists(receiver);
  }

  private hold(claim: CustodyClaim): void {
    // Built field by field in one order (not spread from the claim, whose key order depends on its
    // caller): every custody object then has the same shape, which keeps the hot paths monomorphic.
    const c: Custody = { key: custodyKey(claim.sender, claim.fp), fp: claim.fp, sender: claim.sender, senderConn: claim.senderConn, receiver: claim.receiver,
      packet: claim.packet, wire: claim.wire, receivedAt: Date.now(), attempt: 0, state: 'delivering', ackedWhileStoring: false, kind: claim.kind, triedConns: [], routeCached: false }; // prettier-ignore
    this.held.set(c.key, c);
    this.d.metrics.custodyPending.set(this.held.size);
    void this.attempt(c);
  }

  /** Write to a local receiver, or look up its node and relay. Synchronous on the local path (the hot one). */
  private attempt(c: Custody): void | Promise<void> {
    c.attempt++;
    return this.deliver(c);
  }

  private deliver(c: Custody): void | Promise<void> {
    const s = this.d.hub.user(c.receiver);
    if (!s) return this.relay(c);
    const result = this.d.local.write(s, c.wire, { fp: c.fp, record: { origin: this.d.nodeId, sender: c.sender, viaOffline: false } });
    if (result === 'too_large') return this.tooLarge(c);
    if (c.kind === 'c2c') this.d.metrics.messages.inc('c2c_local');
    if (result === 'closed') return this.toOffline(c);
    if (!c.triedConns.includes(s.connId)) c.triedConns.push(s.connId);
    s.pendingIn.add(c.key);
    return this.armTimer(c);
  }

  private async relay(c: Custody): Promise<void> {
    let target: NodeId | null = null;
    let targetConn: ConnId | null = null;
    try {
      // The first attempt may use a cached route; a resend asks the route store (the cached one may be why it was not acked).
      if (c.attempt > 1) this.d.resolver.forget(c.receiver);
      const found = this.d.resolver.cachedRemote(c.receiver);
      c.routeCached = !(found instanceof Promise);
      const r = c.routeCached ? (found as Route) : await found;
      if (r) ({ nodeId: target, connId: targetConn } = r);
    } catch (err) {
      const skipped = this.quiet.lookup.take();
      if (skipped >= 0) this.d.log.warn({ err, skipped }, 'route lookup failed; storing offline');
    }
    if (c.state !== 'delivering') return;
    if (target === null) return this.toOffline(c);
    if (c.kind === 'c2c') this.d.metrics.messages.inc('c2c_remote');
    const t0 = performance.now();
    try {
      await this.forward(target, c);
      this.d.metrics.bridgePublish.observe((performance.now() - t0) / 1000);
      if (targetConn !== null && !c.triedConns.includes(targetConn)) c.triedConns.push(targetConn);
    } catch (err) {
      if (!(err instanceof UnroutableError)) {
        const skipped = this.quiet.bridgeSend.take();
        if (skipped >= 0) this.d.log.warn({ err, node: target, skipped }, 'bridge send failed; storing offline');
      }
      if (c.state === 'delivering') return this.toOffline(c);
      return;
    }
    if (c.state === 'delivering') this.armTimer(c);
  }

  private forward(target: NodeId, c: Custody): Promise<void> {
    return this.d.bridge.send(target, { type: 'deliver', origin: this.d.nodeId, from: c.sender, to: c.receiver, fp: c.fp, packet: c.wire });
  }

  /** After the first attempt wait for the resend; after the second, for the move offline. */
  private armTimer(c: Custody): void {
    this.clearTimer(c);
    if (c.attempt === 1) this.resendDue.add(c);
    else this.giveUpDue.add(c);
  }

  private clearTimer(c: Custody): void {
    this.resendDue.delete(c);
    this.giveUpDue.delete(c);
  }

  /** The receiver's connection cannot carry the message: end custody, tell the sender (error 1031, no ack). */
  private tooLarge(c: Custody): void {
    this.finish(c);
    this.d.outcomes.lost(c, 'too_large');
    const s = this.senderSession(c);
    if (s) this.d.hub.sendError(s, ErrorCode.MESSAGE_TOO_LARGE, c.fp);
  }

  /** The receiver acked: end custody and tell the sender (architecture §5 step 3). */
  onReceiverAck(ack: ReceiverAck): void {
    const c = this.held.get(custodyKey(ack.sender, ack.fp));
    if (!c || c.receiver !== ack.receiver) {
      // A late ack: the message may already sit in the receiver's offline queue.
      this.removeOffline(ack.receiver, ack.fp);
      return;
    }
    if (c.state === 'storing') {
      c.ackedWhileStoring = true;
      return;
    }
    if (c.state === 'done') return;
    const latencyMs = Date.now() - c.receivedAt;
    this.finish(c);
    this.ackSender(c);
    this.d.outcomes.delivered(c, latencyMs);
  }

  /**
   * The node a cached route pointed at has no session of the receiver (it moved or left): forget
   * the route and, if this custody's last relay used it, deliver again now with a fresh lookup
   * (not counted as the resend). Any other miss (an old or repeated one) only forgets the route.
   */
  onMiss(miss: ReceiverAck): void {
    this.d.resolver.forget(miss.receiver);
    const c = this.held.get(custodyKey(miss.sender, miss.fp));
    if (!c || c.receiver !== miss.receiver || c.state !== 'delivering' || !c.routeCached) return;
    c.routeCached = false;
    void this.deliver(c);
  }

  /** Remove an acked message from the receiver's offline queue; a failure is logged (throttled). */
  removeOffline(receiver: UserId, fp: string): void {
    this.d.offline.remove(receiver, fp).then(
      () => this.onOfflineRemoved(receiver, fp),
      (err: unknown) => {
        const skipped = this.quiet.remove.take();
        if (skipped >= 0) this.d.log.warn({ err, skipped }, 'offline remove failed; the message may be delivered again (the client dedupes by fp)');
      },
    );
  }

  private finish(c: Custody): void {
    c.state = 'done';
    this.clearTimer(c);
    this.held.delete(c.key);
    this.d.hub.user(c.receiver)?.pendingIn.delete(c.key);
    this.d.metrics.custodyPending.set(this.held.size);
  }

  private ackSender(c: Custody): void {
    if (c.kind === 's2c') return;
    const seq = c.packet.seq ?? 0;
    this.done.set(c.key, seq);
    const byConn = c.senderConn ? this.d.hub.conn(c.senderConn) : undefined;
    const s = byConn && byConn.userId === c.sender && byConn.state !== 'closed' ? byConn : this.d.hub.user(c.sender);
    if (s) this.d.hub.send(s, withSeq(ackPacket(c.receiver, c.sender, c.fp), seq, c.packet.sentAt));
  }

  /** Neither delivered nor stored for a reason the sender must hear: the error packet names the fp; no ack. */
  /** A message the receiver check refused before its history write: error 1036 to its sender, no ack, no custody. */
  refuseUnknownReceiver(c: CustodyClaim): void {
    this.refuse(c, 'unknown_receiver');
  }

  private refuse(c: CustodyClaim, reason: Exclude<Admission, 'ok'> | 'unknown_receiver'): void {
    this.d.outcomes.lost(c, reason);
    const s = this.senderSession(c);
    if (s) this.d.hub.sendError(s, REFUSAL_CODES[reason], c.fp);
  }

  private senderSession(c: Pick<Custody, 'senderConn'>): Session | undefined {
    const s = c.senderConn ? this.d.hub.conn(c.senderConn) : undefined;
    return s && s.state !== 'closed' ? s : undefined;
  }

  /**
   * Architecture §5 step 5: store for the receiver, then ack the sender once the store is durable.
   * The offline budgets come first: over either, the sender gets its error and no ack.
   */
  private async toOffline(c: Custody): Promise<void> {
    if (c.state !== 'delivering') return;
    c.state = 'storing';
    this.clearTimer(c);
    let outcome: StoreOutcome | Admission | 'error';
    try {
      outcome = await this.d.admission.admit(c);
      if (outcome === 'ok') {
        outcome = await this.d.offline.store(c.receiver, { fp: c.fp, packet: c.wire });
        if (outcome !== 'stored') this.d.admission.refund(c);
      }
    } catch (err) {
      const skipped = this.quiet.offlineStore.take();
      if (skipped >= 0) this.d.log.warn({ err, skipped }, 'offline store unavailable; the sender will resend');
      outcome = 'error';
    }
    if (c.ackedWhileStoring && outcome !== 'stored' && outcome !== 'duplicate') {
      // Not stored, but the receiver acked meanwhile: it has the message.
      this.finish(c);
      this.ackSender(c);
      return this.d.outcomes.delivered(c, Date.now() - c.receivedAt);
    }
    if (outcome === 'sender_budget' || outcome === 'storage_full') {
      this.finish(c);
      return this.refuse(c, outcome);
    }
    if (outcome === 'stored' || outcome === 'duplicate') {
      this.d.outcomes.storedOffline(c);
      this.finish(c);
      this.ackSender(c);
      if (c.ackedWhileStoring) this.removeOffline(c.receiver, c.fp);
      else void this.nudges.nudge(c);
      return;
    }
    this.finish(c);
    this.d.outcomes.lost(c, outcome);
    if (outcome === 'full') {
      const s = c.senderConn ? this.d.hub.conn(c.senderConn) : undefined;
      if (s) this.d.hub.sendError(s, ErrorCode.OFFLINE_QUEUE_FULL, c.fp);
    }
  }

  /** The bridge is back: nudge what could not cross it meanwhile. */
  nudgeHeldBack(): void {
    this.nudges.again();
  }

  /** Messages written to `s` and not acked fall to offline storage. */
  release(s: Session): void {
    for (const k of s.pendingIn) {
      const c = this.held.get(k);
      if (c && c.state === 'delivering') void this.toOffline(c);
    }
    s.pendingIn.clear();
  }

  /** Drain: everything still being delivered goes to offline storage now. */
  storeAllOffline(): void {
    for (const c of [...this.held.values()]) if (c.state === 'delivering') void this.toOffline(c);
  }

  /** Close: forget everything (the gateway is going away). */
  clear(): void {
    this.resendDue.clear();
    this.giveUpDue.clear();
    this.held.clear();
    this.d.metrics.custodyPending.set(0);
  }
}
