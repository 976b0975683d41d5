import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { asUserId, UnavailableError } from '@switchboard/core';
import { cleanupRedisPrefix, resolveRedisUrl, uniquePrefix } from '@switchboard/testkit';
import { closeRedis, connectRedis, RedisMemoryCeiling, RedisOfflineBudget, redisKeys } from '../../src/redis/index.js';
import { offlineBudgetContract } from '../contract/offline-budget.contract.js';

let url: string;
let redis: Redis;

beforeAll(async () => {
  url = await resolveRedisUrl();
  redis = connectRedis({ url, name: 'test-offline-budget' });
});
afterAll(async () => {
  await closeRedis(redis);
});

offlineBudgetContract('RedisOfflineBudget', async (opts) => {
  const prefix = uniquePrefix('offline-budget');
  return { budget: new RedisOfflineBudget({ redis, prefix, ...opts }), cleanup: async () => void (await cleanupRedisPrefix(url, prefix)) };
});

describe('RedisOfflineBudget', () => {
  it('shared - two budgets on one prefix (two gateways) count one total per sender, in the sender key that expires with the window', async () => {
    const prefix = uniquePrefix('offline-budget-shared');
    const other = connectRedis({ url, name: 'test-offline-budget-2' });
    try {
      const g1 = new RedisOfflineBudget({ redis, prefix, bytesPerWindow: 1_000, windowMs: 60_000 });
      const g2 = new RedisOfflineBudget({ redis: other, prefix, bytesPerWindow: 1_000, windowMs: 60_000 });
      const mallory = asUserId('mallory');
      expect(await g1.charge(mallory, 700)).toBe('ok');
      expect(await g2.charge(mallory, 301)).toBe('over');
      expect(await g2.charge(mallory, 300)).toBe('ok');
      expect(await g1.charge(mallory, 1)).toBe('over');
      const key = redisKeys(prefix).offlineBudget(mallory);
      expect(key).toBe(`${prefix}:{mallory}:offline:budget`);
      expect(await redis.get(key)).toBe('1000');
      const ttl = await redis.pttl(key);
      expect(ttl).toBeGreaterThan(50_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
    } finally {
      await closeRedis(other);
      await cleanupRedisPrefix(url, prefix);
    }
  });

  it('unavailable - a closed client fails with UnavailableError', async () => {
    const dead = connectRedis({ url, name: 'test-offline-budget-dead' });
    await closeRedis(dead);
    const b = new RedisOfflineBudget({ redis: dead, prefix: uniquePrefix('dead') });
    await expect(b.charge(asUserId('x'), 1)).rejects.toBeInstanceOf(UnavailableError);
  });
});

describe('RedisMemoryCeiling', () => {
  it('sample - reads used_memory; over() answers from the last sample and samples in the background when it is stale', async () => {
    const low = new RedisMemoryCeiling({ redis, maxBytes: 1, sampleMs: 50 });
    expect(low.over()).toBe(false); // no sample yet: the first one starts now
    await low.sample();
    expect(low.last!.usedBytes).toBeGreaterThan(1);
    expect(low.over()).toBe(true);
    const high = new RedisMemoryCeiling({ redis, maxBytes: Number.MAX_SAFE_INTEGER });
    await high.sample();
    expect(high.over()).toBe(false);
  });

  it('auto - without a configured ceiling: 90 % of maxmemory when set, else 75 % of the host memory', async () => {
    const c = new RedisMemoryCeiling({ redis });
    const s = await c.sample();
    const info = await redis.info('memory');
    const num = (k: string) => Number(new RegExp(`^${k}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
    const expected = num('maxmemory') > 0 ? Math.floor(num('maxmemory') * 0.9) : Math.floor(num('total_system_memory') * 0.75);
    expect(s.ceilingBytes).toBe(expected);
  });
});
