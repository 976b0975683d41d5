import { dataPacket, encodePacket, MAX_WATCH_UIDS, SERVER_UID, TYPING_TYPEU, WATCH_TYPEU, type Packet } from '@switchboard/protocol';
import type { ClientEvent } from './client-types.js';
import { isRecord } from './dispatch.js';
import { ClientError, ClientErrorCode } from './errors.js';

/** A typing signal's target: a peer's user id, or `{ group: gid }`. */
export type TypingTarget = string | { group: string };

/** One user's presence, as `presence()` answers and `presence` events tell it. */
export interface PresenceInfo {
  uid: string;
  online: boolean;
  /** When the user was last online, ms since epoch; absent when the server never saw the user. */
  lastSeen?: number;
}

export interface PresenceSignalsDeps {
  uid: string;
  groupPrefix: string;
  /** Write one packet's text on the current connection; false when not online. */
  send: (text: string) => boolean;
  /** One typing signal per target at most this often, ms. */
  typingThrottleMs: number;
}

/**
 * The client's side of presence and typing (docs/presence.md): the watch list (kept, and sent again
 * after every login, since the server forgets it with the session), throttled typing signals, and
 * the `presence` / `typing` events of the server's notices.
 */
export class PresenceSignals {
  private watched: readonly string[] = [];
  private readonly lastTyping = new Map<string, number>();

  constructor(private readonly d: PresenceSignalsDeps) {}

  /** Replace the watch set (at most MAX_WATCH_UIDS user ids); sent now when online, and after every login. */
  watch(uids: readonly string[]): void {
    if (!Array.isArray(uids) || uids.some((u) => typeof u !== 'string' || u.length === 0)) {
      throw new ClientError(ClientErrorCode.INVALID_ARGUMENT, 'watchPresence takes an array of user ids');
    }
    const set = [...new Set(uids)];
    if (set.length > MAX_WATCH_UIDS) throw new ClientError(ClientErrorCode.INVALID_ARGUMENT, `at most ${MAX_WATCH_UIDS} users can be watched`);
    this.watched = set;
    this.sendWatch();
  }

  /** After a login: the new session watches nothing until told. */
  loggedIn(): void {
    if (this.watched.length > 0) this.sendWatch();
  }

  /**
   * Send a typing signal to a peer or a group (no QoS). False when it was not sent: not online, or
   * one went to the same target less than `typingThrottleMs` ago.
   */
  typing(target: TypingTarget, now = Date.now()): boolean {
    const gid: unknown = isRecord(target) ? target['group'] : undefined;
    const to = typeof target === 'string' ? target : typeof gid === 'string' && gid.length > 0 ? this.d.groupPrefix + gid : '';
    if (to.length === 0 || to === SERVER_UID) {
      throw new ClientError(ClientErrorCode.INVALID_ARGUMENT, 'sendTyping takes a user id or { group: gid }');
    }
    const last = this.lastTyping.get(to);
    if (last !== undefined && now - last < this.d.typingThrottleMs) return false;
    if (!this.d.send(encodePacket(dataPacket({ from: this.d.uid, to, dataContent: '', QoS: false, typeu: TYPING_TYPEU })))) return false;
    if (this.lastTyping.size > 1000) this.lastTyping.clear();
    this.lastTyping.set(to, now);
    return true;
  }

  private sendWatch(): void {
    this.d.send(encodePacket(dataPacket({ from: this.d.uid, to: SERVER_UID, dataContent: JSON.stringify(this.watched), QoS: false, typeu: WATCH_TYPEU })));
  }
}

/** The `presence` and `typing` events of a notice (type 60); none for other kinds or garbled ones (notices are advisory). */
export function signalEventsOf(p: Packet): ClientEvent[] {
  let v: unknown;
  try {
    v = JSON.parse(p.dataContent ?? '');
  } catch {
    return [];
  }
  if (!isRecord(v)) return [];
  if (v['kind'] === 'typing' && typeof v['from'] === 'string') {
    return [typeof v['group'] === 'string' ? { type: 'typing', from: v['from'], group: v['group'] } : { type: 'typing', from: v['from'] }];
  }
  if (v['kind'] !== 'presence' || !Array.isArray(v['users'])) return [];
  const out: ClientEvent[] = [];
  for (const u of v['users']) {
    const info = presenceInfoOf(u);
    if (info) out.push({ type: 'presence', ...info });
  }
  return out;
}

/** A `{uid, online, lastSeen?}` object from the server, or null when malformed. */
export function presenceInfoOf(u: unknown): PresenceInfo | null {
  if (!isRecord(u) || typeof u['uid'] !== 'string' || typeof u['online'] !== 'boolean') return null;
  const lastSeen = u['lastSeen'];
  return typeof lastSeen === 'number' && Number.isFinite(lastSeen) ? { uid: u['uid'], online: u['online'], lastSeen } : { uid: u['uid'], online: u['online'] };
}
