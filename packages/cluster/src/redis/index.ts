/**
 * `@switchboard/cluster/redis`: the Redis implementations of RouteStore, OfflineStore,
 * HistoryStore, GroupStore and NodeRegistry (architecture §3), the connection factory, and the key layout.
 */
export { RedisRouteStore, type RedisRouteStoreOptions } from './redis-route-store.js';
export { RedisOfflineStore, type RedisOfflineStoreOptions } from './redis-offline-store.js';
export { RedisPresenceStore, type RedisPresenceStoreOptions } from './redis-presence-store.js';
export { RedisOfflineBudget, type RedisOfflineBudgetOptions } from './redis-offline-budget.js';
export {
  RedisMemoryCeiling,
  type RedisMemoryCeilingOptions,
  DEFAULT_REDIS_CEILING_MAXMEMORY_SHARE,
  DEFAULT_REDIS_CEILING_SYSTEM_SHARE,
} from './redis-memory-ceiling.js';
export { RedisHistoryStore, type RedisHistoryStoreOptions } from './redis-history-store.js';
export { RedisGroupStore, type RedisGroupStoreOptions } from './redis-group-store.js';
export { RedisNodeRegistry, type RedisNodeRegistryOptions } from './redis-node-registry.js';
export { createRedisBackends, type RedisBackends, type RedisBackendsOptions } from './backends.js';
export { connectRedis, closeRedis, isRedisUp, redisModeOf, redisNodes, type ConnectRedisOptions, type RedisClientOption } from './connect.js';
export {
  REDIS_MODES,
  DEFAULT_REDIS_SENTINEL_NAME,
  parseRedisTopology,
  parseRedisSeed,
  splitRedisUrls,
  redactRedisUrl,
  type RedisMode,
  type RedisSeed,
} from './topology.js';
export { ReplicaWait, runScriptReplicated, keySlot, type ReplicaWaitOptions } from './replica-wait.js';
export { redisKeys, type RedisKeys } from './keys.js';
export { purgeKeyPrefix } from './purge.js';
export { installScripts, scriptSource, type ScriptName } from './scripts.js';
export {
  DEFAULT_KEY_PREFIX,
  DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
  DEFAULT_REDIS_SOCKET_TIMEOUT_MS,
  DEFAULT_REDIS_CONNECT_TIMEOUT_MS,
  DEFAULT_REDIS_RECONNECT_BASE_MS,
  DEFAULT_REDIS_RECONNECT_MAX_MS,
  DEFAULT_REDIS_ERROR_LOG_INTERVAL_MS,
  DEFAULT_NODE_INDEX_SCAN_COUNT,
  DEFAULT_REDIS_CLUSTER_RETRY_DELAY_MS,
  DEFAULT_REDIS_WAIT_TIMEOUT_MS,
  DEFAULT_REDIS_REPLICA_CHECK_MS,
  DEFAULT_REDIS_WAIT_CONNECTIONS,
} from './defaults.js';
