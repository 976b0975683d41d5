import { MAX_WATCH_UIDS } from '@switchboard/protocol';
import type { PresenceInfo, SwitchboardClient } from '@switchboard/client';
import type { PeerPresence } from './presence.js';

/** How long "typing…" stays up after the last typing signal, ms (the SDK repeats a signal at most every 3 s while the user types). */
export const TYPING_SHOW_MS = 5_000;
/** Users watched at most: the server's limit (the newest conversations first). */
const MAX_WATCHED = MAX_WATCH_UIDS;

/**
 * The page's view of its peers' presence and typing (docs/presence.md): watches the users of its
 * direct conversations (the SDK sends the list again after every login, and the server answers a
 * list with everyone's current state), keeps their latest state, passes typing on (the SDK
 * throttles it per target) and times out the signals it got.
 *
 * Typing goes out only once the server has answered a watch list with a presence notice: a gateway
 * without presence (an older one, during a rolling upgrade) would relay the signal as an ordinary
 * message, and the peer would see an empty one.
 */
export class LivePresence {
  readonly states = new Map<string, PeerPresence>();
  /** Conversation key → who types there and until when. */
  private readonly typers = new Map<string, { who: string; until: number }>();
  private readonly offs: Array<() => void> = [];
  private watched = '';
  /** The server answered with a presence notice: it knows presence and typing. */
  private serverHasSignals = false;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly client: SwitchboardClient,
    private readonly onChange: () => void,
  ) {
    this.offs.push(
      client.on('presence', (e) => this.set(e)),
      // Offline ourselves we know nothing current: no dots until the server sends the states again
      // (the SDK sends the watch list after every login, and the server answers it).
      client.on('state', (e) => {
        if (e.state === 'online' || (this.states.size === 0 && this.typers.size === 0)) return;
        this.states.clear();
        this.typers.clear();
        this.onChange();
      }),
      client.on('typing', (e) => {
        const key = e.group === undefined ? e.from : client.groupAddress(e.group);
        this.typers.set(key, { who: e.from, until: Date.now() + TYPING_SHOW_MS });
        this.schedule();
        this.onChange();
      }),
    );
  }

  /** Watch these users (the page's direct conversations, newest first); the same set again is a no-op. */
  watch(uids: string[]): void {
    const list = [...new Set(uids)].slice(0, MAX_WATCHED).sort();
    const key = list.join('\n');
    if (key === this.watched) return;
    this.watched = key;
    this.client.watchPresence(list);
  }

  /** The user types in conversation `key` (a user, or group `gid`): tell them (the SDK drops repeats within its throttle). */
  typing(key: string, gid: string | null): void {
    if (this.client.state !== 'online' || !this.serverHasSignals) return;
    this.client.sendTyping(gid === null ? key : { group: gid });
  }

  /** Who types in conversation `key` now, or null. */
  typingIn(key: string): string | null {
    const t = this.typers.get(key);
    return t && t.until > Date.now() ? t.who : null;
  }

  /** A message from `who` arrived in `key`: it stopped typing. */
  clearTyping(key: string, who: string): void {
    if (this.typers.get(key)?.who === who) this.typers.delete(key);
  }

  close(): void {
    for (const off of this.offs) off();
    if (this.timer) clearTimeout(this.timer);
  }

  private set(e: PresenceInfo): void {
    this.serverHasSignals = true;
    const before = this.states.get(e.uid);
    const lastSeen = e.lastSeen ?? before?.lastSeen;
    this.states.set(e.uid, { online: e.online, lastSeen });
    this.onChange();
  }

  /** Re-render when the earliest "typing…" expires. */
  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    const now = Date.now();
    let next = Infinity;
    for (const [key, t] of this.typers) {
      if (t.until <= now) this.typers.delete(key);
      else next = Math.min(next, t.until);
    }
    if (next === Infinity) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.schedule();
      this.onChange();
    }, next - now + 20);
  }
}

