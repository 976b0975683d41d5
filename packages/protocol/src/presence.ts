import { MAX_USER_ID_LENGTH } from './payloads.js';

/**
 * Wire forms of presence and typing (docs/presence.md). Both ride on MobileIMSDK's own packet
 * types, with `typeu` values in the SDK's reserved control range (CONTROL_TYPEU_MAX), sent without
 * QoS, so a MobileIMSDK client never has to know them: it never sends them, and the gateway only
 * writes the notices they cause to sessions that announced the matching login `features`.
 */

/** Login features (`LoginInfo.features`) a Switchboard SDK announces; the gateway sends extension packets only to sessions that announced them. */
export const Feature = {
  /** Type-60 notices of kind `read`. */
  NOTICES: 'notices',
  /** Type-60 notices of kind `presence` (the session may send a watch list). */
  PRESENCE: 'presence',
  /** Type-60 notices of kind `typing`. */
  TYPING: 'typing',
} as const;
export type Feature = (typeof Feature)[keyof typeof Feature];

/**
 * `typeu` of a typing signal: a type-2 packet without QoS from the typing user to a peer, or to a
 * group's address. Never stored, never acked, rate-limited per sender and target.
 */
export const TYPING_TYPEU = -102;

/**
 * `typeu` of a watch list: a type-2 packet without QoS to the server (`to: "0"`) whose `dataContent`
 * is a JSON array of user ids, the whole set of users whose presence the session wants pushed
 * (an empty array: none). Replaces the previous list.
 */
export const WATCH_TYPEU = -103;

/** Most user ids one watch list may hold; the rest of a longer list is ignored. */
export const MAX_WATCH_UIDS = 500;

/** One user's presence: `lastSeen` (ms since epoch) is when the user was last online, absent when never seen. */
export interface PresenceState {
  uid: string;
  online: boolean;
  lastSeen?: number;
}

/**
 * The user ids of a watch list's `dataContent`: distinct non-empty strings of at most `maxUidLength`
 * characters, at most `max` of them. Null when the content is not a JSON array (the list is then ignored).
 */
export function parseWatchList(content: string | null, max = MAX_WATCH_UIDS, maxUidLength = MAX_USER_ID_LENGTH): string[] | null {
  if (content === null || content.length > max * (maxUidLength + 8) + 16) return null;
  let v: unknown;
  try {
    v = JSON.parse(content);
  } catch {
    return null;
  }
  if (!Array.isArray(v)) return null;
  const out = new Set<string>();
  for (const u of v) {
    if (out.size >= max) break;
    if (typeof u === 'string' && u.length > 0 && u.length <= maxUidLength) out.add(u);
  }
  return [...out];
}

/** Whether a data packet's `typeu` is one of the transient signals (typing, watch list) that are never stored. */
export function isSignalTypeu(typeu: number): boolean {
  return typeu === TYPING_TYPEU || typeu === WATCH_TYPEU;
}
