import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { asUserId, type UserId } from '@switchboard/core';
import { cleanupRedisPrefix, resolveRedisUrl, uniquePrefix } from '@switchboard/testkit';
import { closeRedis, connectRedis, RedisGroupStore, redisKeys } from '../../src/redis/index.js';
import { groupStoreContract } from '../contract/group-store.contract.js';

let url: string;
let redis: Redis;

beforeAll(async () => {
  url = await resolveRedisUrl();
  redis = connectRedis({ url, name: 'test-group-store' });
});
afterAll(async () => {
  await closeRedis(redis);
});

groupStoreContract('RedisGroupStore', async (opts) => {
  const prefix = uniquePrefix('group-store');
  return {
    store: new RedisGroupStore({ redis, prefix, ...opts }),
    // Its own connection: the two stores' commands really interleave in Redis.
    twin: async () => new RedisGroupStore({ url, prefix, ...opts }),
    cleanup: async () => void (await cleanupRedisPrefix(url, prefix)),
  };
});

describe('RedisGroupStore storage', () => {
  const alice = asUserId('alice');
  const bob = asUserId('bob');
  const many = (n: number, tag = 'u'): UserId[] => Array.from({ length: n }, (_, i) => asUserId(`${tag}${i}`));

  const withStore = async (opts: { maxMembers?: number }, fn: (store: RedisGroupStore, prefix: string) => Promise<void>) => {
    const prefix = uniquePrefix('group-storage');
    const store = new RedisGroupStore({ redis, prefix, ...opts });
    try {
      await fn(store, prefix);
    } finally {
      await store.close();
      await cleanupRedisPrefix(url, prefix);
    }
  };

  it('keys - meta and members of a group share its slot; the per-user index is a set of gids', async () => {
    await withStore({}, async (store, prefix) => {
      const k = redisKeys(prefix);
      await store.put('team', { name: 'The Team', members: [alice, bob] }, 4);
      expect(await redis.hgetall(k.groupMeta('team'))).toEqual({ name: 'The Team' });
      expect(await redis.hgetall(k.groupMembers('team'))).toEqual({ alice: '4', bob: '4' });
      expect(await redis.smembers(k.userGroups(alice))).toEqual(['team']);
      expect(k.groupMembers('team')).toBe(`${prefix}:{grp:team}:members`);
      expect(k.userGroups(alice)).toBe(`${prefix}:{alice}:groups`);
      const slots = await Promise.all([k.groupMeta('team'), k.groupMembers('team')].map((key) => redis.call('CLUSTER', 'KEYSLOT', key).catch(() => null)));
      if (slots[0] !== null) expect(new Set(slots).size).toBe(1);
      // Nothing expires: a group lives until deleted.
      for (const key of [k.groupMeta('team'), k.groupMembers('team'), k.userGroups(alice)]) expect(await redis.pttl(key), key).toBe(-1);
      await store.delete('team');
      expect(await redis.exists(k.groupMeta('team'), k.groupMembers('team'), k.userGroups(alice), k.userGroups(bob))).toBe(0);
    });
  });

  it('index - stale entries (a crash between the two writes, a deleted group, garbage) are not listed and are dropped', async () => {
    await withStore({}, async (store, prefix) => {
      const k = redisKeys(prefix);
      await store.put('team', { name: 't', members: [alice] }, 0);
      await store.put('other', { name: 'o', members: [bob] }, 0);
      // As if a gateway died after the index write of an add whose group write never happened, or
      // after the group write of a removal whose index write never happened.
      await redis.sadd(k.userGroups(alice), 'other', 'gone', 'x}y', '');
      expect(await store.groupsOf(alice)).toEqual([{ id: 'team', name: 't' }]);
      expect(await redis.smembers(k.userGroups(alice))).toEqual(['team']);
      // A member whose group hash says so but whose index lost the entry is the one thing the index
      // cannot see; the store never leaves that state (writes go index-first for adds).
      expect(await store.groupsOf(bob)).toEqual([{ id: 'other', name: 'o' }]);
    });
  });

  it('index - a writer that dies between the group write and its index write still leaves every member indexed', async () => {
    await withStore({}, async (store, prefix) => {
      const k = redisKeys(prefix);
      const conn = connectRedis({ url, name: 'test-group-crash' });
      const dying = new RedisGroupStore({ redis: conn, prefix });
      const sadd = conn.sadd.bind(conn) as (...a: unknown[]) => Promise<number>;
      // Every index write that comes after the group write fails, as if the process was gone by then.
      (conn as unknown as { sadd: (...a: unknown[]) => Promise<number> }).sadd = async (key: unknown, gid: unknown) => {
        const uid = String(key).slice(`${prefix}:{`.length, -'}:groups'.length);
        if ((await redis.hexists(k.groupMembers(String(gid)), uid)) === 1) throw new Error('crashed');
        return sadd(key, gid);
      };
      try {
        await expect(dying.put('team', { name: 't', members: [alice] }, 0)).rejects.toThrow();
        await expect(dying.addMembers('team', [bob], 1)).rejects.toThrow();
        expect(await store.members('team')).toEqual(new Map([[alice, 0], [bob, 1]]));
        expect(await store.groupsOf(alice)).toEqual([{ id: 'team', name: 't' }]);
        expect(await store.groupsOf(bob)).toEqual([{ id: 'team', name: 't' }]);
      } finally {
        await closeRedis(conn);
      }
    });
  });

  it('index - an add racing a removal of the same member: the removal reads the membership again after its SREM', async () => {
    await withStore({}, async (store, prefix) => {
      const k = redisKeys(prefix);
      await store.put('team', { name: 't', members: [alice] }, 0);
      // A client whose first SREM lets a whole add run on another client just before it.
      const conn = connectRedis({ url, name: 'test-group-race' });
      const racer = new RedisGroupStore({ redis: conn, prefix });
      const srem = conn.srem.bind(conn) as (...a: unknown[]) => Promise<number>;
      let raced: Promise<unknown> | null = null;
      (conn as unknown as { srem: (...a: unknown[]) => Promise<number> }).srem = async (...a: unknown[]) => {
        raced ??= store.addMembers('team', [alice], 5);
        expect(await raced).toBe('ok');
        return srem(...a);
      };
      try {
        expect(await racer.removeMember('team', alice)).toBe(true);
        expect(raced).not.toBeNull();
        expect(await store.memberSince('team', alice)).toBe(5);
        expect(await redis.smembers(k.userGroups(alice))).toEqual(['team']);
        expect(await store.groupsOf(alice)).toEqual([{ id: 'team', name: 't' }]);
      } finally {
        await closeRedis(conn);
      }
    });
  });

  it('cap - 100k members are refused before anything is written; a lowered cap keeps existing members', async () => {
    await withStore({ maxMembers: 10 }, async (store, prefix) => {
      const k = redisKeys(prefix);
      const huge = many(100_000);
      expect(await store.put('big', { name: 'b', members: huge }, 0)).toBe('too_many_members');
      expect(await store.addMembers('big', huge, 0)).toBe('no_such_group');
      expect(await redis.exists(k.groupMeta('big'), k.userGroups(huge[0]!), k.userGroups(huge[99_999]!))).toBe(0);
      await store.put('big', { name: 'b', members: many(10) }, 0);
      expect(await store.addMembers('big', huge, 0)).toBe('too_many_members');
      const lowered = new RedisGroupStore({ redis, prefix, maxMembers: 5 });
      expect(await lowered.addMembers('big', many(10), 1)).toBe('ok');
      expect(await lowered.addMembers('big', [alice], 1)).toBe('too_many_members');
      expect(await lowered.removeMember('big', asUserId('u0'))).toBe(true);
      expect(await lowered.addMembers('big', [alice], 1)).toBe('too_many_members');
      expect(await lowered.put('big', { name: 'b', members: many(5) }, 1)).toBe('ok');
      expect((await lowered.members('big'))?.size).toBe(5);
      expect(await lowered.groupsOf(asUserId('u7'))).toEqual([]);
      expect(await redis.exists(k.userGroups(asUserId('u7')))).toBe(0);
    });
  });

  it('cap - 200 concurrent single adds on four connections stop at exactly the cap', async () => {
    await withStore({ maxMembers: 50 }, async (store, prefix) => {
      const stores = [store, ...Array.from({ length: 3 }, () => new RedisGroupStore({ url, prefix, maxMembers: 50 }))];
      try {
        await store.put('team', { name: 't', members: [] }, 0);
        const outcomes = await Promise.all(many(200).map((m, i) => stores[i % 4]!.addMembers('team', [m], i)));
        expect(outcomes.filter((o) => o === 'ok')).toHaveLength(50);
        expect((await store.members('team'))?.size).toBe(50);
      } finally {
        for (const s of stores.slice(1)) await s.close();
      }
    });
  });
});
