import type { ConnId, Logger, NodeId, UserId } from '@switchboard/core';
import { ChurnMap, LogThrottle } from '@switchboard/core';
import { groupConversation, type HistoryStore } from '@switchboard/cluster';
import type { Session } from '../sessions/session.js';
import type { SessionHub } from '../sessions/session-hub.js';
import { DeadlineQueue } from './deadline-queue.js';
import type { LocalDelivery } from './local-delivery.js';
import type { InboundRecord } from './inbound.js';

/**
 * One group message as this gateway delivers it to its members: built once per message (`prepare`) and
 * shared by every member's write, inbound record and custody copy, so a fan-out to hundreds of local
 * members allocates one small copy per member, not a message and an ack record each.
 */
export interface GroupDelivery {
  readonly gid: string;
  readonly seq: number;
  readonly fp: string;
  readonly wire: string;
  /** When the message was sent (its history's `sentAt`), or when it reached this gateway if a fan-out of an earlier version did not say; ms since epoch. */
  readonly at: number;
  /** Where a member's ack goes (null without QoS); the record is never changed after it is built. */
  readonly ack: { readonly fp: string; readonly record: InboundRecord } | null;
}

/** A group message written to one member's connection and not acked yet. */
interface GroupCopy {
  key: string;
  member: UserId;
  conn: ConnId;
  m: GroupDelivery;
  attempt: number;
}

/** One member's progress through one group's history in this gateway's sessions. */
interface CursorTracker {
  /** The cursor as stored (or confirmed by the stored cursor at catch-up): everything ≤ it is settled. */
  written: number;
  /** Seqs above `written` known here: delivered to the member, or found by catch-up to be its own or gone. */
  seen: Set<number>;
  /** Seqs delivered and not acked yet. */
  pending: Set<number>;
  /** This session's catch-up of the group: not started, under way, or done. */
  caughtUp: 'no' | 'running' | 'done';
  /** The seq the cursor was stuck below when a hole was first seen, and when (a hole may just be reordering). */
  hole: { at: number; since: number } | null;
  timer: NodeJS.Timeout | null;
  /** The latest send time of a message of the group delivered or settled here for the member (0: none yet). */
  newestAt: number;
}

/** How often a member's group cursor is written at most (acks in between only move it in memory). */
export const GROUP_CURSOR_FLUSH_MS = 1_000;
/** How long a hole before an acked group message may last before it counts as a miss (reordering across gateways). */
export const GROUP_HOLE_GRACE_MS = 3_000;

/**
 * The receiving side of group messages (issue 15): writes a group message to a member's connection
 * through the one local write path, holds it in per-connection custody (one resend, then it is left
 * to catch-up: no offline copy per member), and moves the member's cursor in the group's history.
 *
 * The cursor only moves over seqs this gateway knows were settled for the member: acked deliveries,
 * and seqs catch-up found to be the member's own or no longer kept. A hole (a seq never delivered
 * here, say because the sender's gateway died before fanning it out) stops the cursor and starts a
 * catch-up of that group, which reads the hole from history. Cursors are written at most once per
 * GROUP_CURSOR_FLUSH_MS per member and group, and when the member's connection closes.
 *
 * A group's history starts again at seq 1 after a history TTL without messages, or sooner when a
 * standalone's memory bound forgets it, its cursors with it, while a member's session may outlive that.
 * A tracker is therefore started afresh (as at login) when a message comes half a history TTL after the
 * newest one it saw; or when, having seen none, it gets a seq at or below the cursor it read; and, with
 * a store that forgets early (one process, one clock), when it gets a seq it holds as settled, sent
 * later than the newest one it saw (in one history a seq's message is not sent later than those of the
 * seqs after it, so it can only be a new history's). Such a seq is a restarted history's (or an old
 * resend, which is then delivered once more: the safe mistake). The message is delivered and the
 * group caught up again. Across gateways (Redis) that last rule stays off: their clocks differ, and a
 * gateway of an earlier version sends no send time with its fan-out.
 */
export class GroupReceiver {
  private readonly held = new ChurnMap<string, GroupCopy>();
  private readonly resendDue: DeadlineQueue<GroupCopy>;
  private readonly giveUpDue: DeadlineQueue<GroupCopy>;
  private readonly cursors = new Map<UserId, Map<string, CursorTracker>>();
  private readonly quiet = new LogThrottle();
  /** A message this long after the newest one a tracker saw may belong to a restarted history (half the history TTL). */
  private readonly restartAfterMs: number;
  /** The history store may forget a group early (HistoryStore.forgetsEarly): a settled seq sent later than the newest seen is a new history's. */
  private readonly forgetsEarly: boolean;

  constructor(
    private readonly nodeId: NodeId,
    private readonly log: Logger,
    private readonly hub: SessionHub,
    private readonly local: LocalDelivery,
    private readonly history: HistoryStore | null,
    timings: { resendMs: number; giveUpMs: number },
  ) {
    this.resendDue = new DeadlineQueue(timings.resendMs, (c) => this.resend(c));
    this.giveUpDue = new DeadlineQueue(Math.max(0, timings.giveUpMs - timings.resendMs), (c) => this.giveUp(c));
    this.restartAfterMs = history === null ? Infinity : history.ttlMs / 2;
    this.forgetsEarly = history?.forgetsEarly === true;
  }

  /** Set by the composition root: catch up one group for a session (reads history after the cursor). */
  onUncaught: (s: Session, gid: string) => void = () => {};

  get size(): number {
    return this.held.size;
  }

  /** The shared form of group message `seq` of `gid` for `deliver` (one per message, whatever the members). */
  prepare(m: { gid: string; seq: number; fp: string; wire: string; qos: boolean; sentAt?: number }): GroupDelivery {
    const record: InboundRecord = { origin: this.nodeId, sender: null, viaOffline: false, group: { gid: m.gid, seq: m.seq } };
    return { gid: m.gid, seq: m.seq, fp: m.fp, wire: m.wire, at: m.sentAt ?? Date.now(), ack: m.qos ? { fp: m.fp, record } : null };
  }

  /**
   * Write group message `m` (from `prepare`) to member session `s`; with QoS, hold it until the member
   * acks. A seq already written here to the member, or settled for it, is not written again: catch-up
   * and live fan-out overlap (catch-up reads a message from history before its fan-out arrives), and a
   * sender's resend is fanned out again. Returns whether the member has it (written now or before).
   */
  deliver(s: Session, m: GroupDelivery): boolean {
    const member = s.userId as UserId;
    const t = m.seq > 0 ? this.track(member, m.gid) : null;
    if (t !== null && this.has(t, m.seq, m.at)) return true;
    if (this.local.write(s, m.wire, m.ack) !== 'written') return false;
    if (t !== null && m.at > t.newestAt) t.newestAt = m.at;
    if (m.ack === null) {
      // Best effort: written is settled (no ack comes), so the cursor moves over it; a seq left out of
      // `seen` would look like a hole, and catch-up would write the message again as QoS.
      if (t !== null) {
        t.seen.add(m.seq);
        this.schedule(member, m.gid, t);
      }
      return true;
    }
    const c: GroupCopy = { key: member + '\n' + m.fp, member, conn: s.connId, m, attempt: 1 };
    const prev = this.held.get(c.key);
    if (prev) this.forget(prev);
    this.held.set(c.key, c);
    this.resendDue.add(c);
    if (t !== null) {
      t.seen.add(m.seq);
      t.pending.add(m.seq);
      // A live message of a group not caught up yet in this session (a login still busy with its
      // offline queue, or a group joined since): catch up on that group now.
      if (t.caughtUp === 'no') this.onUncaught(s, m.gid);
    }
    return true;
  }

  /** The member acked group message `fp` (seq `seq` of `gid`). */
  onAck(member: UserId, fp: string, group: { gid: string; seq: number }): void {
    const c = this.held.get(member + '\n' + fp);
    if (c) this.forget(c);
    if (group.seq <= 0) return;
    const t = this.track(member, group.gid);
    t.pending.delete(group.seq);
    this.schedule(member, group.gid, t);
  }

  /** Whether `seq` of `gid`, sent at `sentAt`, was delivered to (or settled for) `member` in this gateway already. */
  seen(member: UserId, gid: string, seq: number, sentAt: number): boolean {
    const t = this.cursors.get(member)?.get(gid);
    return t !== undefined && this.has(t, seq, sentAt);
  }

  /** `seq`, sent at `sentAt`, is the member's own message: settled for it without a delivery. */
  settleOwn(member: UserId, gid: string, seq: number, sentAt: number): void {
    const t = this.track(member, gid);
    if (this.has(t, seq, sentAt)) return;
    t.seen.add(seq);
    if (sentAt > t.newestAt) t.newestAt = sentAt;
  }

  /** Catch-up found `seq` no longer kept: settled for the member without a delivery. */
  settleGone(member: UserId, gid: string, seq: number): void {
    const t = this.track(member, gid);
    if (seq > t.written) t.seen.add(seq);
  }

  /** Whether this session's catch-up of `gid` has not started yet. */
  needsCatchUp(member: UserId, gid: string): boolean {
    return (this.cursors.get(member)?.get(gid)?.caughtUp ?? 'no') === 'no';
  }

  /** Catch-up of `gid` for `member` starts; the stored `cursor` settles everything up to it. */
  beginCatchUp(member: UserId, gid: string, cursor: number): void {
    const t = this.track(member, gid);
    t.caughtUp = 'running';
    if (cursor > t.written) {
      t.written = cursor;
      for (const x of t.seen) if (x <= cursor) t.seen.delete(x);
      for (const x of t.pending) if (x <= cursor) t.pending.delete(x);
    }
  }

  endCatchUp(member: UserId, gid: string): void {
    const t = this.track(member, gid);
    t.caughtUp = 'done';
    this.schedule(member, gid, t);
  }

  /**
   * The member's session closed: what it did not ack is left to catch-up at its next login. When a
   * newer session of the member is here already (a re-login on this gateway), the trackers stay for
   * it, but without the seqs that were written and not acked: those went to the closed connection, so
   * catch-up (the login's second pass, or the next live message) writes them to the new one.
   */
  release(s: Session): void {
    const member = s.userId;
    if (member === null) return;
    for (const c of [...this.held.values()]) if (c.conn === s.connId) this.forget(c);
    const current = this.hub.user(member);
    if (current === undefined || current === s) {
      void this.flushMember(member);
      return;
    }
    for (const t of this.cursors.get(member)?.values() ?? []) {
      if (t.pending.size === 0) continue;
      for (const x of t.pending) t.seen.delete(x);
      t.pending.clear();
      if (t.caughtUp === 'done') t.caughtUp = 'no';
    }
  }

  /** Stop the timers and write the cursors that moved (close). */
  async close(): Promise<void> {
    this.resendDue.clear();
    this.giveUpDue.clear();
    this.held.clear();
    await Promise.all([...this.cursors.keys()].map((member) => this.flushMember(member)));
  }

  private resend(c: GroupCopy): void {
    const s = this.hub.conn(c.conn);
    if (!s || s.state === 'closed') return this.forget(c);
    c.attempt++;
    this.local.write(s, c.m.wire, c.m.ack);
    this.giveUpDue.add(c);
  }

  /** No ack after the resend: the copy is dropped; the member's cursor stays below it, so catch-up brings it. */
  private giveUp(c: GroupCopy): void {
    this.held.delete(c.key);
  }

  private forget(c: GroupCopy): void {
    this.resendDue.delete(c);
    this.giveUpDue.delete(c);
    this.held.delete(c.key);
  }

  private track(member: UserId, gid: string): CursorTracker {
    let trackers = this.cursors.get(member);
    if (!trackers) {
      trackers = new Map();
      this.cursors.set(member, trackers);
    }
    let t = trackers.get(gid);
    if (!t) {
      t = { written: 0, seen: new Set(), pending: new Set(), caughtUp: 'no', hole: null, timer: null, newestAt: 0 };
      trackers.set(gid, t);
    }
    return t;
  }

  /**
   * Whether the member has `seq` (of a message sent at `at`) here: at or below the cursor, or seen.
   * Unless the tracker predates a restart of the group's history (see the class comment): then it
   * starts afresh, and the answer is no.
   */
  private has(t: CursorTracker, seq: number, at: number): boolean {
    const known = seq <= t.written || t.seen.has(seq);
    const stale =
      t.newestAt === 0
        ? seq <= t.written && !t.seen.has(seq)
        : at - t.newestAt >= this.restartAfterMs || (this.forgetsEarly && known && at > t.newestAt);
    if (stale && (t.written > 0 || t.seen.size > 0)) {
      t.written = 0;
      t.seen.clear();
      t.pending.clear();
      t.hole = null;
      t.newestAt = 0;
      if (t.caughtUp === 'done') t.caughtUp = 'no';
      return false;
    }
    return known;
  }

  /** Write the cursor within `ms` (GROUP_CURSOR_FLUSH_MS by default). */
  private schedule(member: UserId, gid: string, t: CursorTracker, ms = GROUP_CURSOR_FLUSH_MS): void {
    if (t.timer !== null) return;
    t.timer = setTimeout(() => {
      t.timer = null;
      void this.write(member, gid, t);
    }, ms);
    t.timer.unref();
  }

  /** Write every cursor of `member` that moved and forget its trackers. */
  private async flushMember(member: UserId): Promise<void> {
    const trackers = this.cursors.get(member);
    if (!trackers) return;
    this.cursors.delete(member);
    await Promise.all(
      [...trackers].map(([gid, t]) => {
        if (t.timer) clearTimeout(t.timer);
        t.timer = null;
        return this.write(member, gid, t, false);
      }),
    );
  }

  /**
   * Move the cursor over every settled seq right after it and write it when it moved. A settled seq
   * after a hole means the member missed one: catch up on the group (once catch-up is not running).
   */
  private async write(member: UserId, gid: string, t: CursorTracker, fillHoles = true): Promise<void> {
    let cursor = t.written;
    while (t.seen.has(cursor + 1) && !t.pending.has(cursor + 1)) cursor++;
    if (fillHoles) this.checkHole(member, gid, t, cursor);
    if (cursor <= t.written || this.history === null) return;
    try {
      await this.history.advanceCursor(member, groupConversation(gid), cursor);
      if (cursor > t.written) {
        t.written = cursor;
        for (const x of t.seen) if (x <= cursor) t.seen.delete(x);
      }
    } catch (err) {
      const skipped = this.quiet.take();
      if (skipped >= 0) this.log.warn({ err, skipped }, 'group cursor not written; catch-up may repeat messages (clients dedupe by fp)');
    }
  }

  /**
   * A settled seq after a hole means the member missed one, unless the hole is reordering: catch up
   * on the group once the same hole has lasted GROUP_HOLE_GRACE_MS (and catch-up is not running).
   */
  private checkHole(member: UserId, gid: string, t: CursorTracker, cursor: number): void {
    const hole = [...t.seen].some((x) => x > cursor + 1 && !t.pending.has(x));
    if (!hole) t.hole = null;
    else if (t.hole === null || t.hole.at !== cursor + 1) {
      // Messages of senders on different gateways overtake each other: a hole is only a miss once it
      // outlives GROUP_HOLE_GRACE_MS. Look again then.
      t.hole = { at: cursor + 1, since: Date.now() };
      this.schedule(member, gid, t, GROUP_HOLE_GRACE_MS);
    } else if (t.caughtUp !== 'running' && Date.now() - t.hole.since >= GROUP_HOLE_GRACE_MS) {
      const s = this.hub.user(member);
      if (s) {
        t.hole = null;
        t.caughtUp = 'no';
        this.onUncaught(s, gid);
      }
    } else {
      this.schedule(member, gid, t, GROUP_HOLE_GRACE_MS);
    }
  }
}
