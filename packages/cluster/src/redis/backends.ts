import type { Redis } from 'ioredis';
import type { Logger } from '@switchboard/core';
import { closeRedis, connectRedis, isRedisUp } from './connect.js';
import { DEFAULT_REDIS_WAIT_CONNECTIONS } from './defaults.js';
import { RedisNodeRegistry } from './redis-node-registry.js';
import { RedisOfflineStore } from './redis-offline-store.js';
import { RedisOfflineBudget } from './redis-offline-budget.js';
import { RedisMemoryCeiling } from './redis-memory-ceiling.js';
import { RedisRouteStore } from './redis-route-store.js';
import { RedisPresenceStore } from './redis-presence-store.js';
import { RedisHistoryStore } from './redis-history-store.js';
import { ReplicaWait } from './replica-wait.js';
import type { RedisMode } from './topology.js';

export interface RedisBackendsOptions {
  /** `IM_REDIS_URL`: one URL, or (cluster, sentinel) a comma-separated list of seeds. */
  url: string;
  /** `IM_REDIS_MODE`. @default 'single' */
  mode?: RedisMode;
  /** `IM_REDIS_SENTINEL_NAME` (sentinel mode). */
  sentinelName?: string;
  /** `IM_REDIS_WAIT_REPLICAS`: replicas an offline store and a history append wait for (ReplicaWait). @default 'auto' */
  waitReplicas?: number | 'auto';
  /** `IM_REDIS_WAIT_TIMEOUT_MS`. @default DEFAULT_REDIS_WAIT_TIMEOUT_MS (500) */
  waitTimeoutMs?: number;
  /** `IM_KEY_PREFIX`. @default 'im' */
  prefix?: string;
  log: Logger;
  /** Connection name (CLIENT SETNAME), e.g. the node id. */
  name?: string;
  /** @default DEFAULT_OFFLINE_CAPACITY (1000) */
  offlineCapacity?: number;
  /** @default DEFAULT_OFFLINE_TTL_MS (7 days) */
  offlineTtlMs?: number;
  /** Bytes one sender may store offline per window. @default DEFAULT_OFFLINE_SENDER_BUDGET_BYTES (8 MiB) */
  offlineSenderBudgetBytes?: number;
  /** @default DEFAULT_OFFLINE_SENDER_WINDOW_MS (1 hour) */
  offlineSenderWindowMs?: number;
  /** Redis `used_memory` above which offline stores are refused; 0 = automatic (see RedisMemoryCeiling). */
  offlineCeilingBytes?: number;
  /** `IM_HISTORY_MAX_PER_CONVERSATION`. @default DEFAULT_HISTORY_MAX_PER_CONVERSATION (10000) */
  historyMaxPerConversation?: number;
  /** `IM_HISTORY_TTL_DAYS` in ms. @default DEFAULT_HISTORY_TTL_MS (30 days) */
  historyTtlMs?: number;
  /** `IM_PRESENCE_TTL_S` in ms. @default DEFAULT_PRESENCE_TTL_MS (30 days) */
  presenceTtlMs?: number;
}

/** The Redis-backed stores of a gateway or dispatch (and the offline budgets), on one shared connection. */
export interface RedisBackends {
  routes: RedisRouteStore;
  offline: RedisOfflineStore;
  /** The per-sender budget of offline-stored bytes, counted in Redis (shared by every gateway). */
  offlineBudget: RedisOfflineBudget;
  /** The total budget: Redis's memory against a ceiling. */
  storageCeiling: RedisMemoryCeiling;
  nodes: RedisNodeRegistry;
  /** Conversation history (used only when `IM_HISTORY` is on; building it costs nothing). */
  history: RedisHistoryStore;
  /** Users' last-seen times (presence). */
  presence: RedisPresenceStore;
  /** The shared client (from `connectRedis`), e.g. for a readiness PING. */
  redis: Redis;
  /** True while the connection is ready; false while reconnecting (calls then fail with UnavailableError). */
  isUp(): boolean;
  /** Close the stores and the connection. Idempotent. */
  close(): Promise<void>;
}

/**
 * Connect once (`connectRedis`) and build the route store, offline store, history store and node
 * registry on that connection. Returns at once; the first commands wait for the first connection (and fail with
 * UnavailableError if that attempt fails), so a process that must fail fast at boot awaits
 * `backends.redis.ping()` or any store call before it declares itself ready.
 */
export function createRedisBackends(opts: RedisBackendsOptions): RedisBackends {
  const connect = (name: string | undefined): Redis =>
    connectRedis({
      url: opts.url,
      log: opts.log,
      ...(name === undefined ? {} : { name }),
      ...(opts.mode === undefined ? {} : { mode: opts.mode }),
      ...(opts.sentinelName === undefined ? {} : { sentinelName: opts.sentinelName }),
    });
  const redis = connect(opts.name);
  const shared = { redis, log: opts.log, ...(opts.prefix === undefined ? {} : { prefix: opts.prefix }) };
  // The waited writes get connections of their own (a WAIT blocks its connection), opened at the first
  // write that waits for a replica.
  const waitReplicas = new ReplicaWait(redis, {
    replicas: opts.waitReplicas ?? 'auto',
    log: opts.log,
    openWriter: () => connect(`${opts.name ?? 'switchboard'}-acked`),
    writerCount: DEFAULT_REDIS_WAIT_CONNECTIONS,
    ...(opts.waitTimeoutMs === undefined ? {} : { timeoutMs: opts.waitTimeoutMs }),
  });
  const routes = new RedisRouteStore(shared);
  const offline = new RedisOfflineStore({
    ...shared,
    waitReplicas,
    ...(opts.offlineCapacity === undefined ? {} : { capacity: opts.offlineCapacity }),
    ...(opts.offlineTtlMs === undefined ? {} : { ttlMs: opts.offlineTtlMs }),
  });
  const offlineBudget = new RedisOfflineBudget({
    ...shared,
    ...(opts.offlineSenderBudgetBytes === undefined ? {} : { bytesPerWindow: opts.offlineSenderBudgetBytes }),
    ...(opts.offlineSenderWindowMs === undefined ? {} : { windowMs: opts.offlineSenderWindowMs }),
  });
  const storageCeiling = new RedisMemoryCeiling({ redis, log: opts.log, ...(opts.offlineCeilingBytes === undefined ? {} : { maxBytes: opts.offlineCeilingBytes }) });
  const nodes = new RedisNodeRegistry(shared);
  const history = new RedisHistoryStore({
    ...shared,
    waitReplicas,
    ...(opts.historyMaxPerConversation === undefined ? {} : { maxPerConversation: opts.historyMaxPerConversation }),
    ...(opts.historyTtlMs === undefined ? {} : { ttlMs: opts.historyTtlMs }),
  });
  const presence = new RedisPresenceStore({ ...shared, ...(opts.presenceTtlMs === undefined ? {} : { ttlMs: opts.presenceTtlMs }) });
  let closing: Promise<void> | null = null;
  return {
    routes,
    offline,
    offlineBudget,
    storageCeiling,
    nodes,
    history,
    presence,
    redis,
    isUp: () => isRedisUp(redis),
    close: () => {
      closing ??= (async () => {
        await Promise.all([routes.close(), offline.close(), offlineBudget.close(), storageCeiling.close(), nodes.close(), history.close(), presence.close(), waitReplicas.close()]);
        await closeRedis(redis);
      })();
      return closing;
    },
  };
}
