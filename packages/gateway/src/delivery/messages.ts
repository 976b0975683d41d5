import { ErrorCode, SERVER_UID, ackPacket, encodePacket, isControlTypeu, serverPushPacket, type Packet } from '@switchboard/protocol';
import { LogThrottle, newFingerprint, UnroutableError, type Logger, type NodeId, type UserId } from '@switchboard/core';
import type { AppendResult, Bridge } from '@switchboard/cluster';
import type { GatewayMetrics } from '../metrics.js';
import type { Session } from '../sessions/session.js';
import type { SessionHub } from '../sessions/session-hub.js';
import type { CustodyDesk } from './custody.js';
import type { InboundLedger } from './inbound.js';
import type { LocalDelivery } from './local-delivery.js';
import type { Outcomes } from './outcomes.js';
import type { RouteResolver } from './route-resolver.js';
import { relayedPacket, whenAppended, type HistoryWriter } from './history-writer.js';
import { withSeq } from './seq.js';

/** Result of a server push (`push`). */
export interface PushResult {
  fp: string;
}

export interface MessageDeps {
  nodeId: NodeId;
  log: Logger;
  metrics: GatewayMetrics;
  hub: SessionHub;
  local: LocalDelivery;
  inbound: InboundLedger;
  resolver: RouteResolver;
  bridge: Bridge;
  custody: CustodyDesk;
  outcomes: Outcomes;
  /** Conversation history; null when IM_HISTORY is off. */
  history: HistoryWriter | null;
  /** A member acked a group message (per-connection custody and cursor on this node). */
  groupAcks: (member: UserId, fp: string, group: { gid: string; seq: number }) => void;
}

/**
 * Data and acks from logged-in clients, and server pushes: checks a C2C message, then hands a QoS
 * one to custody or sends a best-effort one; routes a receiver's ack to the custody it settles,
 * here or on the sender's node.
 */
export class Messages {
  private readonly quiet = { ackRelay: new LogThrottle(), bestEffort: new LogThrottle() };

  constructor(private readonly d: MessageDeps) {}

  /** A C2C data packet (to another user) from logged-in session `s`, already checked for `from`. */
  onData(s: Session, p: Packet): void {
    const uid = s.userId!;
    if (p.to === '' || p.to === '-1') {
      this.d.hub.sendError(s, ErrorCode.BAD_PACKET, 'data packet without a receiver');
      return;
    }
    if (p.QoS && (p.fp === null || p.fp === '')) {
      this.d.hub.sendError(s, ErrorCode.BAD_PACKET, 'QoS packet without fp');
      return;
    }
    const code = this.beforeRelay(s, p);
    if (code !== 0) {
      this.d.hub.sendError(s, code, p.fp ?? 'rejected');
      return;
    }
    const to = p.to as UserId;
    // SDK control messages (receipts…) are not conversation: no history, no seq.
    const history = isControlTypeu(p.typeu) ? null : this.d.history;
    if (!p.QoS) {
      if (history) this.recordBestEffort(uid, to, p, s);
      else void this.sendBestEffort(uid, to, encodePacket(relayedPacket(p, null)), s);
      return;
    }
    const fp = p.fp!;
    // A resend while we still hold it: the ack will come. (One that arrives while its history write is
    // under way writes again, idempotently, and finds it held or settled: takeAppended.)
    if (this.d.custody.holds(uid, fp)) return;
    const seq = this.d.custody.settled(uid, fp);
    if (seq !== undefined) {
      // Already delivered or stored: the sender missed our ack.
      this.d.hub.send(s, withSeq(ackPacket(p.to, uid, fp), seq));
      return;
    }
    if (history) {
      this.recordThenTake(s, uid, to, p, fp);
      return;
    }
    const packet = relayedPacket(p, null);
    this.d.custody.take({ fp, sender: uid, senderConn: s.connId, receiver: to, packet, wire: encodePacket(packet), kind: 'c2c' });
  }

  /**
   * History first (the message gets its seq), then custody; a failed write is not acked, so the sender
   * resends. All in this turn when the receiver check and the store answer at once (the standalone).
   */
  private recordThenTake(s: Session, uid: UserId, to: UserId, p: Packet, fp: string): void {
    const known = this.d.custody.receiverKnown(to);
    if (known === true) this.appendThenTake(s, uid, to, p, fp);
    else if (known === false) this.refuseUnknown(s, uid, to, p, fp);
    else void known.then((yes) => (yes ? this.appendThenTake(s, uid, to, p, fp) : this.refuseUnknown(s, uid, to, p, fp)));
  }

  private refuseUnknown(s: Session, uid: UserId, to: UserId, p: Packet, fp: string): void {
    this.d.custody.refuseUnknownReceiver({ fp, sender: uid, senderConn: s.connId, receiver: to, packet: p, wire: encodePacket(p), kind: 'c2c' });
  }

  private appendThenTake(s: Session, uid: UserId, to: UserId, p: Packet, fp: string): void {
    whenAppended(this.d.history!.append(uid, to, p, fp), (entry) => this.takeAppended(s, uid, to, p, fp, entry));
  }

  /** (A resend that arrived while the write was under way wrote again, idempotently, and finds it held or settled here.) */
  private takeAppended(s: Session, uid: UserId, to: UserId, p: Packet, fp: string, entry: AppendResult): void {
    if (this.d.custody.holds(uid, fp) || this.d.custody.settled(uid, fp) !== undefined) return;
    const packet = relayedPacket(p, entry);
    this.d.custody.take({ fp, sender: uid, senderConn: s.connId, receiver: to, packet, wire: encodePacket(packet), kind: 'c2c' });
  }

  /**
   * A message without QoS is written to history too (under a server-made fp when it has none), then sent
   * best effort; a failed write drops it, as for an offline receiver.
   */
  private recordBestEffort(uid: UserId, to: UserId, p: Packet, s: Session): void {
    whenAppended(this.d.history!.append(uid, to, p, p.fp || newFingerprint()), (entry) => void this.sendBestEffort(uid, to, encodePacket(relayedPacket(p, entry)), s));
  }

  /** The application's `beforeRelay` verdict: 0 lets the message through; a throwing hook rejects it. */
  private beforeRelay(s: Session, p: Packet): number {
    const hook = this.d.outcomes.hooks.beforeRelay;
    if (!hook) return 0;
    try {
      return hook(p);
    } catch (err) {
      s.log.warn({ err }, 'beforeRelay hook failed; rejecting');
      return ErrorCode.REJECTED;
    }
  }

  /** Non-QoS: delivered if the receiver is online, dropped otherwise. */
  private async sendBestEffort(from: UserId, to: UserId, wire: string, sender?: Session): Promise<void> {
    const s = this.d.hub.user(to);
    if (s) {
      const result = this.d.local.write(s, wire, null);
      if (result === 'too_large') {
        this.d.outcomes.lostBestEffort('too_large');
        if (sender) this.d.hub.sendError(sender, ErrorCode.MESSAGE_TOO_LARGE, 'message too large for the receiver');
      } else {
        this.d.metrics.messages.inc('c2c_local');
      }
      return;
    }
    try {
      const r = await this.d.resolver.cachedRemote(to);
      if (!r) return;
      this.d.metrics.messages.inc('c2c_remote');
      await this.d.bridge.send(r.nodeId, { type: 'deliver', origin: this.d.nodeId, from, to, fp: null, packet: wire });
    } catch (err) {
      // Best effort: the message is dropped, as it would be for an offline receiver.
      if (!(err instanceof UnroutableError)) {
        const skipped = this.quiet.bestEffort.take();
        if (skipped >= 0) this.d.log.warn({ err, skipped }, 'best-effort message not relayed');
      }
    }
  }

  /**
   * A server push (from "0") to a user anywhere in the cluster. With QoS it follows the custody
   * path (delivered and acked, or stored offline); without, it is best effort.
   */
  push(to: string, dataContent: string, opts: { typeu?: number; qos?: boolean; fp?: string; from?: string } = {}): PushResult {
    const qos = opts.qos ?? true;
    const fp = opts.fp ?? newFingerprint();
    const packet = serverPushPacket({ to, dataContent, fp, qos, ...(opts.typeu === undefined ? {} : { typeu: opts.typeu }) });
    // Sent on a user's behalf (the push API's `from`, admin token only): that user's message, in their conversation.
    if (opts.from !== undefined) packet.from = opts.from;
    this.d.metrics.messages.inc('s2c');
    if (this.d.history) this.recordPush(to as UserId, packet, fp);
    else this.sendPush(to as UserId, packet);
    return { fp };
  }

  /** A push is written to the user's conversation with its sender ("0") first; a failed write drops it (logged). */
  private recordPush(to: UserId, packet: Packet, fp: string): void {
    whenAppended(this.d.history!.append(packet.from as UserId, to, packet, fp), (entry) => this.sendPush(to, relayedPacket(packet, entry)));
  }

  private sendPush(to: UserId, packet: Packet): void {
    const wire = encodePacket(packet);
    const sender = packet.from as UserId;
    if (!packet.QoS) void this.sendBestEffort(sender, to, wire);
    else this.d.custody.take({ fp: packet.fp!, sender, senderConn: null, receiver: to, packet, wire, kind: 's2c' });
  }

  /** A type-4 ack from logged-in session `s`: the receiver confirms `fp`. */
  onClientAck(s: Session, p: Packet): void {
    const fp = p.dataContent;
    if (!fp) return;
    const uid = s.userId!;
    const rec = this.d.inbound.take(uid, fp);
    if (!rec) {
      // Unknown: expired record or a second ack. Make sure the queue does not redeliver it.
      this.d.custody.removeOffline(uid, fp);
      return;
    }
    if (rec.group) {
      this.d.groupAcks(uid, fp, rec.group);
      return;
    }
    if (rec.viaOffline) {
      this.d.metrics.offlineDelivered.inc();
      // The sender was acked when the message was stored: nothing to relay.
      this.d.custody.removeOffline(uid, fp);
      return;
    }
    if (rec.origin === this.d.nodeId) {
      this.d.custody.onReceiverAck({ sender: rec.sender!, receiver: uid, fp });
      return;
    }
    this.d.metrics.acksRelayed.inc();
    this.d.bridge.send(rec.origin, { type: 'ack', origin: this.d.nodeId, fp, from: uid, to: rec.sender! }).catch((err: unknown) => {
      // The origin is gone or unreachable: the sender resends through another node and the receiver dedupes.
      if (err instanceof UnroutableError) return;
      const skipped = this.quiet.ackRelay.take();
      if (skipped >= 0) this.d.log.warn({ err, node: rec.origin, skipped }, 'ack not relayed; the sender will resend');
    });
  }
}
