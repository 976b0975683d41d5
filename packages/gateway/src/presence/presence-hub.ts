import { encodePacket, ExtensionPacketType, Feature, noticePacket, parseWatchList, type Packet, type PresenceState } from '@switchboard/protocol';
import { LogThrottle, type Logger, type NodeId, type UserId } from '@switchboard/core';
import { presenceOf, type Bridge, type PresenceChange, type PresenceStore } from '@switchboard/cluster';
import type { RouteResolver } from '../delivery/route-resolver.js';
import type { GatewayMetrics } from '../metrics.js';
import type { Session } from '../sessions/session.js';
import type { SessionHub } from '../sessions/session-hub.js';

export interface PresenceHubDeps {
  nodeId: NodeId;
  log: Logger;
  metrics: GatewayMetrics;
  hub: SessionHub;
  bridge: Bridge;
  store: PresenceStore;
  resolver: RouteResolver;
  /** Changes are collected this long and broadcast together (`IM_PRESENCE_INTERVAL_MS`). */
  intervalMs: number;
  /** Most changes in one broadcast message. */
  batchMax: number;
}

/** What one session watches, and when its last watch list was answered. */
interface Watch {
  uids: readonly UserId[];
  answeredAt: number;
  /** A list came within `intervalMs` of the last answer: answered at the next tick. */
  pending: boolean;
}

/**
 * Presence on this gateway (docs/presence.md). Changes of users whose routes this node claims or
 * loses are collected and broadcast once per interval to every node (the fanout exchange); each node
 * (this one too) writes one notice per local watching session. Watchers are indexed here only
 * (watched uid → local sessions), so a change costs a broadcast per interval, not a message per
 * watcher. Offline changes record the last-seen time in the PresenceStore.
 */
export class PresenceHub {
  private pending = new Map<UserId, PresenceChange>();
  private readonly watchers = new Map<UserId, Set<Session>>();
  private readonly watches = new Map<Session, Watch>();
  /** Sessions whose latest list waits for the next tick's answer (kept apart: a tick never walks every watcher). */
  private readonly toAnswer = new Set<Session>();
  /** Time of the newest change applied per watched user: batches from two nodes may arrive out of order. */
  private readonly appliedAt = new Map<UserId, number>();
  private readonly quiet = { broadcast: new LogThrottle(), store: new LogThrottle() };

  constructor(private readonly d: PresenceHubDeps) {}

  /** A user's route was claimed (`online`) or lost here; broadcast at the next flush. */
  changed(uid: UserId, online: boolean, at = Date.now()): void {
    this.pending.set(uid, { uid, online, at });
  }

  /** Users whose routes a dead node's purge removed: offline. */
  purged(users: readonly UserId[], at = Date.now()): void {
    for (const u of users) this.changed(u, false, at);
  }

  /** One interval's work: broadcast the collected changes, record last-seen times, answer pending watch lists. */
  async flush(): Promise<void> {
    for (const s of this.toAnswer) {
      const w = this.watches.get(s);
      if (w?.pending) void this.answer(s, w);
    }
    this.toAnswer.clear();
    if (this.pending.size === 0) return;
    const changes = [...this.pending.values()];
    this.pending = new Map();
    const offline = new Map<number, UserId[]>();
    for (const c of changes) if (!c.online) (offline.get(c.at) ?? offline.set(c.at, []).get(c.at)!).push(c.uid);
    await Promise.all([
      ...[...offline].map(([at, users]) => this.d.store.seen(users, at).catch((err: unknown) => this.warn('store', err, 'last-seen times not recorded'))),
      ...chunks(changes, this.d.batchMax).map((part) =>
        this.d.bridge.broadcast({ type: 'presence', origin: this.d.nodeId, changes: part }).then(
          () => {
            this.d.metrics.presenceBroadcasts.inc('sent');
            this.d.metrics.presenceChanges.inc(part.length);
          },
          (err: unknown) => {
            this.d.metrics.presenceBroadcasts.inc('failed');
            this.warn('broadcast', err, 'presence changes not broadcast');
          },
        ),
      ),
    ]);
  }

  /** A presence broadcast from any node (this one included): tell the local watchers. */
  onChanges(changes: readonly PresenceChange[]): void {
    const out = new Map<Session, PresenceState[]>();
    for (const c of changes) {
      const set = this.watchers.get(c.uid);
      if (!set) continue;
      // A logout on one node and the login on another within one interval: the older change must not win.
      if ((this.appliedAt.get(c.uid) ?? -Infinity) > c.at) continue;
      this.appliedAt.set(c.uid, c.at);
      const state: PresenceState = c.online ? { uid: c.uid, online: true } : { uid: c.uid, online: false, lastSeen: c.at };
      for (const s of set) (out.get(s) ?? out.set(s, []).get(s)!).push(state);
    }
    for (const [s, users] of out) this.notify(s, users);
  }

  /** A watch list (typeu -103) from session `s`, which announced the presence feature. */
  watch(s: Session, p: Packet): void {
    const uids = parseWatchList(p.dataContent) as UserId[] | null;
    if (uids === null) return; // not a list: ignored, never an error
    this.unindex(s);
    const prev = this.watches.get(s);
    const w: Watch = { uids, answeredAt: prev?.answeredAt ?? 0, pending: false };
    this.watches.set(s, w);
    for (const u of uids) (this.watchers.get(u) ?? this.watchers.set(u, new Set()).get(u)!).add(s);
    if (uids.length === 0) return;
    // One answer per interval per session: a flood of lists costs one lookup batch per interval.
    if (Date.now() - w.answeredAt < this.d.intervalMs) {
      w.pending = true;
      this.toAnswer.add(s);
    } else void this.answer(s, w);
  }

  /** The session closed: forget what it watched. */
  release(s: Session): void {
    this.unindex(s);
    this.watches.delete(s);
    this.toAnswer.delete(s);
  }

  /** The current state of `uids`, in order: online from the routes, last seen from the store. */
  async states(uids: readonly UserId[]): Promise<PresenceState[]> {
    const online = await Promise.all(uids.map((u) => this.d.resolver.live(u).then((r) => r !== null)));
    return presenceOf(uids, online, this.d.store);
  }

  /** Sessions watching someone, and distinct users watched (tests, metrics). */
  get size(): { sessions: number; users: number } {
    return { sessions: this.watches.size, users: this.watchers.size };
  }

  private async answer(s: Session, w: Watch): Promise<void> {
    w.pending = false;
    w.answeredAt = Date.now();
    try {
      const states = await this.states(w.uids);
      if (this.watches.get(s) === w) this.notify(s, states);
    } catch (err) {
      this.warn('store', err, 'watch list not answered');
    }
  }

  private notify(s: Session, users: PresenceState[]): void {
    if (s.state !== 'online' || !s.features?.includes(Feature.PRESENCE) || s.userId === null || users.length === 0) return;
    this.d.hub.write(s, encodePacket(noticePacket(s.userId, { kind: 'presence', users })), ExtensionPacketType.NOTICE);
  }

  private unindex(s: Session): void {
    const w = this.watches.get(s);
    if (!w) return;
    for (const u of w.uids) {
      const set = this.watchers.get(u);
      set?.delete(s);
      if (set?.size === 0) {
        this.watchers.delete(u);
        this.appliedAt.delete(u);
      }
    }
  }

  private warn(kind: 'broadcast' | 'store', err: unknown, msg: string): void {
    const skipped = this.quiet[kind].take();
    if (skipped >= 0) this.d.log.warn({ err, skipped }, msg);
  }
}

function chunks<T>(list: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}
