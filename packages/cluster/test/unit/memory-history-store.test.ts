import { describe, expect, it } from 'vitest';
import { asUserId, InvalidArgumentError } from '@switchboard/core';
import { CONVERSATION_BYTES, COUNTER_BYTES, INDEX_ENTRY_BYTES, MemoryHistoryStore, messageBytes } from '../../src/memory/memory-history-store.js';
import {
  conversationRef,
  groupConversation,
  parseConversation,
  peerConversation,
  type ConversationId,
  type HistoryMessage,
} from '../../src/history-store.js';
import { historyStoreContract } from '../contract/history-store.contract.js';

historyStoreContract('MemoryHistoryStore', async (opts) => {
  let t = Date.now();
  const store = new MemoryHistoryStore({ ...opts, now: () => t });
  return {
    store,
    twin: async () => store,
    now: () => t,
    elapse: async (ms) => void (t += ms),
    cleanup: async () => {},
  };
});

describe('MemoryHistoryStore options', () => {
  it('refuses a non-positive maxPerConversation or ttlMs', () => {
    for (const bad of [0, -1, 1.5, NaN]) expect(() => new MemoryHistoryStore({ maxPerConversation: bad }), String(bad)).toThrow(InvalidArgumentError);
    for (const bad of [0, -5, NaN]) expect(() => new MemoryHistoryStore({ ttlMs: bad }), String(bad)).toThrow(InvalidArgumentError);
  });
});

describe('conversation ids', () => {
  const u = asUserId;

  it('peerConversation - one id per pair, whichever user comes first', () => {
    expect(peerConversation(u('bob'), u('alice'))).toBe('p:5:alicebob');
    expect(peerConversation(u('alice'), u('bob'))).toBe('p:5:alicebob');
    // The length prefix keeps pairs that concatenate alike apart.
    expect(peerConversation(u('ab'), u('c'))).not.toBe(peerConversation(u('a'), u('bc')));
    expect(peerConversation(u('a'), u('a'))).toBe('p:1:aa');
  });

  it('parseConversation - round-trips peers (any characters) and groups', () => {
    const pairs = [
      ['alice', 'bob'],
      ['1:x', '2'],
      ['p:3:abc', 'g:x'],
      ['用户', '🙂'],
      ['', 'solo'],
      ['{a}', '}b{'],
    ];
    for (const [a, b] of pairs) {
      const id = peerConversation(u(a!), u(b!));
      const expected = a! < b! ? [a, b] : [b, a];
      expect(parseConversation(id), id).toEqual({ users: expected });
    }
    expect(parseConversation(groupConversation('g1'))).toEqual({ group: 'g1' });
    expect(parseConversation(groupConversation('p:1:ab'))).toEqual({ group: 'p:1:ab' });
    expect(parseConversation(groupConversation(''))).toEqual({ group: '' });
  });

  it('parseConversation - malformed or non-canonical ids are InvalidArgumentError', () => {
    const bad = ['', 'x', 'p:', 'p:1', 'p:5:ab', 'p:a:b', 'p:-1:ab', 'P:1:ab', 'p:1:ba', 'p:01:ab', 'p:2:ba', 'p:99999999999:a'];
    for (const id of bad) expect(() => parseConversation(id as ConversationId), id).toThrow(InvalidArgumentError);
  });

  it('conversationRef - the other user, the group, or an error for a stranger', () => {
    const id = peerConversation(u('alice'), u('bob'));
    expect(conversationRef(id, u('alice'))).toEqual({ peer: 'bob' });
    expect(conversationRef(id, u('bob'))).toEqual({ peer: 'alice' });
    expect(conversationRef(peerConversation(u('me'), u('me')), u('me'))).toEqual({ peer: 'me' });
    expect(conversationRef(groupConversation('team'), u('anyone'))).toEqual({ group: 'team' });
    expect(() => conversationRef(id, u('carol'))).toThrow(InvalidArgumentError);
    expect(() => conversationRef('nope' as ConversationId, u('alice'))).toThrow(InvalidArgumentError);
  });
});

describe('MemoryHistoryStore conversation index', () => {
  const alice = asUserId('alice');
  const msg = (from: string, to: string, fp: string, sentAt: number) => ({ fp, from: asUserId(from), to, dataContent: 'hi', typeu: 0, sentAt });

  it('a conversation that expires and comes back is listed once, and the user index stays bounded', async () => {
    let t = 1_000_000;
    const store = new MemoryHistoryStore({ ttlMs: 1000, now: () => t });
    const bob = asUserId('bob');
    const ab = peerConversation(alice, bob);
    for (let i = 0; i < 300; i++) {
      t += 2000; // the previous round's conversation expired: this append starts it again at seq 1
      expect((await store.append(ab, msg('alice', 'bob', `fp-${i}`, t), { indexFor: [alice, bob] })).seq).toBe(1);
    }
    const list = await store.conversations(alice, { limit: 50 });
    expect(list.map((c) => [c.id, c.lastSeq])).toEqual([[ab, 1]]);
    // Internal bound: entries of dropped conversations go once they are half a user's list.
    expect(indexOf(store).get(bob)!.list.length).toBeLessThanOrEqual(2);
  });

  it('conversations nobody touches again are dropped after their ttl by later appends, index entries with them', async () => {
    let t = 1_000_000;
    const store = new MemoryHistoryStore({ ttlMs: 1000, now: () => t });
    const hub = asUserId('hub');
    for (let i = 0; i < 500; i++) {
      t++;
      await store.append(peerConversation(hub, asUserId(`p${i}`)), msg('hub', `p${i}`, `fp-${i}`, t), { indexFor: [hub, asUserId(`p${i}`)] });
    }
    expect(store.memory.conversations).toBe(500);
    // Past the ttl, each append drops a few of the oldest (SWEEP_MAX): 100 appends to one pair sweep all 500.
    t += 2000;
    const ab = peerConversation(alice, asUserId('bob'));
    for (let i = 0; i < 100; i++) await store.append(ab, msg('alice', 'bob', `ab-${i}`, t + i), { indexFor: [alice, asUserId('bob')] });
    expect(store.memory.conversations).toBe(1);
    expect(store.memory.arena.liveBytes).toBeLessThanOrEqual(100 * messageBytes(msg('alice', 'bob', 'ab-00', t)));
    const index = indexOf(store);
    expect([...index.keys()].sort()).toEqual([alice, 'bob']);
    expect(await store.conversations(hub, { limit: 10 })).toEqual([]);
  });

  it("a hub's list holds at most twice its live conversations while they expire and come back", async () => {
    let t = 1_000_000;
    const store = new MemoryHistoryStore({ ttlMs: 10_000, now: () => t });
    const hub = asUserId('hub');
    let most = 0;
    for (let i = 0; i < 5000; i++) {
      t += 10; // about 1000 conversations live at a time
      const peer = asUserId(`p${i % 3000}`);
      await store.append(peerConversation(hub, peer), msg('hub', peer, `fp-${i}`, t), { indexFor: [hub, peer] });
      most = Math.max(most, indexOf(store).get(hub)!.list.length / store.memory.conversations);
    }
    expect(most).toBeLessThanOrEqual(2);
    const listed = await store.conversations(hub, { limit: 5000 });
    expect(listed.length).toBe(store.memory.conversations);
  });

  it('counts each sender apart, a group with many senders included', async () => {
    let t = 1_000_000;
    const store = new MemoryHistoryStore({ now: () => t });
    const g = groupConversation('team');
    for (let i = 0; i < 10; i++) {
      t++;
      await store.append(g, msg(`u${i % 5}`, 'g:team', `fp-${i}`, t), { indexFor: [] });
    }
    const seen = await store.conversations(asUserId('u3'), { limit: 5, also: [g] });
    expect(seen[0]).toMatchObject({ lastSeq: 10, unread: 8 }); // u3 sent 2 of the 10
    await store.markRead(asUserId('u4'), g, 5);
    expect((await store.conversations(asUserId('u4'), { limit: 5, also: [g] }))[0]).toMatchObject({ readSeq: 5, unread: 4 });
  });
});

describe('MemoryHistoryStore memory bound', () => {
  const u = asUserId;
  const msg = (from: string, to: string, fp: string, sentAt: number, body = 'x'.repeat(100)) => ({ fp, from: u(from), to, dataContent: body, typeu: 0, sentAt });
  const size = messageBytes(msg('a1', 'b1', 'fp-0000', 0));
  /** A peer conversation indexed for both users, without its messages. */
  const conv = CONVERSATION_BYTES + 2 * INDEX_ENTRY_BYTES;

  it('past maxBytes the conversation with the oldest last append loses its messages first, then is forgotten', async () => {
    let t = 1_000_000;
    const store = new MemoryHistoryStore({ maxBytes: conv * 5 + size * 10, now: () => t });
    const convs = Array.from({ length: 5 }, (_, i) => peerConversation(u(`a${i}`), u(`b${i}`)));
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 5; i++) {
        t++;
        await store.append(convs[i]!, msg(`a${i}`, `b${i}`, `fp-${round}${i}00`, t), { indexFor: [u(`a${i}`), u(`b${i}`)] });
      }
    }
    // 15 messages of one size, room for 10: the oldest 5 went, from the conversations appended to least recently.
    expect(store.memory.bytes).toBe(conv * 5 + size * 10);
    expect(store.memory.evicted).toBe(5);
    expect((await store.before(convs[0]!, { limit: 10 })).map((m) => m.seq)).toEqual([2, 3]);
    expect((await store.before(convs[4]!, { limit: 10 })).map((m) => m.seq)).toEqual([2, 3]);
    // A conversation appended to now moves to the newest end: the next evictions take the others.
    t++;
    await store.append(convs[0]!, msg('a0', 'b0', 'fp-3000', t), { indexFor: [u('a0'), u('b0')] });
    expect((await store.before(convs[0]!, { limit: 10 })).map((m) => m.seq)).toEqual([2, 3, 4]);
    expect((await store.before(convs[1]!, { limit: 10 })).map((m) => m.seq)).toEqual([3]);
    // Counters are not messages: seq goes on, unread counts every message.
    expect(await store.lastSeq(convs[1]!)).toBe(3);
    const [row] = await store.conversations(u('b1'), { limit: 1 });
    expect(row).toMatchObject({ id: convs[1], lastSeq: 3, unread: 3 });
    // Its last message goes next; while that is enough, its counters stay.
    t++;
    await store.append(convs[0]!, msg('a0', 'b0', 'fp-4000', t), { indexFor: [u('a0'), u('b0')] });
    expect(await store.before(convs[1]!, { limit: 10 })).toEqual([]);
    expect(await store.lastSeq(convs[1]!)).toBe(3);
    expect(store.memory).toMatchObject({ evicted: 7, forgotten: 0, conversations: 5 });
    // Then the conversation itself: forgotten as if it had expired, its index entries with it.
    t++;
    await store.append(convs[0]!, msg('a0', 'b0', 'fp-5000', t), { indexFor: [u('a0'), u('b0')] });
    expect(store.memory).toMatchObject({ evicted: 7, forgotten: 1, conversations: 4, bytes: conv * 4 + size * 11 });
    expect(await store.lastSeq(convs[1]!)).toBe(0);
    expect(await store.conversations(u('b1'), { limit: 5 })).toEqual([]);
    expect(indexOf(store).has(u('a1'))).toBe(false);
    // The others keep theirs: the next message of the forgotten pair starts again at seq 1.
    expect(await store.lastSeq(convs[2]!)).toBe(3);
    t++;
    expect((await store.append(convs[1]!, msg('a1', 'b1', 'fp-6000', t), { indexFor: [u('a1'), u('b1')] })).seq).toBe(1);
    expect(store.memory.bytes).toBeLessThanOrEqual(conv * 5 + size * 10);
  });

  it('read markers, cursors and senders past two are counted, and bounded with the rest', async () => {
    let t = 1_000_000;
    const store = new MemoryHistoryStore({ now: () => t });
    const g = groupConversation('team');
    const base = (): number => store.memory.bytes;
    const size = messageBytes(msg('m0', 'g:team', 'fp-0', t));
    await store.append(g, msg('m0', 'g:team', 'fp-0', t), { indexFor: [] });
    await store.append(g, msg('m1', 'g:team', 'fp-1', t), { indexFor: [] });
    let before = base();
    await store.append(g, msg('m2', 'g:team', 'fp-2', t), { indexFor: [] }); // a third sender: a map entry
    expect(base() - before).toBe(size + COUNTER_BYTES);
    before = base();
    await store.append(g, msg('m2', 'g:team', 'fp-3', t), { indexFor: [] });
    expect(base() - before).toBe(size);
    before = base();
    for (let i = 0; i < 10; i++) {
      await store.markRead(u(`m${i}`), g, 2);
      await store.markRead(u(`m${i}`), g, 3); // the same user again: no new entry
      await store.advanceCursor(u(`m${i}`), g, 1);
      await store.advanceCursor(u(`m${i}`), g, 4);
    }
    expect(base() - before).toBe(20 * COUNTER_BYTES);
    t++;
    await store.append(g, msg('m0', 'g:team', 'fp-4', t), { indexFor: [] });
    expect(base()).toBe(CONVERSATION_BYTES + 5 * size + 21 * COUNTER_BYTES);
  });

  it('a stream of new conversations stays within maxBytes, whatever their count', async () => {
    let t = 1_000_000;
    const maxBytes = 64 * 1024;
    const store = new MemoryHistoryStore({ maxBytes, now: () => t });
    for (let i = 0; i < 20_000; i++) {
      t++;
      const a = u(`a${i}`);
      const b = u(`b${i}`);
      const c = peerConversation(a, b);
      await store.append(c, msg(a, b, `fp-${i}`, t), { indexFor: [a, b] });
      if (i % 3 === 0) await store.markRead(b, c, 1);
      expect(store.memory.bytes).toBeLessThanOrEqual(maxBytes);
    }
    const { conversations, forgotten, evicted } = store.memory;
    expect(conversations).toBeLessThanOrEqual(Math.ceil(maxBytes / (conv + size)));
    expect(conversations + forgotten).toBe(20_000);
    expect(evicted).toBe(forgotten);
    expect(indexOf(store).size).toBe(2 * conversations);
    expect(store.memory.arena.liveBytes).toBeLessThanOrEqual(conversations * size);
    // The newest are whole.
    expect(await store.before(peerConversation(u('a19999'), u('b19999')), { limit: 5 })).toMatchObject([{ seq: 1, fp: 'fp-19999' }]);
  });

  it('the conversation just appended to keeps its newest message even when it alone is over the limit', async () => {
    const store = new MemoryHistoryStore({ maxBytes: size * 2 });
    const c = peerConversation(u('a'), u('b'));
    for (let i = 0; i < 5; i++) await store.append(c, msg('a', 'b', `fp-${i}`, Date.now(), 'y'.repeat(1000)), { indexFor: [] });
    expect((await store.before(c, { limit: 10 })).map((m) => m.seq)).toEqual([5]);
    expect((await store.append(c, msg('a', 'b', 'fp-4', Date.now()), { indexFor: [] })).duplicate).toBe(true);
  });

  it('trimming and expiry give their bytes back', async () => {
    let t = 1_000_000;
    const store = new MemoryHistoryStore({ maxPerConversation: 2, ttlMs: 1000, maxBytes: 1e9, now: () => t });
    const c = peerConversation(u('a1'), u('b1'));
    for (let i = 0; i < 5; i++) await store.append(c, msg('a1', 'b1', `fp-${i}000`, t), { indexFor: [] });
    expect(store.memory.bytes).toBe(CONVERSATION_BYTES + size * 2);
    const kept = store.memory.arena.liveBytes; // the records of the two kept messages, outside the heap
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(size * 2);
    t += 2000;
    expect(await store.lastSeq(c)).toBe(0); // expired: dropped when touched
    expect(store.memory.bytes).toBe(0);
    expect(store.memory.arena.liveBytes).toBe(0);
  });

  it('messages that stay while those around them go are moved together, and every read still finds them', async () => {
    // Every 50th message opens a conversation that gets no other, so each 1 MiB buffer keeps a few live
    // records among many trimmed ones: without moving them, every buffer written would stay.
    const t0 = 1_000_000;
    const store = new MemoryHistoryStore({ maxPerConversation: 3, maxBytes: 1e9, now: () => t0 + 20_000 });
    const body = (i: number) => `${i}:`.padEnd(400, 'b');
    const pinned: ConversationId[] = [];
    const active = Array.from({ length: 100 }, (_, i) => peerConversation(u(`a${i}`), u(`b${i}`)));
    for (let i = 0; i < 20_000; i++) {
      await store.append(active[i % 100]!, msg(`a${i % 100}`, `b${i % 100}`, `fp-${i}`, t0 + i, body(i)), { indexFor: [] });
      if (i % 50 === 0) {
        const c = peerConversation(u(`p${i}`), u(`q${i}`));
        pinned.push(c);
        await store.append(c, msg(`p${i}`, `q${i}`, `pin-${i}`, t0 + i, body(i)), { indexFor: [] });
      }
    }
    const { arena } = store.memory;
    expect(arena.chunkBytes).toBeLessThanOrEqual(2 * arena.liveBytes + 6 * 1024 * 1024); // 20 MB were written
    for (const [k, c] of pinned.entries()) {
      const [only, ...rest] = await store.before(c, { limit: 10 });
      expect(rest).toEqual([]);
      expect(only).toMatchObject({ seq: 1, fp: `pin-${k * 50}`, dataContent: body(k * 50), sentAt: t0 + k * 50 });
      expect((await store.append(c, msg('x', 'y', `pin-${k * 50}`, t0), { indexFor: [] })).duplicate).toBe(true);
    }
    for (const [k, c] of active.entries()) {
      const seqs = [19_700 + k, 19_800 + k, 19_900 + k];
      expect((await store.before(c, { limit: 10 })).map((m) => m.dataContent)).toEqual(seqs.map(body));
    }
  });

  it('random appends, reads, markers, cursors and expiry keep the counts, the activity list and the index exact', async () => {
    let t = 1_000_000;
    let seed = 7;
    const rnd = (n: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff) >>> 8) % n; // not the low bits: their period is short
    const store = new MemoryHistoryStore({ maxPerConversation: 5, ttlMs: 20_000, maxBytes: 120_000, now: () => t });
    type Conv = {
      id: string;
      bytes: number;
      size: number;
      lastSeq: number;
      slot: number;
      prev: Conv | null;
      next: Conv | null;
      indexedUsers(): string[];
      read: Map<string, unknown> | null;
      cursors: Map<string, unknown> | null;
      sentMore: Map<string, unknown> | null;
      get(seq: number): HistoryMessage | undefined;
      lo: number;
    };
    const inner = store as unknown as { convs: Map<string, Conv>; oldest: Conv | null; slots: (Conv | undefined)[]; bytes: number };
    const check = (): void => {
      let total = 0;
      const listed: Conv[] = [];
      for (let c = inner.oldest; c; c = c.next) listed.push(c);
      expect(new Set(listed)).toEqual(new Set(inner.convs.values()));
      for (const c of listed) {
        expect(inner.slots[c.slot]).toBe(c);
        let own = CONVERSATION_BYTES + INDEX_ENTRY_BYTES * c.indexedUsers().length;
        own += COUNTER_BYTES * ((c.read?.size ?? 0) + (c.cursors?.size ?? 0) + (c.sentMore?.size ?? 0));
        for (let s = c.lo; s < c.lo + c.size; s++) own += messageBytes(c.get(s)!);
        expect(c.bytes).toBe(own);
        total += own;
      }
      expect(inner.bytes).toBe(total);
      expect(total).toBeLessThanOrEqual(120_000);
      for (const [user, { list }] of indexOf(store)) {
        const live = (list as Conv[]).filter((c) => inner.slots[c.slot] === c);
        expect(live.length, user).toBeGreaterThan(0);
        expect(list.length).toBeLessThanOrEqual(2 * live.length);
        expect(new Set(live).size).toBe(live.length);
        for (const c of live) expect(c.indexedUsers()).toContain(user);
      }
      for (const c of listed) for (const user of c.indexedUsers()) expect(indexOf(store).get(user)?.list).toContain(c);
    };
    // Four busy users (r0..r3) talk to 16: their lists see conversations come and go.
    const users = Array.from({ length: 16 }, (_, i) => u(`r${i}`));
    const lastSeen = new Map<string, number>();
    for (let op = 0; op < 8000; op++) {
      t += op % 500 === 499 ? 12_000 : rnd(40); // now and then a quiet spell: conversations expire, or only late messages keep them
      const a = users[rnd(4)]!;
      const b = users[rnd(16)]!;
      if (a === b) continue;
      const c = peerConversation(a, b);
      const k = rnd(10);
      if (k < 6) {
        const body = 'm'.repeat(rnd(20) === 0 ? 2000 : 20);
        // Now and then a message written with an old time (a late offline one): listed only while fresh.
        // r15's messages are all late from the middle on: its conversations drop out of the lists.
        const sentAt = rnd(10) === 0 || (b === users[15] && op > 4000) ? t - 21_000 : t;
        const { seq, duplicate } = await store.append(c, msg(a, b, `fp-${rnd(3000)}`, sentAt, body), { indexFor: [a, b] });
        // A seq only moves forward, or starts again at 1 when the conversation was forgotten or expired.
        if (!duplicate) expect(seq === 1 || seq === (lastSeen.get(c) ?? 0) + 1).toBe(true);
        if (!duplicate) lastSeen.set(c, seq);
      } else if (k === 6) await store.markRead(a, c, rnd(8));
      else if (k === 7) await store.advanceCursor(b, c, rnd(8));
      else if (k === 8) await store.conversations(rnd(2) === 0 ? a : b, { limit: 10 });
      else expect((await store.before(c, { limit: 10 })).length).toBeLessThanOrEqual(5);
      if (op % 50 === 0) check();
    }
    check();
    expect(store.memory.forgotten).toBeGreaterThan(50);
  });

  it('defaults to a share of the heap limit', () => {
    expect(new MemoryHistoryStore().memory.maxBytes).toBeGreaterThan(64 * 1024 * 1024);
  });
});

/** The store's per-user conversation index (internal; read by the bound tests). */
function indexOf(store: MemoryHistoryStore): Map<string, { list: unknown[]; dead: number }> {
  return (store as unknown as { index: Map<string, { list: unknown[]; dead: number }> }).index;
}
