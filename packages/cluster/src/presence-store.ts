import type { UserId } from '@switchboard/core';

/** How long a user's last-seen time is kept after they went offline: 30 days (`IM_PRESENCE_TTL_S`). */
export const DEFAULT_PRESENCE_TTL_MS = 30 * 24 * 3600 * 1000;

/** Options shared by every PresenceStore. */
export interface PresenceStoreOptions {
  /** How long a last-seen time is kept, ms. @default DEFAULT_PRESENCE_TTL_MS (30 days) */
  ttlMs?: number;
}

/**
 * When each user was last online (docs/presence.md). Whether a user is online *now* is not kept
 * here: that is the route registry's (a live route = online); this store only remembers the time of
 * the last logout, disconnect or node death, so an offline user can be shown as "last seen …".
 *
 * - `seen(users, at)`: the users were online until `at` (ms since epoch). A later call for a user
 *   replaces the time only with a later one (never moves back), and keeps it for `ttlMs` from then.
 * - `lastSeen(users)`: the times in the order asked; null for a user never seen or whose time expired.
 * Both take batches (a node death, a watch list of up to 500 users) and cost one round trip per call
 * on Redis. Fails with UnavailableError when the backend is unreachable.
 */
export interface PresenceStore {
  seen(users: readonly UserId[], at: number): Promise<void>;
  lastSeen(users: readonly UserId[]): Promise<Array<number | null>>;
  close(): Promise<void>;
}

/** One user's presence as answers tell it: `lastSeen` only for an offline user the store remembers. */
export interface UserPresence {
  uid: UserId;
  online: boolean;
  lastSeen?: number;
}

/**
 * The presence of `uids` given which are online (`online[i]`, from the route registry): each offline
 * one with its last-seen time from `store` (one batch read; none without a store). The gateway's watch
 * answers and dispatch's `GET /api/presence` answer alike through it.
 */
export async function presenceOf(uids: readonly UserId[], online: readonly boolean[], store: PresenceStore | null): Promise<UserPresence[]> {
  const offline = uids.filter((_, i) => !online[i]);
  const seen = store !== null && offline.length > 0 ? await store.lastSeen(offline) : [];
  const seenOf = new Map(offline.map((u, i) => [u, seen[i] ?? null]));
  return uids.map((uid, i) => {
    if (online[i]) return { uid, online: true };
    const t = seenOf.get(uid);
    return t == null ? { uid, online: false } : { uid, online: false, lastSeen: t };
  });
}
