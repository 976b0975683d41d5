import type { ConnId, Logger, NodeId, UserId } from '@switchboard/core';
import { LogThrottle } from '@switchboard/core';
import { groupConversation, type HistoryStore } from '@switchboard/cluster';
import type { Session } from '../sessions/session.js';
import type { SessionHub } from '../sessions/session-hub.js';
import { DeadlineQueue } from './deadline-queue.js';
import type { LocalDelivery } from './local-delivery.js';

/** A group message written to one member's connection and not acked yet. */
interface GroupCopy {
  key: string;
  member: UserId;
  conn: ConnId;
  gid: string;
  seq: number;
  fp: string;
  wire: string;
  attempt: number;
}

interface CursorTracker {
  pending: Set<number>;
  top: number;
  written: number;
  /**
   * The highest seq below which this session has seen everything (catch-up delivered it or the stored
   * cursor confirms it): the cursor may not pass it. 0 until this session's catch-up of the group
   * starts, so a live message acked before catch-up cannot move the cursor over older ones the member
   * never got; Infinity once catch-up finished.
   */
  floor: number;
  /** This session's catch-up of the group: not started, under way, or done. */
  caughtUp: 'no' | 'running' | 'done';
  timer: NodeJS.Timeout | null;
}

/** How often a member's group cursor is written at most (acks in between only move it in memory). */
export const GROUP_CURSOR_FLUSH_MS = 1_000;

/**
 * The receiving side of group messages (issue 15): writes a group message to a member's connection
 * through the one local write path, holds it in per-connection custody (one resend, then it is left
 * to catch-up: no offline copy per member), and moves the member's cursor in the group's history as
 * acks arrive. The cursor is the highest seq below which this member acked everything delivered
 * here, written at most once per GROUP_CURSOR_FLUSH_MS per member and group, so catch-up at the next
 * login starts after it.
 */
export class GroupReceiver {
  private readonly held = new Map<string, GroupCopy>();
  private readonly resendDue: DeadlineQueue<GroupCopy>;
  private readonly giveUpDue: DeadlineQueue<GroupCopy>;
  /**
   * member → gid → seqs written and not acked, the highest seq acked, the cursor last written, and the
   * floor the cursor may not pass until this session's catch-up of the group is done.
   */
  private readonly cursors = new Map<UserId, Map<string, CursorTracker>>();
  private readonly quiet = new LogThrottle();

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
  }

  get size(): number {
    return this.held.size;
  }

  /** Write group message `seq` of `gid` to member session `s`; with QoS, hold it until the member acks. */
  deliver(s: Session, m: { gid: string; seq: number; fp: string; wire: string; qos: boolean }): boolean {
    const member = s.userId as UserId;
    const ack = m.qos ? { fp: m.fp, record: { origin: this.nodeId, sender: null, viaOffline: false, group: { gid: m.gid, seq: m.seq } } } : null;
    if (this.local.write(s, m.wire, ack) !== 'written') return false;
    if (!m.qos) return true;
    const c: GroupCopy = { key: member + '\n' + m.fp, member, conn: s.connId, gid: m.gid, seq: m.seq, fp: m.fp, wire: m.wire, attempt: 1 };
    const prev = this.held.get(c.key);
    if (prev) this.forget(prev);
    this.held.set(c.key, c);
    this.resendDue.add(c);
    if (m.seq > 0) {
      const t = this.track(member, m.gid);
      t.pending.add(m.seq);
      // A live message of a group not caught up yet in this session (a login still busy with its
      // offline queue, or a group joined since): catch up on that group now.
      if (t.caughtUp === 'no') this.onUncaught(s, m.gid);
    }
    return true;
  }

  /** Set by the composition root: start the catch-up of one group for a session (group catch-up). */
  onUncaught: (s: Session, gid: string) => void = () => {};

  /** Whether this session's catch-up of `gid` has not started yet (catch-up claims it by `beginCatchUp`). */
  needsCatchUp(member: UserId, gid: string): boolean {
    return this.cursors.get(member)?.get(gid)?.caughtUp !== 'running' && this.cursors.get(member)?.get(gid)?.caughtUp !== 'done';
  }

  /** The member acked group message `fp` (seq `seq` of `gid`). */
  onAck(member: UserId, fp: string, group: { gid: string; seq: number }): void {
    const c = this.held.get(member + '\n' + fp);
    if (c) this.forget(c);
    if (group.seq > 0) this.settle(member, group.gid, group.seq);
  }

  /** The member's session closed: what it did not ack is left to catch-up at its next login. */
  release(s: Session): void {
    if (s.userId === null) return;
    for (const c of [...this.held.values()]) if (c.conn === s.connId) this.forget(c);
    if (this.hub.user(s.userId) === undefined || this.hub.user(s.userId) === s) void this.flushMember(s.userId);
  }

  /** Write every cursor of `member` that moved and forget its trackers. */
  private async flushMember(member: UserId): Promise<void> {
    const trackers = this.cursors.get(member);
    if (!trackers) return;
    this.cursors.delete(member);
    await Promise.all([...trackers].map(([gid, t]) => {
      if (t.timer) clearTimeout(t.timer);
      t.timer = null;
      return this.write(member, gid, t);
    }));
  }

  /** Catch-up of `gid` for `member` starts after `cursor`: the cursor may not pass what catch-up has written. */
  beginCatchUp(member: UserId, gid: string, cursor: number): void {
    const t = this.track(member, gid);
    t.floor = cursor;
    t.caughtUp = 'running';
    if (cursor > t.written) t.written = cursor;
  }

  /** Catch-up wrote everything up to `seq` (in `pending` until acked). */
  caughtUpTo(member: UserId, gid: string, seq: number): void {
    const t = this.track(member, gid);
    if (seq > t.floor) t.floor = seq;
  }

  endCatchUp(member: UserId, gid: string): void {
    const t = this.track(member, gid);
    t.floor = Infinity;
    t.caughtUp = 'done';
  }

  /** Stop the timers and write the cursors that moved (close). */
  async close(): Promise<void> {
    this.resendDue.clear();
    this.giveUpDue.clear();
    this.held.clear();
    const flushes: Promise<void>[] = [];
    for (const member of [...this.cursors.keys()]) flushes.push(this.flushMember(member));
    await Promise.all(flushes);
  }

  private resend(c: GroupCopy): void {
    const s = this.hub.conn(c.conn);
    if (!s || s.state === 'closed') return this.forget(c);
    c.attempt++;
    this.local.write(s, c.wire, { fp: c.fp, record: { origin: this.nodeId, sender: null, viaOffline: false, group: { gid: c.gid, seq: c.seq } } });
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
      t = { pending: new Set(), top: 0, written: 0, floor: 0, caughtUp: 'no', timer: null };
      trackers.set(gid, t);
    }
    return t;
  }

  /** Seq `seq` acked: the cursor may move up to just below the lowest seq still pending. */
  private settle(member: UserId, gid: string, seq: number): void {
    const t = this.track(member, gid);
    t.pending.delete(seq);
    if (seq > t.top) t.top = seq;
    if (t.timer === null) {
      t.timer = setTimeout(() => {
        t.timer = null;
        void this.flush(member, gid);
      }, GROUP_CURSOR_FLUSH_MS);
      t.timer.unref();
    }
  }

  private async flush(member: UserId, gid: string): Promise<void> {
    const t = this.cursors.get(member)?.get(gid);
    if (t) await this.write(member, gid, t);
  }

  /** Write the cursor of `t` when it moved: up to the highest ack, below the lowest pending seq and the catch-up floor. */
  private async write(member: UserId, gid: string, t: CursorTracker): Promise<void> {
    if (this.history === null) return;
    let cursor = Math.min(t.top, t.floor);
    for (const p of t.pending) if (p - 1 < cursor) cursor = p - 1;
    if (cursor <= t.written) return;
    try {
      await this.history.advanceCursor(member, groupConversation(gid), cursor);
      t.written = Math.max(t.written, cursor);
    } catch (err) {
      const skipped = this.quiet.take();
      if (skipped >= 0) this.log.warn({ err, skipped }, 'group cursor not written; catch-up may repeat messages (clients dedupe by fp)');
    }
  }
}
