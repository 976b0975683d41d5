import { afterEach, describe, expect, it } from 'vitest';
import { asUserId, InvalidArgumentError, waitFor, type UserId } from '@switchboard/core';
import {
  conversationRef,
  groupConversation,
  peerConversation,
  type ConversationId,
  type HistoryMessage,
  type HistoryStore,
  type HistoryStoreOptions,
} from '../../src/history-store.js';

/** A fresh, isolated store built with these options, and how to dispose of it. */
export interface HistoryStoreSubject {
  store: HistoryStore;
  /** Another store over the same data (Redis: its own client on the same prefix; memory: the same object). */
  twin(): Promise<HistoryStore>;
  /** The clock the store trims by (memory: a fake one; Redis: Date.now). */
  now(): number;
  /** Let `ms` pass on that clock (memory: moves the fake clock; Redis: waits). */
  elapse(ms: number): Promise<void>;
  cleanup(): Promise<void>;
}
export type HistoryStoreFactory = (opts: HistoryStoreOptions) => Promise<HistoryStoreSubject>;

const alice = asUserId('alice');
const bob = asUserId('bob');
const carol = asUserId('carol');

/**
 * The HistoryStore contract (history-store.ts TSDoc): gap-free seqs, idempotent by fp, paging, trimming
 * by count and age, read markers and unread counts, the conversation index, cursors, concurrency.
 */
export function historyStoreContract(name: string, factory: HistoryStoreFactory): void {
  describe(`${name} (HistoryStore contract)`, () => {
    const subjects: HistoryStoreSubject[] = [];
    const twins: HistoryStore[] = [];
    let s: HistoryStoreSubject;
    const make = async (opts: HistoryStoreOptions = {}): Promise<HistoryStore> => {
      s = await factory(opts);
      subjects.push(s);
      return s.store;
    };
    const twin = async (): Promise<HistoryStore> => {
      const t = await s.twin();
      if (t !== s.store) twins.push(t);
      return t;
    };

    afterEach(async () => {
      for (const t of twins.splice(0)) await t.close();
      for (const x of subjects.splice(0)) {
        await x.store.close();
        await x.cleanup();
      }
    });

    const ab = peerConversation(alice, bob);
    /** A message from `from` with fp `fp-<i>` at the store's clock (or `sentAt`). */
    const msg = (from: UserId, i: number | string, sentAt?: number): Omit<HistoryMessage, 'seq'> => ({
      fp: `fp-${i}`,
      from,
      to: from === alice ? 'bob' : 'alice',
      dataContent: `hello ${i}`,
      typeu: -1,
      sentAt: sentAt ?? s.now(),
    });
    const both = { indexFor: [alice, bob] };
    const seqs = (ms: HistoryMessage[]): number[] => ms.map((m) => m.seq);
    const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
    /** Append `n` messages from `from` (fps `<tag>-0` …), one after the other. */
    const appendN = async (store: HistoryStore, conv: ConversationId, from: UserId, n: number, tag = 'm'): Promise<void> => {
      for (let i = 0; i < n; i++) await store.append(conv, msg(from, `${tag}-${i}`), both);
    };
    const unread = async (store: HistoryStore, user: UserId, conv: ConversationId): Promise<number | undefined> =>
      (await store.conversations(user, { limit: 100, also: [conv] })).find((c) => c.id === conv)?.unread;

    it('empty conversation - lastSeq 0, no messages, markers and cursors 0, not listed', async () => {
      const store = await make();
      expect(await store.lastSeq(ab)).toBe(0);
      expect(await store.before(ab, { limit: 10 })).toEqual([]);
      expect(await store.after(ab, { after: 0, limit: 10 })).toEqual([]);
      expect(await store.markRead(alice, ab, 5)).toBe(0);
      expect(await store.cursor(alice, ab)).toBe(0);
      await store.advanceCursor(alice, ab, 5);
      expect(await store.cursor(alice, ab)).toBe(0);
      expect(await store.conversations(alice, { limit: 10 })).toEqual([]);
    });

    it('append - seqs 1, 2, 3 without gaps; every field kept', async () => {
      const store = await make();
      const m = { fp: 'fp-"\\\n🙂\ud800', from: alice, to: 'bob', dataContent: '{"json":"inside"} 中文 \u0000 🙂 \udfff', typeu: 7, sentAt: s.now() - 5 };
      expect(await store.append(ab, m, both)).toEqual({ seq: 1, duplicate: false, sentAt: m.sentAt });
      expect((await store.append(ab, msg(bob, 2), both)).seq).toBe(2);
      expect((await store.append(ab, msg(alice, 3), both)).seq).toBe(3);
      expect(await store.lastSeq(ab)).toBe(3);
      const all = await store.before(ab, { limit: 10 });
      expect(seqs(all)).toEqual([1, 2, 3]);
      expect(all[0]).toEqual({ seq: 1, ...m });
      expect(all[1]).toEqual({ seq: 2, ...msg(bob, 2, all[1]?.sentAt) });
      expect(await store.after(ab, { after: 0, limit: 1 })).toEqual([{ seq: 1, ...m }]);
    });

    it('appendNow (where a store has it) and append in turn - one sequence, one fp index; a bad argument throws at once', async () => {
      const store = await make();
      // A store that waits on a server has only append, which then takes both turns.
      const now = store.appendNow ? store.appendNow.bind(store) : store.append.bind(store);
      const t0 = s.now();
      expect(await now(ab, msg(alice, 1, t0), both)).toEqual({ seq: 1, duplicate: false, sentAt: t0 });
      expect(await store.append(ab, msg(bob, 2, t0 + 1), both)).toEqual({ seq: 2, duplicate: false, sentAt: t0 + 1 });
      expect(await now(ab, msg(alice, 3, t0 + 2), both)).toEqual({ seq: 3, duplicate: false, sentAt: t0 + 2 });
      expect(await now(ab, msg(alice, 1, t0 + 3), both)).toEqual({ seq: 1, duplicate: true, sentAt: t0 });
      expect(await store.append(ab, msg(alice, 3, t0 + 4), both)).toEqual({ seq: 3, duplicate: true, sentAt: t0 + 2 });
      expect(seqs(await store.before(ab, { limit: 10 }))).toEqual([1, 2, 3]);
      expect((await store.conversations(bob, { limit: 10 })).map((c) => [c.id, c.unread])).toEqual([[ab, 2]]);
      if (store.appendNow) expect(() => store.appendNow!(ab, { ...msg(alice, 4), fp: '' }, both)).toThrow(InvalidArgumentError);
      await expect(store.append(ab, { ...msg(alice, 4), fp: '' }, both)).rejects.toThrow(InvalidArgumentError);
      expect(await store.lastSeq(ab)).toBe(3);
    });

    it('append - idempotent by fp: a resend keeps the first seq and sentAt and changes no counter', async () => {
      const store = await make();
      const t0 = s.now();
      await store.append(ab, msg(alice, 1, t0), both);
      await store.append(ab, msg(bob, 2, t0 + 1), both);
      const again = await store.append(ab, { ...msg(alice, 1, t0 + 50), dataContent: 'changed' }, both);
      expect(again).toEqual({ seq: 1, duplicate: true, sentAt: t0 });
      expect(await store.lastSeq(ab)).toBe(2);
      const all = await store.before(ab, { limit: 10 });
      expect(all.map((m) => m.dataContent)).toEqual(['hello 1', 'hello 2']);
      // Counters unchanged: bob has 1 unread (alice's one), alice 1 (bob's one).
      expect(await unread(store, bob, ab)).toBe(1);
      expect(await unread(store, alice, ab)).toBe(1);
      // The same fp in another conversation is another message.
      expect(await store.append(peerConversation(alice, carol), msg(alice, 1), { indexFor: [] })).toMatchObject({ seq: 1, duplicate: false });
    });

    it('append - concurrent resends of one fp get one seq', async () => {
      const store = await make();
      const results = await Promise.all(Array.from({ length: 10 }, () => store.append(ab, msg(alice, 'same'), both)));
      expect(new Set(results.map((r) => r.seq))).toEqual(new Set([1]));
      expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
      expect(await store.lastSeq(ab)).toBe(1);
    });

    it('before - newest `limit` below the bound, oldest first; default bound is all', async () => {
      const store = await make();
      await appendN(store, ab, alice, 10);
      expect(seqs(await store.before(ab, { limit: 3 }))).toEqual([8, 9, 10]);
      expect(seqs(await store.before(ab, { before: 5, limit: 3 }))).toEqual([2, 3, 4]);
      expect(seqs(await store.before(ab, { before: 3, limit: 10 }))).toEqual([1, 2]);
      expect(seqs(await store.before(ab, { before: 1, limit: 10 }))).toEqual([]);
      expect(seqs(await store.before(ab, { before: 0, limit: 10 }))).toEqual([]);
      expect(seqs(await store.before(ab, { before: 1000, limit: 2 }))).toEqual([9, 10]);
      expect(seqs(await store.before(ab, { limit: 0 }))).toEqual([]);
      // Paging backwards visits every message once.
      const seen: number[] = [];
      let page = await store.before(ab, { limit: 4 });
      while (page.length > 0) {
        seen.unshift(...seqs(page));
        page = await store.before(ab, { before: page[0]!.seq, limit: 4 });
      }
      expect(seen).toEqual(range(1, 10));
    });

    it('after - oldest `limit` above the bound, oldest first', async () => {
      const store = await make();
      await appendN(store, ab, bob, 10);
      expect(seqs(await store.after(ab, { after: 0, limit: 3 }))).toEqual([1, 2, 3]);
      expect(seqs(await store.after(ab, { after: 7, limit: 10 }))).toEqual([8, 9, 10]);
      expect(seqs(await store.after(ab, { after: 10, limit: 10 }))).toEqual([]);
      expect(seqs(await store.after(ab, { after: 99, limit: 10 }))).toEqual([]);
      expect(seqs(await store.after(ab, { after: 3, limit: 0 }))).toEqual([]);
    });

    it('limits - a huge limit is read as maxPerConversation (no absurd allocation)', async () => {
      const store = await make({ maxPerConversation: 20 });
      await appendN(store, ab, alice, 25);
      for (const limit of [1e9, Number.MAX_SAFE_INTEGER, Infinity, 2.9]) {
        const expected = limit === 2.9 ? [24, 25] : range(6, 25);
        expect(seqs(await store.before(ab, { limit })), String(limit)).toEqual(expected);
      }
      expect(seqs(await store.after(ab, { after: 0, limit: Infinity }))).toEqual(range(6, 25));
      expect(seqs(await store.before(ab, { before: Number.MAX_SAFE_INTEGER, limit: 1 }))).toEqual([25]);
      expect(await store.markRead(alice, ab, Number.MAX_SAFE_INTEGER)).toBe(25);
      expect(await store.conversations(alice, { limit: Infinity })).toHaveLength(1);
    });

    it('arguments - bad bounds, limits, seqs, fps and sentAt are InvalidArgumentError', async () => {
      const store = await make();
      await store.append(ab, msg(alice, 1), both);
      const bad = [-1, NaN, 1.5, Infinity, -Infinity];
      for (const v of bad) {
        await expect(store.before(ab, { before: v, limit: 1 }), `before ${v}`).rejects.toThrow(InvalidArgumentError);
        await expect(store.after(ab, { after: v, limit: 1 }), `after ${v}`).rejects.toThrow(InvalidArgumentError);
        await expect(store.markRead(alice, ab, v), `markRead ${v}`).rejects.toThrow(InvalidArgumentError);
        await expect(store.advanceCursor(alice, ab, v), `advanceCursor ${v}`).rejects.toThrow(InvalidArgumentError);
      }
      for (const limit of [-1, NaN, -Infinity]) {
        await expect(store.before(ab, { limit }), `limit ${limit}`).rejects.toThrow(InvalidArgumentError);
        await expect(store.after(ab, { after: 0, limit }), `limit ${limit}`).rejects.toThrow(InvalidArgumentError);
        await expect(store.conversations(alice, { limit }), `limit ${limit}`).rejects.toThrow(InvalidArgumentError);
      }
      await expect(store.append(ab, { ...msg(alice, 2), fp: '' }, both)).rejects.toThrow(InvalidArgumentError);
      for (const sentAt of [-1, NaN, 1.5]) await expect(store.append(ab, { ...msg(alice, 2), sentAt }, both)).rejects.toThrow(InvalidArgumentError);
      await expect(store.append(ab, { ...msg(alice, 2), typeu: NaN }, both)).rejects.toThrow(InvalidArgumentError);
      expect(await store.lastSeq(ab)).toBe(1);
    });

    it('trim by count - the oldest go, lastSeq stays; a trimmed fp appended again is a new message', async () => {
      const store = await make({ maxPerConversation: 5 });
      await appendN(store, ab, alice, 8);
      expect(await store.lastSeq(ab)).toBe(8);
      expect(seqs(await store.before(ab, { limit: 100 }))).toEqual([4, 5, 6, 7, 8]);
      expect(seqs(await store.after(ab, { after: 0, limit: 2 }))).toEqual([4, 5]);
      expect(seqs(await store.before(ab, { before: 5, limit: 100 }))).toEqual([4]);
      // fp m-7 (seq 8) is kept: still a duplicate. fp m-0 (seq 1) was trimmed with its message.
      expect(await store.append(ab, msg(alice, 'm-7'), both)).toMatchObject({ seq: 8, duplicate: true });
      expect(await store.append(ab, msg(alice, 'm-0'), both)).toMatchObject({ seq: 9, duplicate: false });
      expect(seqs(await store.before(ab, { limit: 100 }))).toEqual([5, 6, 7, 8, 9]);
      // Unread counts do not change with trimming: bob never read, alice sent all 9.
      expect(await unread(store, bob, ab)).toBe(9);
      expect(await unread(store, alice, ab)).toBe(0);
    });

    it('trim by age - a message older than ttl is gone, lastSeq stays, then the idle conversation disappears', async () => {
      const ttlMs = 1_500;
      const store = await make({ ttlMs });
      await store.append(ab, msg(alice, 1), both);
      await s.elapse(900);
      await store.append(ab, msg(bob, 2), both);
      await s.elapse(700); // message 1 is >= 1600 ms old, message 2 >= 700 ms (800 ms of margin for a slow machine)
      await waitFor(async () => seqs(await store.before(ab, { limit: 10 })).join() === '2', { timeoutMs: 2_000, what: 'message 1 to expire' });
      expect(seqs(await store.after(ab, { after: 0, limit: 1 }))).toEqual([2]);
      expect(await store.lastSeq(ab)).toBe(2);
      const [row] = await store.conversations(alice, { limit: 10 });
      expect(row).toMatchObject({ id: ab, lastSeq: 2, unread: 1, last: { seq: 2, fp: 'fp-2' } });
      // Its fp went with it: appended again, it is a new message.
      expect(await store.append(ab, msg(alice, 1), both)).toMatchObject({ seq: 3, duplicate: false });
      await store.markRead(bob, ab, 3);
      await store.advanceCursor(bob, ab, 3);
      await s.elapse(ttlMs);
      await waitFor(async () => (await store.lastSeq(ab)) === 0, { timeoutMs: 3_000, what: 'the conversation to disappear' });
      expect(await store.before(ab, { limit: 10 })).toEqual([]);
      expect(await store.conversations(alice, { limit: 10 })).toEqual([]);
      expect(await store.conversations(alice, { limit: 10, also: [ab] })).toEqual([{ id: ab, last: null, lastSeq: 0, readSeq: 0, unread: 0 }]);
      expect(await store.cursor(bob, ab)).toBe(0);
      // A new append starts the conversation over.
      expect(await store.append(ab, msg(alice, 1), both)).toMatchObject({ seq: 1, duplicate: false });
      expect(await unread(store, bob, ab)).toBe(1);
    });

    it('read markers - forward only, clamped to lastSeq, per user', async () => {
      const store = await make();
      await appendN(store, ab, alice, 3);
      expect(await store.markRead(bob, ab, 2)).toBe(2);
      expect(await store.markRead(bob, ab, 1)).toBe(2);
      expect(await store.markRead(bob, ab, 0)).toBe(2);
      expect(await store.markRead(bob, ab, 50)).toBe(3);
      expect(await store.markRead(alice, ab, 1)).toBe(1);
      await store.append(ab, msg(alice, 'x'), both);
      expect(await store.markRead(bob, ab, 3)).toBe(3);
      const rows = await store.conversations(bob, { limit: 10 });
      expect(rows[0]).toMatchObject({ id: ab, lastSeq: 4, readSeq: 3, unread: 1 });
      expect((await store.conversations(alice, { limit: 10 }))[0]).toMatchObject({ readSeq: 1, unread: 0 });
      // Concurrent markers end at the highest.
      await Promise.all([4, 1, 3, 2].map((n) => store.markRead(carol, ab, n)));
      expect(await store.markRead(carol, ab, 0)).toBe(4);
    });

    it('unread - own messages never count; interleaved sends and markers', async () => {
      const store = await make();
      const send = (from: UserId, i: number) => store.append(ab, msg(from, i), both);
      await send(alice, 1); // 1 a
      await send(bob, 2); // 2 b
      await send(alice, 3); // 3 a
      expect([await unread(store, alice, ab), await unread(store, bob, ab)]).toEqual([1, 2]);
      await store.markRead(bob, ab, 1);
      expect(await unread(store, bob, ab)).toBe(1);
      await send(bob, 4); // 4 b
      await send(bob, 5); // 5 b
      await send(alice, 6); // 6 a
      expect(await unread(store, bob, ab)).toBe(2); // 3, 6
      expect(await unread(store, alice, ab)).toBe(3); // 2, 4, 5
      await store.markRead(alice, ab, 4);
      expect(await unread(store, alice, ab)).toBe(1); // 5
      await store.markRead(bob, ab, 5);
      expect(await unread(store, bob, ab)).toBe(1); // 6
      await store.markRead(bob, ab, 6);
      expect(await unread(store, bob, ab)).toBe(0);
      await send(bob, 7);
      expect(await unread(store, bob, ab)).toBe(0);
      expect(await unread(store, alice, ab)).toBe(2); // 5, 7
      // A user who only reads (a group member who never sent): everything after the marker.
      expect(await unread(store, carol, ab)).toBe(7);
      await store.markRead(carol, ab, 2);
      expect(await unread(store, carol, ab)).toBe(5);
    });

    it('unread - a marker behind trimmed own messages over-counts them (documented approximation)', async () => {
      const store = await make({ maxPerConversation: 3 });
      const send = (from: UserId, i: number) => store.append(ab, msg(from, i), both);
      await send(alice, 1);
      await send(bob, 2); // bob's own, trimmed below
      await send(alice, 3);
      await send(alice, 4);
      await send(alice, 5);
      expect(seqs(await store.before(ab, { limit: 10 }))).toEqual([3, 4, 5]);
      expect(await unread(store, bob, ab)).toBe(4); // exact without a marker: 1, 3, 4, 5
      await store.markRead(bob, ab, 1);
      // Exact would be 3 (3, 4, 5); seq 2 (bob's, trimmed) is not known to be his any more.
      expect(await unread(store, bob, ab)).toBe(4);
      await store.markRead(bob, ab, 3);
      expect(await unread(store, bob, ab)).toBe(2); // exact again once the marker is inside the kept window
    });

    it('unread - exact for readers who keep up, however markers and sends interleave (trimming on)', async () => {
      const store = await make({ maxPerConversation: 20 });
      const g = groupConversation('model');
      const users = [alice, bob, carol];
      const senders: UserId[] = []; // index seq - 1
      const markers = new Map<UserId, number>(users.map((u) => [u, 0]));
      let seed = 7;
      const rand = (n: number): number => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed % n;
      };
      for (let i = 0; i < 120; i++) {
        const from = users[rand(3)]!;
        await store.append(g, { ...msg(from, i), from }, { indexFor: [] });
        senders.push(from);
        const reader = users[rand(3)]!;
        const last = senders.length;
        // Forward, by small or large steps, but never to a seq already out of the 20 kept.
        const floor = Math.max(markers.get(reader)!, last - 19);
        const to = floor + rand(last - floor + 1);
        markers.set(reader, await store.markRead(reader, g, to));
        expect(markers.get(reader)).toBe(Math.max(to, markers.get(reader)!));
        if (i % 10 === 9) {
          for (const u of users) {
            const expected = senders.filter((f, k) => k + 1 > markers.get(u)! && f !== u).length;
            expect(await unread(store, u, g), `${u} after ${last}`).toBe(expected);
          }
        }
      }
    });

    it('conversations - newest activity first, limit, summaries, ids resolve through conversationRef', async () => {
      const store = await make();
      const t0 = s.now();
      const ac = peerConversation(alice, carol);
      const bc = peerConversation(bob, carol);
      await store.append(ab, msg(alice, 1, t0), both);
      await store.append(ac, msg(carol, 2, t0 + 10), { indexFor: [alice, carol] });
      await store.append(bc, msg(bob, 3, t0 + 20), { indexFor: [bob, carol] });
      await store.append(ab, msg(bob, 4, t0 + 30), both);
      const rows = await store.conversations(alice, { limit: 10 });
      expect(rows.map((r) => r.id)).toEqual([ab, ac]);
      expect(rows.map((r) => conversationRef(r.id, alice))).toEqual([{ peer: bob }, { peer: carol }]);
      expect(rows[0]).toEqual({ id: ab, last: { seq: 2, ...msg(bob, 4, t0 + 30) }, lastSeq: 2, readSeq: 0, unread: 1 });
      expect(rows[1]).toMatchObject({ id: ac, lastSeq: 1, unread: 1, last: { fp: 'fp-2', from: carol } });
      expect((await store.conversations(carol, { limit: 10 })).map((r) => conversationRef(r.id, carol))).toEqual([{ peer: bob }, { peer: alice }]);
      expect((await store.conversations(carol, { limit: 1 })).map((r) => r.id)).toEqual([bc]);
      expect(await store.conversations(carol, { limit: 0 })).toEqual([]);
      // A duplicate does not move a conversation up (its activity is the first write's sentAt).
      await store.append(ac, msg(carol, 2, t0 + 100), { indexFor: [alice, carol] });
      expect((await store.conversations(alice, { limit: 10 })).map((r) => r.id)).toEqual([ab, ac]);
      await store.append(ac, msg(alice, 5, t0 + 40), { indexFor: [alice, carol] });
      expect((await store.conversations(alice, { limit: 1 })).map((r) => r.id)).toEqual([ac]);
    });

    it('conversations - one written with an already stale time is left out, and listed again after a fresh message', async () => {
      const ttlMs = 60_000;
      const store = await make({ ttlMs });
      await store.append(ab, msg(alice, 1, s.now() - ttlMs - 1_000), both);
      expect(await store.conversations(alice, { limit: 10 })).toEqual([]);
      await store.append(ab, msg(bob, 2, s.now()), both);
      expect((await store.conversations(alice, { limit: 10 })).map((r) => r.id)).toEqual([ab]);
      expect((await store.conversations(bob, { limit: 10 })).map((r) => r.id)).toEqual([ab]);
    });

    it('conversations - `also` joins in by its last message; empty ones last; no duplicates', async () => {
      const store = await make();
      const t0 = s.now();
      const g1 = groupConversation('g1');
      const g2 = groupConversation('g2');
      const gEmpty = groupConversation('empty');
      const gOther = groupConversation('not-mine');
      await store.append(g1, { ...msg(bob, 1, t0 + 5), to: 'g:g1' }, { indexFor: [] });
      await store.append(ab, msg(bob, 2, t0 + 10), both);
      await store.append(g2, { ...msg(carol, 3, t0 + 20), to: 'g:g2' }, { indexFor: [] });
      await store.append(gOther, msg(carol, 4, t0 + 30), { indexFor: [] });
      // Groups without `also` are not listed.
      expect((await store.conversations(alice, { limit: 10 })).map((r) => r.id)).toEqual([ab]);
      const rows = await store.conversations(alice, { limit: 10, also: [gEmpty, g1, g2, ab, g1] });
      expect(rows.map((r) => r.id)).toEqual([g2, ab, g1, gEmpty]);
      expect(rows.map((r) => conversationRef(r.id, alice))).toEqual([{ group: 'g2' }, { peer: bob }, { group: 'g1' }, { group: 'empty' }]);
      expect(rows[3]).toEqual({ id: gEmpty, last: null, lastSeq: 0, readSeq: 0, unread: 0 });
      expect(rows[0]).toMatchObject({ lastSeq: 1, unread: 1, last: { to: 'g:g2' } });
      expect((await store.conversations(alice, { limit: 2, also: [gEmpty, g1, g2] })).map((r) => r.id)).toEqual([g2, ab]);
      await store.markRead(alice, g2, 1);
      expect((await store.conversations(alice, { limit: 1, also: [g2] }))[0]).toMatchObject({ id: g2, readSeq: 1, unread: 0 });
    });

    it('cursors - forward only, clamped to lastSeq, per user and conversation', async () => {
      const store = await make();
      const g = groupConversation('g');
      await appendN(store, g, alice, 5);
      await store.advanceCursor(bob, g, 3);
      expect(await store.cursor(bob, g)).toBe(3);
      await store.advanceCursor(bob, g, 2);
      expect(await store.cursor(bob, g)).toBe(3);
      await store.advanceCursor(bob, g, 99);
      expect(await store.cursor(bob, g)).toBe(5);
      expect(await store.cursor(carol, g)).toBe(0);
      expect(await store.cursor(bob, ab)).toBe(0);
      await Promise.all([1, 4, 2].map((n) => store.advanceCursor(carol, g, n)));
      expect(await store.cursor(carol, g)).toBe(4);
      // The cursor is not the read marker.
      expect(await store.markRead(bob, g, 0)).toBe(0);
    });

    it('concurrency - 200 appends at once from two stores get the seqs 1..200 exactly once', async () => {
      const store = await make();
      const other = await twin();
      const g = groupConversation('busy');
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? store : other).append(g, msg(i % 3 === 0 ? alice : bob, i), { indexFor: [] })),
      );
      expect(results.map((r) => r.seq).sort((a, b) => a - b)).toEqual(range(1, 200));
      expect(results.every((r) => !r.duplicate)).toBe(true);
      expect(await other.lastSeq(g)).toBe(200);
      const all = await store.after(g, { after: 0, limit: 500 });
      expect(seqs(all)).toEqual(range(1, 200));
      // Each seq holds the message its append was told about.
      const bySeq = new Map(all.map((m) => [m.seq, m.fp]));
      results.forEach((r, i) => expect(bySeq.get(r.seq)).toBe(`fp-${i}`));
      // Sent counters add up: 67 from alice (i % 3 === 0), so bob has 67 unread and alice 133.
      expect(await unread(store, bob, g)).toBe(67);
      expect(await unread(other, alice, g)).toBe(133);
    });

    it('ids - conversation and user ids with braces, colons, quotes and unicode', async () => {
      const store = await make();
      const odd = ['a}b', '{c', 'd:e', '用户', 'x"y\\z', 'emoji 🙂', '}{', ':'].map(asUserId);
      const convs: ConversationId[] = [];
      for (let i = 0; i + 1 < odd.length; i += 2) convs.push(peerConversation(odd[i]!, odd[i + 1]!));
      convs.push(groupConversation('{g}:1'), groupConversation('}'), groupConversation('群:{组}'));
      for (const [i, c] of convs.entries()) {
        const [from, to] = [odd[(2 * i) % odd.length]!, odd[(2 * i + 1) % odd.length]!];
        const indexFor = c.startsWith('p:') ? [from, to] : [];
        for (let k = 0; k <= i; k++) await store.append(c, { ...msg(from, `${c}-${k}`), from }, { indexFor });
      }
      for (const [i, c] of convs.entries()) {
        expect(await store.lastSeq(c), c).toBe(i + 1);
        expect((await store.before(c, { limit: 100 })).map((m) => m.fp)).toEqual(Array.from({ length: i + 1 }, (_, k) => `fp-${c}-${k}`));
      }
      const [u0, u1] = [odd[0]!, odd[1]!];
      const rows = await store.conversations(u1, { limit: 10 });
      expect(rows.map((r) => r.id)).toEqual([convs[0]]);
      expect(conversationRef(rows[0]!.id, u1)).toEqual({ peer: u0 });
      expect(rows[0]).toMatchObject({ lastSeq: 1, unread: 1 });
      expect(await store.markRead(u1, convs[0]!, 1)).toBe(1);
      expect((await store.conversations(u0, { limit: 10 }))[0]).toMatchObject({ unread: 0 });
      await store.advanceCursor(u1, convs[0]!, 1);
      expect(await store.cursor(u1, convs[0]!)).toBe(1);
    });

    it('conversations are independent', async () => {
      const store = await make();
      const ac = peerConversation(alice, carol);
      await appendN(store, ab, alice, 3);
      await store.append(ac, msg(alice, 'm-0'), { indexFor: [alice, carol] });
      expect(await store.lastSeq(ac)).toBe(1);
      await store.markRead(bob, ab, 3);
      expect(await store.markRead(bob, ac, 1)).toBe(1);
      expect(await store.lastSeq(ab)).toBe(3);
    });
  });
}
