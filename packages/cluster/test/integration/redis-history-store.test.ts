import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { asUserId, delay } from '@switchboard/core';
import { cleanupRedisPrefix, resolveRedisUrl, uniquePrefix } from '@switchboard/testkit';
import { closeRedis, connectRedis, RedisHistoryStore, redisKeys } from '../../src/redis/index.js';
import { installScripts } from '../../src/redis/scripts.js';
import { APPEND_BATCH_MAX, asciiJson } from '../../src/redis/redis-history-store.js';
import { groupConversation, peerConversation } from '../../src/history-store.js';
import { historyStoreContract } from '../contract/history-store.contract.js';

let url: string;
let redis: Redis;

beforeAll(async () => {
  url = await resolveRedisUrl();
  redis = connectRedis({ url, name: 'test-history-store' });
});
afterAll(async () => {
  await closeRedis(redis);
});

historyStoreContract('RedisHistoryStore', async (opts) => {
  const prefix = uniquePrefix('history-store');
  return {
    store: new RedisHistoryStore({ redis, prefix, ...opts }),
    // Its own connection: the two stores' scripts really interleave in Redis.
    twin: async () => new RedisHistoryStore({ url, prefix, ...opts }),
    now: () => Date.now(),
    elapse: (ms) => delay(ms),
    cleanup: async () => void (await cleanupRedisPrefix(url, prefix)),
  };
});

describe('RedisHistoryStore storage', () => {
  const alice = asUserId('alice');
  const bob = asUserId('bob');
  const ab = peerConversation(alice, bob);
  const msg = (i: number, sentAt = Date.now()) => ({ fp: `fp-${i}`, from: alice, to: 'bob', dataContent: `m${i}`, typeu: 0, sentAt });

  const withStore = async (opts: { maxPerConversation?: number; ttlMs?: number }, fn: (store: RedisHistoryStore, prefix: string) => Promise<void>) => {
    const prefix = uniquePrefix('history-storage');
    const store = new RedisHistoryStore({ redis, prefix, ...opts });
    try {
      await fn(store, prefix);
    } finally {
      await store.close();
      await cleanupRedisPrefix(url, prefix);
    }
  };

  /** Count the calls of the append scripts on the store's client (Redis still runs every one). */
  const countCalls = (names: readonly string[]) => {
    installScripts(redis);
    const r = redis as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    const real = Object.fromEntries(names.map((n) => [n, r[n]!]));
    const calls: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
    for (const n of names) {
      r[n] = function (this: unknown, ...a: unknown[]) {
        if (this === redis) calls[n]!++; // (auto-pipelining may call it again on its pipeline)
        return real[n]!.apply(this, a);
      };
    }
    return { calls, restore: () => Object.assign(r, real) };
  };

  it('batching - the indexed appends of one turn share script calls (APPEND_BATCH_MAX each), in order, each with its own answer', async () => {
    await withStore({ maxPerConversation: 50 }, async (store) => {
      const c = countCalls(['sbHistoryAppendBatch', 'sbHistoryAppendIndexed']);
      try {
        const carol = asUserId('carol');
        const ac = peerConversation(alice, carol);
        const n = APPEND_BATCH_MAX + 8;
        // One turn: n messages alice -> bob, a resend of the first among them, and one to carol.
        const results = await Promise.all([
          ...Array.from({ length: n }, (_, i) => store.append(ab, msg(i), { indexFor: [alice, bob] })),
          store.append(ab, msg(0), { indexFor: [alice, bob] }),
          store.append(ac, { ...msg(1000), to: 'carol' }, { indexFor: [alice, carol] }),
        ]);
        expect(c.calls).toEqual({ sbHistoryAppendBatch: 2, sbHistoryAppendIndexed: 0 });
        expect(results.slice(0, n).map((x) => [x.seq, x.duplicate])).toEqual(Array.from({ length: n }, (_, i) => [i + 1, false]));
        expect(results[n]).toMatchObject({ seq: 1, duplicate: true });
        expect(results[n + 1]).toMatchObject({ seq: 1, duplicate: false });
        expect((await store.before(ab, { limit: 100 })).map((m) => m.fp)).toEqual(Array.from({ length: n }, (_, i) => `fp-${i}`));
        expect((await store.conversations(carol, { limit: 5 })).map((x) => x.id)).toEqual([ac]);
        expect((await store.conversations(bob, { limit: 5 })).map((x) => x.id)).toEqual([ab]);
        // A lone append in its turn goes as a single-message call.
        expect(await store.append(ab, msg(n), { indexFor: [alice, bob] })).toMatchObject({ seq: n + 1, duplicate: false });
        expect(c.calls).toEqual({ sbHistoryAppendBatch: 2, sbHistoryAppendIndexed: 1 });
      } finally {
        c.restore();
      }
    });
  });

  it('batching - a batch that fails refuses each of its messages; their resends get one seq each, first writes kept', async () => {
    await withStore({}, async (store, prefix) => {
      const carol = asUserId('carol');
      const broken = peerConversation(bob, carol);
      // A conversation whose counters key holds the wrong type: its append fails inside the script.
      await redis.set(redisKeys(prefix).historyMeta(broken), 'not a hash');
      const settled = await Promise.allSettled([
        store.append(ab, msg(1), { indexFor: [alice, bob] }),
        store.append(broken, { ...msg(2), from: bob, to: 'carol' }, { indexFor: [bob, carol] }),
        store.append(ab, msg(3), { indexFor: [alice, bob] }),
      ]);
      expect(settled.map((x) => x.status)).toEqual(['rejected', 'rejected', 'rejected']);
      expect((settled[0] as PromiseRejectedResult).reason).toMatchObject({ name: 'UnavailableError' });
      // Resent: the message written before the failure is a duplicate, the one after it is new.
      expect(await store.append(ab, msg(1), { indexFor: [alice, bob] })).toMatchObject({ seq: 1, duplicate: true });
      expect(await store.append(ab, msg(3), { indexFor: [alice, bob] })).toMatchObject({ seq: 2, duplicate: false });
      expect((await store.before(ab, { limit: 10 })).map((m) => m.fp)).toEqual(['fp-1', 'fp-3']);
    });
  });

  it('asciiJson - printable ASCII without quote or backslash, and JSON.parse gives the string back', () => {
    for (const s of ['plain', 'a"b\\c', '中文🙂', '\n\t\u0000', '\ud800 lone', '']) {
      const tok = asciiJson(s);
      expect(tok).toMatch(/^"[\x20\x21\x23-\x7e]*"$/);
      expect(JSON.parse(tok)).toBe(s);
    }
  });

  it('keys - one hash slot per conversation, every key with a ttl, trimmed entries and fps reclaimed', async () => {
    await withStore({ maxPerConversation: 3, ttlMs: 60_000 }, async (store, prefix) => {
      const k = redisKeys(prefix);
      for (let i = 1; i <= 5; i++) await store.append(ab, msg(i), { indexFor: [alice, bob] });
      expect(await redis.hlen(k.historyMessages(ab))).toBe(3);
      expect(await redis.hgetall(k.historyFps(ab))).toEqual({ '"fp-3"': '3', '"fp-4"': '4', '"fp-5"': '5' });
      // lo/lt: the oldest stored seq and its sentAt (the trimming bound).
      const { lt, ...meta } = await redis.hgetall(k.historyMeta(ab));
      expect(meta).toEqual({ seq: '5', 'n:alice': '5', lo: '3' });
      expect(Number(lt)).toBe((await store.before(ab, { limit: 1, before: 4 }))[0]?.sentAt);
      for (const key of [k.historyMeta(ab), k.historyMessages(ab), k.historyFps(ab), k.historyIndex(alice), k.historyIndex(bob)]) {
        const ttl = await redis.pttl(key);
        expect(ttl, key).toBeGreaterThan(50_000);
        expect(ttl, key).toBeLessThanOrEqual(60_000);
      }
      const slots = await Promise.all([k.historyMeta(ab), k.historyMessages(ab), k.historyFps(ab)].map((key) => redis.call('CLUSTER', 'KEYSLOT', key).catch(() => null)));
      if (slots[0] !== null) expect(new Set(slots).size).toBe(1);
    });
  });

  it('markRead and advanceCursor on an absent conversation write nothing (no key without an expiry)', async () => {
    await withStore({}, async (store, prefix) => {
      const g = groupConversation('nobody-wrote');
      expect(await store.markRead(alice, g, 5)).toBe(0);
      await store.advanceCursor(alice, g, 5);
      expect(await redis.exists(redisKeys(prefix).historyMeta(g))).toBe(0);
    });
  });

  it('trimming is bounded per append: a backlog (maxPerConversation lowered) goes over several appends, reads never show it', async () => {
    await withStore({ maxPerConversation: 1000 }, async (store, prefix) => {
      const k = redisKeys(prefix);
      for (let i = 1; i <= 250; i++) await store.append(ab, msg(i), { indexFor: [] });
      const lowered = new RedisHistoryStore({ redis, prefix, maxPerConversation: 10 });
      const seqs = async () => (await lowered.before(ab, { limit: 1000 })).map((m) => m.seq);
      expect(await seqs()).toEqual(Array.from({ length: 10 }, (_, i) => 241 + i));
      expect((await lowered.after(ab, { after: 0, limit: 3 })).map((m) => m.seq)).toEqual([241, 242, 243]);
      await lowered.append(ab, msg(251), { indexFor: [] });
      expect(await redis.hlen(k.historyMessages(ab))).toBe(251 - 100);
      expect(await seqs()).toEqual(Array.from({ length: 10 }, (_, i) => 242 + i));
      await lowered.append(ab, msg(252), { indexFor: [] });
      expect(await redis.hlen(k.historyMessages(ab))).toBe(52);
      await lowered.append(ab, msg(253), { indexFor: [] });
      expect(await redis.hlen(k.historyMessages(ab))).toBe(10);
      expect(await redis.hlen(k.historyFps(ab))).toBe(10);
      // Out of the window means trimmed: its fp is free again.
      expect(await lowered.append(ab, msg(200), { indexFor: [] })).toMatchObject({ seq: 254, duplicate: false });
    });
  });

  it('trimming bound - meta lo/lt: an oldest entry that ages out is reclaimed by the next append; a meta without them (older layout) is walked', async () => {
    await withStore({ ttlMs: 60_000 }, async (store, prefix) => {
      const k = redisKeys(prefix);
      const loLt = async () => redis.hmget(k.historyMeta(ab), 'lo', 'lt');
      const t1 = Date.now() - 59_500;
      await store.append(ab, msg(1, t1), { indexFor: [] });
      await store.append(ab, msg(2), { indexFor: [] });
      await store.append(ab, msg(3), { indexFor: [] });
      expect(await loLt()).toEqual(['1', String(t1)]);
      await delay(700); // message 1 expires
      await store.append(ab, msg(4), { indexFor: [] });
      const [m2] = await store.before(ab, { before: 3, limit: 1 });
      expect(await loLt()).toEqual(['2', String(m2?.sentAt)]);
      expect(await redis.hkeys(k.historyMessages(ab))).toEqual(['2', '3', '4']);
      expect(await redis.hkeys(k.historyFps(ab))).toEqual(['"fp-2"', '"fp-3"', '"fp-4"']);
      await redis.hdel(k.historyMeta(ab), 'lo', 'lt');
      const lowered = new RedisHistoryStore({ redis, prefix, ttlMs: 60_000, maxPerConversation: 2 });
      expect(await lowered.append(ab, msg(5), { indexFor: [] })).toMatchObject({ seq: 5, duplicate: false });
      expect(await redis.hkeys(k.historyMessages(ab))).toEqual(['4', '5']);
      expect(await redis.hkeys(k.historyFps(ab))).toEqual(['"fp-4"', '"fp-5"']);
      expect((await loLt())[0]).toBe('4');
    });
  });

  it('messages that arrive already expired (a sender clock far behind) are never shown, and each append reclaims the last one', async () => {
    await withStore({ ttlMs: 60_000 }, async (store, prefix) => {
      const old = Date.now() - 120_000;
      for (let i = 1; i <= 5; i++) await store.append(ab, msg(i, old), { indexFor: [alice] });
      expect(await store.before(ab, { limit: 100 })).toEqual([]);
      expect(await store.lastSeq(ab)).toBe(5);
      expect(await redis.hlen(redisKeys(prefix).historyMessages(ab))).toBe(1);
      expect(await store.conversations(alice, { limit: 10 })).toEqual([]);
      expect(await store.conversations(alice, { limit: 10, also: [ab] })).toEqual([{ id: ab, last: null, lastSeq: 5, readSeq: 0, unread: 0 }]);
    });
  });

  it('index - a resend repairs the index update lost between the two writes; stale members are dropped', async () => {
    await withStore({}, async (store, prefix) => {
      const k = redisKeys(prefix);
      await store.append(ab, msg(1), { indexFor: [] }); // as if the gateway died before the index update
      expect(await store.conversations(alice, { limit: 10 })).toEqual([]);
      expect(await store.append(ab, msg(1), { indexFor: [alice, bob] })).toMatchObject({ seq: 1, duplicate: true });
      expect((await store.conversations(bob, { limit: 10 })).map((r) => r.id)).toEqual([ab]);
      // A member whose conversation expired long ago is not listed; a refresh of a known conversation
      // leaves it (no range scan), the next update that adds a conversation to the index drops it.
      await redis.zadd(k.historyIndex(alice), 1, 'g:gone');
      expect((await store.conversations(alice, { limit: 10 })).map((r) => r.id)).toEqual([ab]);
      await store.append(ab, msg(2), { indexFor: [alice] });
      expect(await redis.zrange(k.historyIndex(alice), '0', '-1')).toEqual(['g:gone', ab]);
      const ac = peerConversation(alice, asUserId('carol'));
      await store.append(ac, msg(3), { indexFor: [alice] });
      expect(await redis.zrange(k.historyIndex(alice), '0', '-1')).toEqual([ab, ac]);
    });
  });
});
