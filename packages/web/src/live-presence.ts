import type { PeerPresence } from './presence.js';

/** How often the page tells a peer "typing" while the user types, at most, ms. */
export const TYPING_SEND_INTERVAL_MS = 3_000;
/** How long "typing…" stays up after the last typing signal, ms (a sender repeats it every TYPING_SEND_INTERVAL_MS). */
export const TYPING_SHOW_MS = 5_000;

export interface PresenceEvent {
  uid: string;
  online: boolean;
  lastSeen?: number | undefined;
}
export interface TypingEvent {
  from: string;
  group?: string | undefined;
}

/** The SDK's presence and typing API, as the page uses it. */
export interface PresenceClient {
  watchPresence(uids: string[]): unknown;
  presence(uids: string[]): Promise<PresenceEvent[]>;
  sendTyping(to: string | { group: string }): unknown;
  on(type: 'presence', fn: (e: PresenceEvent) => void): () => void;
  on(type: 'typing', fn: (e: TypingEvent) => void): () => void;
}

/**
 * The page's view of its peers' presence and typing: watches the users of its conversations,
 * keeps their latest state, sends throttled typing signals and times out the ones it got.
 * A client without the API (an older SDK) makes it a no-op: no dots, no "typing…".
 */
export class LivePresence {
  readonly states = new Map<string, PeerPresence>();
  /** Conversation key → who types there and until when. */
  private readonly typers = new Map<string, { who: string; until: number }>();
  private readonly sentAt = new Map<string, number>();
  private readonly offs: Array<() => void> = [];
  private watched = '';
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly api: PresenceClient | null;

  constructor(
    client: unknown,
    private readonly groupAddress: (gid: string) => string,
    private readonly onChange: () => void,
  ) {
    this.api = hasPresenceApi(client) ? client : null;
    if (!this.api) return;
    this.offs.push(
      this.api.on('presence', (e) => this.set(e)),
      this.api.on('typing', (e) => {
        const key = e.group === undefined ? e.from : this.groupAddress(e.group);
        this.typers.set(key, { who: e.from, until: Date.now() + TYPING_SHOW_MS });
        this.schedule();
        this.onChange();
      }),
    );
  }

  get available(): boolean {
    return this.api !== null;
  }

  /** Watch these users (the page's direct conversations); a same set again is a no-op. Also asks their state now. */
  watch(uids: string[]): void {
    const api = this.api;
    const key = [...new Set(uids)].sort().join('\n');
    if (!api || key === this.watched || uids.length === 0) return;
    this.watched = key;
    const list = key.split('\n');
    api.watchPresence(list);
    api.presence(list).then(
      (states) => {
        for (const s of states) this.set(s);
      },
      () => undefined, // not online yet or the server lacks presence: the pushed changes still come
    );
  }

  /** Forget the watched set (after a reconnect the server no longer has it). */
  rewatch(): void {
    this.watched = '';
  }

  /** The user types in conversation `key` (a user, or `gid` for a group): tell them, at most every TYPING_SEND_INTERVAL_MS. */
  typing(key: string, gid: string | null): void {
    if (!this.api) return;
    const now = Date.now();
    if (now - (this.sentAt.get(key) ?? 0) < TYPING_SEND_INTERVAL_MS) return;
    this.sentAt.set(key, now);
    this.api.sendTyping(gid === null ? key : { group: gid });
  }

  /** A message was sent in `key`: the next keystroke may signal typing at once. */
  sent(key: string): void {
    this.sentAt.delete(key);
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

  private set(e: PresenceEvent): void {
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

function hasPresenceApi(c: unknown): c is PresenceClient {
  const o = c as Partial<Record<keyof PresenceClient, unknown>> | null;
  return !!o && typeof o.watchPresence === 'function' && typeof o.presence === 'function' && typeof o.sendTyping === 'function';
}
