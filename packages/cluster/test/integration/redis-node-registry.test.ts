import { afterAll, beforeAll } from 'vitest';
import type { Redis } from 'ioredis';
import { cleanupRedisPrefix, resolveRedisUrl, uniquePrefix } from '@switchboard/testkit';
import { closeRedis, connectRedis, RedisNodeRegistry } from '../../src/redis/index.js';
import { nodeRegistryContract } from '../contract/node-registry.contract.js';

let url: string;
let redis: Redis;

beforeAll(async () => {
  url = await resolveRedisUrl();
  redis = connectRedis({ url, name: 'test-node-registry' });
});
afterAll(async () => {
  await closeRedis(redis);
});

nodeRegistryContract('RedisNodeRegistry', async () => {
  const prefix = uniquePrefix('node-registry');
  return { registry: new RedisNodeRegistry({ redis, prefix }), cleanup: async () => void (await cleanupRedisPrefix(url, prefix)) };
});
