import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { asUserId } from '@switchboard/core';
import { cleanupRedisPrefix, resolveRedisUrl, uniquePrefix } from '@switchboard/testkit';
import { closeRedis, connectRedis, RedisPresenceStore } from '../../src/redis/index.js';
import { presenceStoreContract } from '../contract/presence-store.contract.js';

let url: string;
let redis: Redis;

beforeAll(async () => {
  url = await resolveRedisUrl();
  redis = connectRedis({ url, name: 'test-presence-store' });
});
afterAll(async () => {
  await closeRedis(redis);
});

presenceStoreContract('RedisPresenceStore', async (opts) => {
  const prefix = uniquePrefix('presence');
  return { store: new RedisPresenceStore({ redis, prefix, ...opts }), cleanup: async () => void (await cleanupRedisPrefix(url, prefix)) };
});

describe('RedisPresenceStore', () => {
  it('layout - one hash-tagged string per user with the TTL as expiry', async () => {
    const prefix = uniquePrefix('presence-layout');
    const store = new RedisPresenceStore({ redis, prefix, ttlMs: 60_000 });
    try {
      await store.seen([asUserId('alice')], 1_796_000_000_000);
      expect(await redis.get(`${prefix}:{alice}:seen`)).toBe('1796000000000');
      const ttl = await redis.pttl(`${prefix}:{alice}:seen`);
      expect(ttl).toBeGreaterThan(50_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
    } finally {
      await store.close();
      await cleanupRedisPrefix(url, prefix);
    }
  });
});
