import { delay, LogThrottle, type Logger, type UserId } from '@switchboard/core';
import { groupConversation, type GroupStore, type HistoryStore } from '@switchboard/cluster';
import { encodePacket } from '@switchboard/protocol';
import { OFFLINE_PACING_STEP_MS } from '../defaults.js';
import type { Session } from '../sessions/session.js';
import type { SessionHub } from '../sessions/session-hub.js';
import type { GroupReceiver } from './group-receiver.js';
import { groupPacket } from './group-wire.js';
import { MEMBER_ROUTE_CACHE_MS } from './member-routes.js';

/** Messages read from a group's history per page during catch-up. */
export const GROUP_CATCHUP_PAGE = 200;
/** Most groups caught up per login (a user in more groups gets the rest through the history API). */
export const GROUP_CATCHUP_MAX_GROUPS = 500;
/** The login's second catch-up pass starts this long after the member-route cache window. */
const TAIL_MARGIN_MS = 500;

/**
 * Group catch-up at login (issue 15): for each of the user's groups, the messages after the
 * member's cursor (and after the seq it joined at) that others sent, written as packets, oldest
 * first, paced to the connection, each in per-connection custody like a live group message.
 */
export class GroupCatchUp {
  private readonly quiet = new LogThrottle();
  /** Second passes not started yet (see `run`). */
  private readonly tails = new Set<NodeJS.Timeout>();

  constructor(
    private readonly log: Logger,
    private readonly hub: SessionHub,
    private readonly groups: GroupStore,
    private readonly history: HistoryStore,
    private readonly receiver: GroupReceiver,
    private readonly prefix: string,
  ) {}

  async run(s: Session): Promise<void> {
    const uid = s.userId as UserId;
    try {
      const groups = (await this.groups.groupsOf(uid)).slice(0, GROUP_CATCHUP_MAX_GROUPS);
      for (const g of groups) {
        if (s.state === 'closed') return;
        if (this.receiver.needsCatchUp(uid, g.id)) await this.catchUp(s, uid, g.id);
      }
      // Senders' gateways reuse a member's route for MEMBER_ROUTE_CACHE_MS (member-routes.ts): a message
      // fanned out in that window after this login may have gone where this member no longer is. One
      // more pass once the window is over brings those (messages seen already are skipped).
      if (groups.length > 0) {
        const timer = setTimeout(() => {
          this.tails.delete(timer);
          void this.tail(s, groups.map((g) => g.id));
        }, MEMBER_ROUTE_CACHE_MS + TAIL_MARGIN_MS);
        timer.unref();
        this.tails.add(timer);
      }
    } catch (err) {
      const skipped = this.quiet.take();
      if (skipped >= 0) this.log.warn({ err, skipped }, 'group catch-up interrupted; the rest comes at the next login');
    }
  }

  /** Cancel the second passes not started yet (the gateway closes). */
  close(): void {
    for (const t of this.tails) clearTimeout(t);
    this.tails.clear();
  }

  private async tail(s: Session, gids: string[]): Promise<void> {
    const uid = s.userId as UserId;
    try {
      for (const gid of gids) {
        if (s.state === 'closed') return;
        await this.catchUp(s, uid, gid);
      }
    } catch (err) {
      const skipped = this.quiet.take();
      if (skipped >= 0) this.log.warn({ err, skipped }, 'group catch-up interrupted; the rest comes at the next login');
    }
  }

  /** Catch up one group for session `s` now (a live message came before the login's catch-up reached it). */
  group(s: Session, gid: string): void {
    const uid = s.userId as UserId;
    this.catchUp(s, uid, gid).catch((err: unknown) => {
      const skipped = this.quiet.take();
      if (skipped >= 0) this.log.warn({ err, skipped }, 'group catch-up interrupted; the rest comes at the next login');
    });
  }

  private async catchUp(s: Session, uid: UserId, gid: string): Promise<void> {
    // Claimed before the first await, so a live message meanwhile does not start a second one.
    this.receiver.beginCatchUp(uid, gid, 0);
    try {
      const since = await this.groups.memberSince(gid, uid);
      if (since === null) return;
      const conv = groupConversation(gid);
      let cursor = Math.max(since, await this.history.cursor(uid, conv));
      this.receiver.beginCatchUp(uid, gid, cursor);
      for (;;) {
        const page = await this.history.after(conv, { after: cursor, limit: GROUP_CATCHUP_PAGE });
        for (const m of page) {
          if (s.state === 'closed') return;
          // Seqs between the cursor and this message are no longer kept: nothing to deliver there.
          for (let gone = cursor + 1; gone < m.seq; gone++) this.receiver.settleGone(uid, gid, gone);
          cursor = m.seq;
          if (m.from === uid) this.receiver.settleOwn(uid, gid, m.seq, m.sentAt);
          else if (!this.receiver.seen(uid, gid, m.seq, m.sentAt)) {
            const wire = encodePacket(groupPacket(this.prefix, gid, { ...m, qos: true }));
            await this.pace(s, wire);
            this.receiver.deliver(s, this.receiver.prepare({ gid, seq: m.seq, fp: m.fp, wire, qos: true, sentAt: m.sentAt }));
          }
        }
        if (page.length < GROUP_CATCHUP_PAGE) return;
      }
    } finally {
      this.receiver.endCatchUp(uid, gid);
    }
  }

  /** Keep half of the connection's outbound bound free for live traffic, as offline delivery does. */
  private async pace(s: Session, wire: string): Promise<void> {
    const size = Buffer.byteLength(wire);
    while (!this.hub.hasRoomForBacklog(s, size) && s.state !== 'closed') await delay(OFFLINE_PACING_STEP_MS);
  }
}
