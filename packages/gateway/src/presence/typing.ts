import { encodePacket, ExtensionPacketType, Feature, noticePacket, type Packet } from '@switchboard/protocol';
import { LogThrottle, UnroutableError, type Logger, type NodeId, type UserId } from '@switchboard/core';
import type { Bridge, GroupStore } from '@switchboard/cluster';
import { MemberRoutes } from '../delivery/member-routes.js';
import type { RouteResolver } from '../delivery/route-resolver.js';
import type { GatewayMetrics } from '../metrics.js';
import { TtlMap } from '../delivery/ttl-map.js';
import type { Session } from '../sessions/session.js';
import type { SessionHub } from '../sessions/session-hub.js';

export interface TypingRelayDeps {
  nodeId: NodeId;
  log: Logger;
  metrics: GatewayMetrics;
  hub: SessionHub;
  bridge: Bridge;
  resolver: RouteResolver;
  /** Group membership; null: no groups (a group address is then an ordinary peer id). */
  groups: GroupStore | null;
  groupPrefix: string;
  /** At most one signal per sender per target this often (`IM_TYPING_INTERVAL_MS`). */
  intervalMs: number;
}

/**
 * Typing signals (docs/presence.md): a type-2 packet of typeu -102 without QoS, turned into a
 * `typing` notice for the peer, or for every online member of a group but the sender. Never stored,
 * never acked, never an error: a signal over the per-target rate, to an offline peer, or from a
 * non-member is dropped silently. Only sessions that announced the `typing` feature get notices.
 */
export class TypingRelay {
  private readonly last: TtlMap<true>;
  private readonly routes: MemberRoutes;
  private readonly quiet = new LogThrottle();

  constructor(private readonly d: TypingRelayDeps) {
    this.last = new TtlMap(d.intervalMs);
    this.routes = new MemberRoutes(d.resolver);
  }

  /** A typing packet from logged-in session `s` (its `from` already checked). */
  onTyping(s: Session, p: Packet): void {
    const from = s.userId!;
    const key = from + '\n' + p.to;
    if (this.last.has(key)) {
      this.d.metrics.typing.inc('rate_limited');
      return;
    }
    this.last.set(key, true);
    this.d.metrics.typing.inc('relayed');
    const isGroup = this.d.groups !== null && p.to.startsWith(this.d.groupPrefix);
    const work = isGroup ? this.toGroup(from, p.to.slice(this.d.groupPrefix.length)) : this.toPeer(from, p.to as UserId);
    work.catch((err: unknown) => {
      const skipped = this.quiet.take();
      if (skipped >= 0) this.d.log.warn({ err, skipped }, 'typing signal not relayed');
    });
  }

  /** A notice to the peer: written here when its session is local, else relayed to its node as a `notify`. */
  private async toPeer(from: UserId, to: UserId): Promise<void> {
    if (to === from) return;
    const local = this.d.hub.user(to);
    const wire = encodePacket(noticePacket(to, { kind: 'typing', from }));
    if (local) return this.writeLocal(local, wire);
    const route = await this.d.resolver.cachedRemote(to);
    if (route) this.relay(route.nodeId, to, wire);
  }

  private async toGroup(from: UserId, gid: string): Promise<void> {
    const members = await this.d.groups!.members(gid);
    if (members === null || !members.has(from)) return; // non-members learn nothing, not even whether it exists
    const remote: UserId[] = [];
    for (const member of members.keys()) {
      if (member === from) continue;
      const s = this.d.hub.user(member);
      if (s) this.writeLocal(s, encodePacket(noticePacket(member, { kind: 'typing', from, group: gid })));
      else remote.push(member);
    }
    if (remote.length === 0) return;
    for (const [member, node] of await this.routes.nodesOf(remote)) {
      if (node !== null) this.relay(node, member, encodePacket(noticePacket(member, { kind: 'typing', from, group: gid })));
    }
  }

  private writeLocal(s: Session, wire: string): void {
    if (s.state === 'online' && s.features?.includes(Feature.TYPING)) this.d.hub.write(s, wire, ExtensionPacketType.NOTICE);
  }

  private relay(node: NodeId, to: UserId, packet: string): void {
    this.d.bridge.send(node, { type: 'notify', origin: this.d.nodeId, to, feature: Feature.TYPING, packet }).catch((err: unknown) => {
      if (err instanceof UnroutableError) return; // the node is gone: so is the peer's session
      const skipped = this.quiet.take();
      if (skipped >= 0) this.d.log.warn({ err, node, skipped }, 'typing signal not relayed');
    });
  }
}
