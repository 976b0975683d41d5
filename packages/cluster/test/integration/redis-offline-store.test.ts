import { afterAll, beforeAll } from 'vitest';
import type { Redis } from 'ioredis';
import { cleanupRedisPrefix, resolveRedisUrl, uniquePrefix } from '@switchboard/testkit';
import { closeRedis, connectRedis, RedisOfflineStore } from '../../src/redis/index.js';
import { offlineStoreContract } from '../contract/offline-store.contract.js';

let url: string;
let redis: Redis;

beforeAll(async () => {
  url = await resolveRedisUrl();
  redis = connectRedis({ url, name: 'test-offline-store' });
});
afterAll(async () => {
  await closeRedis(redis);
});

offlineStoreContract('RedisOfflineStore', async (opts) => {
  const prefix = uniquePrefix('offline-store');
  return { store: new RedisOfflineStore({ redis, prefix, ...opts }), cleanup: async () => void (await cleanupRedisPrefix(url, prefix)) };
});
