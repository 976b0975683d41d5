import type { Messages } from './i18n/en.js';
import { timeLabel } from './time-label.js';

/** What the page knows of a user's presence (from the SDK's `presence` events and `presence()` answers). */
export interface PeerPresence {
  online: boolean;
  /** When the user was last online, ms since epoch; absent when the server does not know. */
  lastSeen?: number | undefined;
}

/** "online", "last seen Yesterday 14:03", or "offline" when the last-seen time is unknown. Pure. */
export function presenceText(p: PeerPresence, now: number, t: Messages): string {
  if (p.online) return t.presenceOnline;
  if (p.lastSeen !== undefined && p.lastSeen > 0) return t.lastSeen(timeLabel(p.lastSeen, now, t.time));
  return t.presenceOffline;
}
