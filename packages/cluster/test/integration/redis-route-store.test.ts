import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { asConnId, asNodeId, asUserId, InvalidArgumentError, UnavailableError } from '@switchboard/core';
import { cleanupRedisPrefix, resolveRedisUrl, uniquePrefix } from '@switchboard/testkit';
import { closeRedis, connectRedis, RedisRouteStore, redisKeys } from '../../src/redis/index.js';
import type { Route } from '../../src/route-store.js';
import { routeStoreContract } from '../contract/route-store.contract.js';

let url: string;
let redis: Redis;

beforeAll(async () => {
  url = await resolveRedisUrl();
  redis = connectRedis({ url, name: 'test-route-store' });
});
afterAll(async () => {
  await closeRedis(redis);
});

routeStoreContract('RedisRouteStore', async () => {
  const prefix = uniquePrefix('route-store');
  return { store: new RedisRouteStore({ redis, prefix }), cleanup: async () => void (await cleanupRedisPrefix(url, prefix)) };
});

// The same contract on a store that owns its connection (built from a URL).
routeStoreContract('RedisRouteStore (own connection)', async () => {
  const prefix = uniquePrefix('route-store-own');
  return { store: new RedisRouteStore({ url, prefix }), cleanup: async () => void (await cleanupRedisPrefix(url, prefix)) };
});

describe('RedisRouteStore', () => {
  const T0 = 1_700_000_000_000;
  const r = (over: Partial<Route> = {}): Route => ({
    userId: asUserId('alice'),
    nodeId: asNodeId('gw-1'),
    connId: asConnId('c1'),
    firstLoginTime: T0,
    since: T0,
    ...over,
  });

  it('claim - refuses non-finite times with InvalidArgumentError, before touching Redis', async () => {
    const prefix = uniquePrefix('route-store-args');
    const store = new RedisRouteStore({ redis, prefix });
    await expect(store.claim(r({ firstLoginTime: Number.NaN }), 0)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(store.claim(r(), Number.POSITIVE_INFINITY)).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(await store.countNode(asNodeId('gw-1'))).toBe(0);
    await cleanupRedisPrefix(url, prefix);
  });

  it('errors - a Redis error reply reaches the caller as UnavailableError with the cause', async () => {
    const prefix = uniquePrefix('route-store-err');
    const store = new RedisRouteStore({ redis, prefix });
    await redis.set(redisKeys(prefix).route(asUserId('alice')), 'not a hash');
    const err: unknown = await store.claim(r(), 0).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as UnavailableError).cause).toBeInstanceOf(Error);
    await expect(store.lookup(asUserId('alice'))).rejects.toBeInstanceOf(UnavailableError);
    await cleanupRedisPrefix(url, prefix);
  });
});
