/**
 * The chat page's session across reloads, in the tab's `sessionStorage`: the user and token it logged
 * in with, the conversation open, and how far each peer read this user's messages (the server tells
 * that only as it happens, in read notices, so the page keeps what it was told). A reload logs in
 * again and comes back to the same conversation; **Log out** (and a kick or a refused login) forgets
 * it. `sessionStorage` rather than `localStorage`: each tab is its own session (two tabs can be two
 * users, and a reload in one never takes over the other's user, which would kick it), and the token
 * goes away with the tab, as the admin dashboard's does.
 */

/** What is kept. */
export interface SavedSession {
  uid: string;
  /** The login token, '' for none. */
  token: string;
  /** Key of the open conversation (a user, or a group's address), or null. */
  open: string | null;
  /** Per peer: the seq up to which it read this user's messages. */
  readBy: Record<string, number>;
}

/** The part of the Web Storage API used (sessionStorage; a fake in unit tests). */
export type StorageLike = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

export const SESSION_KEY = 'switchboard.chat.session';
/** Peers whose read marks are kept at most (the most recent ones). */
export const MAX_READ_MARKS = 500;

export class SessionStore {
  private current: SavedSession | null = null;

  constructor(private readonly storage: StorageLike | null) {}

  /** The saved session, if a valid one is there. */
  load(): SavedSession | null {
    let raw: string | null = null;
    try {
      raw = this.storage?.getItem(SESSION_KEY) ?? null;
    } catch {
      return null; // storage disabled: nothing is remembered
    }
    const v = parse(raw);
    this.current = v;
    return v;
  }

  /** A login as `uid`: kept, with what was saved for that same user before (a reload). */
  start(uid: string, token: string): SavedSession {
    const before = this.current ?? this.load();
    this.current = before && before.uid === uid ? { ...before, token } : { uid, token, open: null, readBy: {} };
    this.write();
    return this.current;
  }

  setOpen(key: string | null): void {
    if (!this.current || this.current.open === key) return;
    this.current.open = key;
    this.write();
  }

  rememberRead(peer: string, seq: number): void {
    const s = this.current;
    if (!s || (s.readBy[peer] ?? 0) >= seq) return;
    delete s.readBy[peer];
    s.readBy[peer] = seq;
    const peers = Object.keys(s.readBy);
    for (const p of peers.slice(0, Math.max(0, peers.length - MAX_READ_MARKS))) delete s.readBy[p];
    this.write();
  }

  /** Log out: nothing is remembered. */
  forget(): void {
    this.current = null;
    try {
      this.storage?.removeItem(SESSION_KEY);
    } catch {
      // storage disabled: there is nothing to forget
    }
  }

  private write(): void {
    try {
      if (this.current) this.storage?.setItem(SESSION_KEY, JSON.stringify(this.current));
    } catch {
      // storage full or disabled: the session just does not survive a reload
    }
  }
}

function parse(raw: string | null): SavedSession | null {
  if (!raw) return null;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  if (typeof o['uid'] !== 'string' || o['uid'] === '' || typeof o['token'] !== 'string') return null;
  const readBy: Record<string, number> = {};
  if (typeof o['readBy'] === 'object' && o['readBy'] !== null) {
    for (const [k, n] of Object.entries(o['readBy'] as Record<string, unknown>)) if (typeof n === 'number' && Number.isSafeInteger(n) && n > 0) readBy[k] = n;
  }
  return { uid: o['uid'], token: o['token'], open: typeof o['open'] === 'string' ? o['open'] : null, readBy };
}
