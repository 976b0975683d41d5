import { ErrorCode, ackPacket, encodePacket, isControlTypeu, type Packet } from '@switchboard/protocol';
import { ChurnSet, LogThrottle, newFingerprint, UnroutableError, type Logger, type NodeId, type UserId } from '@switchboard/core';
import type { AppendResult, Bridge, GroupStore } from '@switchboard/cluster';
import type { GatewayMetrics } from '../metrics.js';
import type { Session } from '../sessions/session.js';
import type { SessionHub } from '../sessions/session-hub.js';
import type { GroupDelivery, GroupReceiver } from './group-receiver.js';
import { groupPacket } from './group-wire.js';
import type { HistoryWriter } from './history-writer.js';
import type { Outcomes } from './outcomes.js';
import type { RouteResolver } from './route-resolver.js';
import { withSeq } from './seq.js';
import { MemberRoutes } from './member-routes.js';

export interface GroupSenderDeps {
  nodeId: NodeId;
  log: Logger;
  metrics: GatewayMetrics;
  hub: SessionHub;
  bridge: Bridge;
  groups: GroupStore;
  history: HistoryWriter | null;
  receiver: GroupReceiver;
  resolver: RouteResolver;
  outcomes: Outcomes;
  prefix: string;
}

/**
 * The sending side of group messages (issue 15, docs/groups.md): membership check, one write to the
 * group's history (its seq), the sender's ack once that write is durable, then fan-out: local members
 * directly, and at most one bridge message per other gateway with online members. No copy per member
 * is stored: members who miss a message catch up from history at their next login.
 */
export class GroupSender {
  private readonly sending = new ChurnSet<string>();
  private readonly quiet = { members: new LogThrottle(), fanout: new LogThrottle() };
  private readonly routes: MemberRoutes;

  constructor(private readonly d: GroupSenderDeps) {
    this.routes = new MemberRoutes(d.resolver);
  }

  /** A data packet from logged-in session `s` whose `to` starts with the group prefix. */
  onData(s: Session, p: Packet): void {
    const uid = s.userId!;
    if (p.QoS && !p.fp) {
      this.d.hub.sendError(s, ErrorCode.BAD_PACKET, 'QoS packet without fp');
      return;
    }
    const fp = p.fp || newFingerprint();
    const k = uid + '\n' + fp;
    if (this.sending.has(k)) return; // a resend while the first is being written: its ack will come
    this.sending.add(k);
    void this.send(s, uid, p.to.slice(this.d.prefix.length), p, fp).finally(() => this.sending.delete(k));
  }

  private async send(s: Session, uid: UserId, gid: string, p: Packet, fp: string): Promise<void> {
    let members: Map<UserId, number> | null;
    try {
      members = await this.d.groups.members(gid);
    } catch (err) {
      const skipped = this.quiet.members.take();
      if (skipped >= 0) this.d.log.warn({ err, skipped }, 'group store unavailable; the group message is refused');
      this.d.hub.sendError(s, ErrorCode.UNAVAILABLE, fp);
      return;
    }
    if (members === null || !members.has(uid)) {
      this.d.metrics.protocolErrors.inc({ reason: 'not_a_member' });
      this.d.hub.sendError(s, ErrorCode.NOT_A_MEMBER, fp);
      return;
    }
    let entry: AppendResult | null = null;
    if (this.d.history && !isControlTypeu(p.typeu)) {
      entry = await this.d.history.appendGroup(gid, uid, p, fp);
      if (entry === null) return; // not written: no ack, the sender resends
      // Seq 1 with members who joined at a later seq: the group's history expired (a history TTL
      // without messages) and started again, and those join seqs belong to the old one.
      if (entry.seq === 1 && [...members.values()].some((since) => since > 0)) {
        members = await this.restartJoins(gid, members);
        if (members === null) return; // not recorded: no ack, the sender resends
      }
    }
    const seq = entry?.seq ?? 0;
    // The sender's own message is settled for its cursor (it is never delivered to it).
    if (entry !== null) this.d.receiver.settleOwn(uid, gid, entry.seq, entry.sentAt);
    if (p.QoS) this.d.hub.send(s, withSeq(ackPacket(p.to, uid, fp), seq, entry?.sentAt));
    const sentAt = entry?.sentAt ?? Date.now();
    const packet = groupPacket(this.d.prefix, gid, { from: uid, fp, dataContent: p.dataContent, typeu: p.typeu, seq, sentAt, qos: p.QoS });
    // A resend of a message already written is fanned out again (members drop the copy by fp), in case
    // the first fan-out never happened, e.g. the sender's gateway died between the write and it; it
    // counts and is announced once, at its first write.
    if (!entry?.duplicate) {
      this.d.metrics.messages.inc('group');
      this.d.outcomes.emit({ type: 'group.message', at: Date.now(), nodeId: this.d.nodeId, from: uid, group: gid, fp, seq, typeu: p.typeu, dataContent: p.dataContent });
    }
    await this.fanOut(gid, uid, members, { seq, fp, qos: p.QoS, wire: encodePacket(packet), typeu: p.typeu, dataContent: p.dataContent, sentAt });
  }

  /**
   * Set every member's join seq back to 0 (the group's history started again at seq 1): `members` so,
   * or null when the group store failed.
   */
  private async restartJoins(gid: string, members: Map<UserId, number>): Promise<Map<UserId, number> | null> {
    try {
      await this.d.groups.restartJoins(gid);
    } catch (err) {
      const skipped = this.quiet.members.take();
      if (skipped >= 0) this.d.log.warn({ err, skipped }, 'group store unavailable; the first message of a restarted group history is not acked (its sender resends)');
      return null;
    }
    this.d.log.info({ gid }, 'group history started again at seq 1; members keep receiving from it');
    return new Map([...members.keys()].map((m) => [m, 0]));
  }

  /** Every member but the sender who joined before `seq`: local ones now, the rest through one bridge message per node. */
  private async fanOut(
    gid: string,
    sender: UserId,
    members: Map<UserId, number>,
    m: { seq: number; fp: string; qos: boolean; wire: string; typeu: number; dataContent: string | null; sentAt: number },
  ): Promise<void> {
    const remote: UserId[] = [];
    let local: GroupDelivery | null = null;
    for (const [member, since] of members) {
      if (member === sender || (m.seq > 0 && since >= m.seq)) continue;
      const s = this.d.hub.user(member);
      if (s) this.d.receiver.deliver(s, (local ??= this.d.receiver.prepare({ gid, seq: m.seq, fp: m.fp, qos: m.qos, wire: m.wire, sentAt: m.sentAt })));
      else remote.push(member);
    }
    if (remote.length === 0) return;
    const byNode = new Map<NodeId, UserId[]>();
    for (const [member, node] of await this.routes.nodesOf(remote)) {
      if (node === null) {
        // Offline (or the route store failed): catch-up brings it at the next login; wake the member meanwhile.
        if (m.seq > 0) this.d.outcomes.onStoredFor?.({ user: member, from: sender, fp: m.fp, typeu: m.typeu, dataContent: m.dataContent, group: gid });
        continue;
      }
      const list = byNode.get(node);
      if (list) list.push(member);
      else byNode.set(node, [member]);
    }
    for (const [node, list] of byNode) {
      this.d.metrics.groupFanout.inc();
      this.d.bridge.send(node, { type: 'group', origin: this.d.nodeId, gid, seq: m.seq, fp: m.fp, qos: m.qos, members: list, packet: m.wire, sentAt: m.sentAt }).catch((err: unknown) => {
        if (err instanceof UnroutableError) return; // that node is gone: its members catch up at their next login
        const skipped = this.quiet.fanout.take();
        if (skipped >= 0) this.d.log.warn({ err, node, skipped }, 'group fan-out not sent; those members catch up at their next login');
      });
    }
  }
}
