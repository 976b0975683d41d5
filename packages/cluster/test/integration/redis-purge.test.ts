import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { cleanupRedisPrefix, resolveRedisUrl, uniquePrefix } from '@switchboard/testkit';
import { closeRedis, connectRedis, purgeKeyPrefix } from '../../src/redis/index.js';

let url: string;
let redis: Redis;

beforeAll(async () => {
  url = await resolveRedisUrl();
  redis = connectRedis({ url, name: 'test-purge' });
});
afterAll(async () => {
  await closeRedis(redis);
});

describe('purgeKeyPrefix', () => {
  it('deletes every key of the prefix, hash-tagged ones included, and nothing of a prefix that merely starts the same', async () => {
    const prefix = uniquePrefix('purge');
    const sibling = `${prefix}x`;
    try {
      const mine = Array.from({ length: 2500 }, (_, i) => `${prefix}:{u${i}}:route`);
      await Promise.all(mine.map((k) => redis.set(k, '1')));
      await redis.hset(`${prefix}:{h:a|b}:meta`, 'seq', '1');
      await redis.set(`${sibling}:{u1}:route`, 'keep');
      expect(await purgeKeyPrefix(redis, prefix)).toBe(2501);
      expect(await redis.exists(`${prefix}:{u0}:route`, `${prefix}:{h:a|b}:meta`)).toBe(0);
      expect(await redis.get(`${sibling}:{u1}:route`)).toBe('keep');
      expect(await purgeKeyPrefix(redis, prefix)).toBe(0);
    } finally {
      await cleanupRedisPrefix(url, sibling);
      await cleanupRedisPrefix(url, prefix);
    }
  });

  it('refuses a prefix too short or with pattern characters', async () => {
    for (const bad of ['', 'im', 'a*b', 'x?y', '{t}']) await expect(purgeKeyPrefix(redis, bad)).rejects.toThrow(/not a prefix/);
  });
});
