import type { Redis } from 'ioredis';
import type { Logger } from '@switchboard/core';
import { closeRedis, connectRedis, isRedisUp } from './connect.js';
import { RedisNodeRegistry } from './redis-node-registry.js';
import { RedisOfflineStore } from './redis-offline-store.js';
import { RedisRouteStore } from './redis-route-store.js';

export interface RedisBackendsOptions {
  /** `IM_REDIS_URL`. */
  url: string;
  /** `IM_KEY_PREFIX`. @default 'im' */
  prefix?: string;
  log: Logger;
  /** Connection name (CLIENT SETNAME), e.g. the node id. */
  name?: string;
  /** @default DEFAULT_OFFLINE_CAPACITY (1000) */
  offlineCapacity?: number;
  /** @default DEFAULT_OFFLINE_TTL_MS (7 days) */
  offlineTtlMs?: number;
}

/** The three Redis-backed stores of a gateway or dispatch, on one shared connection. */
export interface RedisBackends {
  routes: RedisRouteStore;
  offline: RedisOfflineStore;
  nodes: RedisNodeRegistry;
  /** The shared client (from `connectRedis`), e.g. for a readiness PING. */
  redis: Redis;
  /** True while the connection is ready; false while reconnecting (calls then fail with UnavailableError). */
  isUp(): boolean;
  /** Close the stores and the connection. Idempotent. */
  close(): Promise<void>;
}

/**
 * Connect once (`connectRedis`) and build the route store, offline store and node registry on that
 * connection. Returns at once; the first commands wait for the first connection (and fail with
 * UnavailableError if that attempt fails), so a process that must fail fast at boot awaits
 * `backends.redis.ping()` or any store call before it declares itself ready.
 */
export function createRedisBackends(opts: RedisBackendsOptions): RedisBackends {
  const redis = connectRedis({ url: opts.url, log: opts.log, ...(opts.name === undefined ? {} : { name: opts.name }) });
  const shared = { redis, log: opts.log, ...(opts.prefix === undefined ? {} : { prefix: opts.prefix }) };
  const routes = new RedisRouteStore(shared);
  const offline = new RedisOfflineStore({
    ...shared,
    ...(opts.offlineCapacity === undefined ? {} : { capacity: opts.offlineCapacity }),
    ...(opts.offlineTtlMs === undefined ? {} : { ttlMs: opts.offlineTtlMs }),
  });
  const nodes = new RedisNodeRegistry(shared);
  let closing: Promise<void> | null = null;
  return {
    routes,
    offline,
    nodes,
    redis,
    isUp: () => isRedisUp(redis),
    close: () => {
      closing ??= (async () => {
        await Promise.all([routes.close(), offline.close(), nodes.close()]);
        await closeRedis(redis);
      })();
      return closing;
    },
  };
}
