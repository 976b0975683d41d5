import { describe, expect, it } from 'vitest';
import { MAX_READ_MARKS, SESSION_KEY, SessionStore, type StorageLike } from '../../src/session.js';
import { titleWithUnread } from '../../src/i18n/i18n.js';

/** sessionStorage's part the page uses, in memory. */
function memoryStorage(): StorageLike & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return { data, getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v), removeItem: (k) => void data.delete(k) };
}

describe('chat page session', () => {
  it('reload - what a login saved (user, token, open conversation, read marks) is there for the next page of the tab; logging out forgets it', () => {
    const storage = memoryStorage();
    const first = new SessionStore(storage);
    expect(first.load()).toBeNull();
    expect(first.start('alice', 'tok')).toEqual({ uid: 'alice', token: 'tok', open: null, readBy: {} });
    first.setOpen('g:team');
    first.rememberRead('bob', 4);
    first.rememberRead('bob', 2); // older: kept at 4
    const next = new SessionStore(storage);
    expect(next.load()).toEqual({ uid: 'alice', token: 'tok', open: 'g:team', readBy: { bob: 4 } });
    // Logging in again as the same user keeps it; as another user starts afresh.
    expect(next.start('alice', 'tok2')).toMatchObject({ token: 'tok2', open: 'g:team', readBy: { bob: 4 } });
    expect(next.start('carol', '')).toEqual({ uid: 'carol', token: '', open: null, readBy: {} });
    next.forget();
    expect(storage.data.has(SESSION_KEY)).toBe(false);
    expect(new SessionStore(storage).load()).toBeNull();
  });

  it('bounds and failures - read marks of the most recent peers only; garbled or unavailable storage means no session, never an error', () => {
    const storage = memoryStorage();
    const s = new SessionStore(storage);
    s.start('alice', '');
    for (let i = 0; i <= MAX_READ_MARKS; i++) s.rememberRead(`p${i}`, 1);
    const kept = new SessionStore(storage).load()!.readBy;
    expect(Object.keys(kept)).toHaveLength(MAX_READ_MARKS);
    expect(kept['p0']).toBeUndefined();
    expect(kept[`p${MAX_READ_MARKS}`]).toBe(1);

    for (const raw of ['{', '[]', '{"uid":"","token":""}', '{"uid":"a"}', '{"uid":"a","token":"","readBy":{"b":-1,"c":"x"}}']) {
      storage.data.set(SESSION_KEY, raw);
      const v = new SessionStore(storage).load();
      if (v) expect(v.readBy, raw).toEqual({});
      else expect(v, raw).toBeNull();
    }
    const broken: StorageLike = {
      getItem: () => {
        throw new Error('SecurityError');
      },
      setItem: () => {
        throw new Error('QuotaExceededError');
      },
      removeItem: () => {
        throw new Error('SecurityError');
      },
    };
    const b = new SessionStore(broken);
    expect(b.load()).toBeNull();
    expect(b.start('alice', '')).toMatchObject({ uid: 'alice' });
    expect(() => b.forget()).not.toThrow();
    expect(new SessionStore(null).load()).toBeNull();
  });

  it('title - the unread count leads the tab title', () => {
    expect(titleWithUnread('Switchboard chat', 0)).toBe('Switchboard chat');
    expect(titleWithUnread('Switchboard chat', 3)).toBe('(3) Switchboard chat');
    expect(titleWithUnread('Switchboard 聊天', 12)).toBe('(12) Switchboard 聊天');
  });
});
