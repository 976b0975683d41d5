import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { backoffMs, silentLogger, toImError, UnavailableError, withTimeout, type ImError, type Logger } from '@switchboard/core';
import {
  DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
  DEFAULT_REDIS_CLUSTER_RETRY_DELAY_MS,
  DEFAULT_REDIS_CONNECT_TIMEOUT_MS,
  DEFAULT_REDIS_ERROR_LOG_INTERVAL_MS,
  DEFAULT_REDIS_RECONNECT_BASE_MS,
  DEFAULT_REDIS_RECONNECT_MAX_MS,
  DEFAULT_REDIS_REPLICA_CHECK_MS,
  DEFAULT_REDIS_SOCKET_TIMEOUT_MS,
} from './defaults.js';
import { installScripts } from './scripts.js';
import { DEFAULT_REDIS_SENTINEL_NAME, parseRedisTopology, type RedisMode, type RedisSeed } from './topology.js';

export interface ConnectRedisOptions {
  /**
   * `redis://[user:pass@]host:port[/db]` (`IM_REDIS_URL`); in `cluster` and `sentinel` mode a
   * comma-separated list of seed URLs (cluster nodes, or sentinels).
   */
  url: string;
  /** `IM_REDIS_MODE`. @default 'single' */
  mode?: RedisMode;
  /** `IM_REDIS_SENTINEL_NAME`: the master's name in sentinel mode. @default DEFAULT_REDIS_SENTINEL_NAME ('mymaster') */
  sentinelName?: string;
  /** Parent logger; connection events go to a `{ component: 'redis' }` child. @default silent */
  log?: Logger;
  /** Connection name (CLIENT SETNAME) and log field, e.g. the node id. */
  name?: string;
  /** A command with no reply within this fails. @default DEFAULT_REDIS_COMMAND_TIMEOUT_MS */
  commandTimeoutMs?: number;
  /** A socket silent this long while a reply is due is destroyed and reconnected. @default DEFAULT_REDIS_SOCKET_TIMEOUT_MS */
  socketTimeoutMs?: number;
  /** One connect attempt's deadline. @default DEFAULT_REDIS_CONNECT_TIMEOUT_MS */
  connectTimeoutMs?: number;
  /** Reconnect backoff ceiling; attempts never stop. @default DEFAULT_REDIS_RECONNECT_MAX_MS */
  reconnectMaxMs?: number;
}

/**
 * An ioredis client configured for a chat backend, where a login or a message must fail fast and
 * loudly while Redis is away, not wait in a queue until a client-side resend makes it a duplicate:
 *
 * - reconnects forever, with jittered exponential backoff capped at `reconnectMaxMs`;
 * - commands issued before the first connect attempt finished wait for it (so boot-time calls
 *   work); from the first `ready` or the first lost/refused connection on, `enableOfflineQueue` is
 *   off: while disconnected a command fails at once instead of queueing;
 * - `maxRetriesPerRequest: 0`: commands in flight when the link drops fail at once instead of
 *   being resent after the reconnect (a claim applied seconds late could kick a newer session);
 *   it also fails boot-time calls after the first failed connect attempt;
 * - `commandTimeout` bounds each command, `socketTimeout` detects a half-open link;
 * - `error` events are logged (warn, rate-limited per error code), never thrown as unhandled;
 * - auto-pipelining on (≈ 170k ops/s on one connection, toolchain.md).
 *
 * - `mode` (topology.ts): `single` is one server; `sentinel` follows the master the sentinels name
 *   (see sentinelOptions); `cluster` speaks Redis Cluster (see clusterClient) and returns the cluster
 *   client typed as `Redis`. The behaviour above holds in every mode.
 *
 * Errors from this client are ioredis errors; the stores map them to UnavailableError.
 * Close it with `closeRedis`.
 */
export function connectRedis(opts: ConnectRedisOptions): Redis {
  const log = (opts.log ?? silentLogger()).child({ component: 'redis', ...(opts.name === undefined ? {} : { redis: opts.name }) });
  const reconnectMaxMs = opts.reconnectMaxMs ?? DEFAULT_REDIS_RECONNECT_MAX_MS;
  const mode = opts.mode ?? 'single';
  const seeds = parseRedisTopology(mode, opts.url);
  const retry = (times: number): number => backoffMs(times - 1, DEFAULT_REDIS_RECONNECT_BASE_MS, reconnectMaxMs);
  const common: RedisOptions = {
    ...(opts.name === undefined ? {} : { connectionName: opts.name }),
    connectTimeout: opts.connectTimeoutMs ?? DEFAULT_REDIS_CONNECT_TIMEOUT_MS,
    commandTimeout: opts.commandTimeoutMs ?? DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
    socketTimeout: opts.socketTimeoutMs ?? DEFAULT_REDIS_SOCKET_TIMEOUT_MS,
    retryStrategy: retry,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: true,
    enableAutoPipelining: true,
  };
  let redis: Redis;
  if (mode === 'single') {
    redis = new Redis(opts.url.trim(), common);
  } else if (mode === 'sentinel') {
    redis = new Redis(sentinelOptions(common, seeds, opts.sentinelName ?? DEFAULT_REDIS_SENTINEL_NAME, reconnectMaxMs));
  } else {
    redis = clusterClient(common, seeds, reconnectMaxMs);
  }
  modes.set(redis, mode);
  let wasReady = false;
  let down = false;
  const lastWarn = new Map<string, number>();
  // From the first outcome of the first connect attempt on, fail fast while disconnected (see above).
  const stopQueueing = (): void => {
    redis.options.enableOfflineQueue = false;
  };
  redis.on('ready', () => {
    stopQueueing();
    if (down) log.info('redis connection restored');
    else if (!wasReady) log.debug('redis connection ready');
    wasReady = true;
    down = false;
    lastWarn.clear();
  });
  redis.on('close', () => {
    stopQueueing();
    if (closing.has(redis)) return;
    if (wasReady && !down) log.warn('redis connection lost; reconnecting');
    if (wasReady) down = true;
  });
  redis.on('reconnecting', (delayMs: number) => log.debug({ delayMs }, 'redis reconnecting'));
  redis.on('error', (err: Error & { code?: string }) => {
    const kind = err.code ?? err.name;
    const now = Date.now();
    const last = lastWarn.get(kind);
    if (last === undefined || now - last >= DEFAULT_REDIS_ERROR_LOG_INTERVAL_MS) {
      lastWarn.set(kind, now);
      log.warn({ err }, 'redis connection error');
    } else {
      log.debug({ err }, 'redis connection error (repeated)');
    }
  });
  return redis;
}

/**
 * Sentinel mode: ioredis asks the sentinels for the master's address (`role: 'master'`), checks the
 * role of what it reached, and asks again after every lost connection. `failoverDetector` subscribes
 * to the sentinels' `+switch-master` and cuts the link at once on a failover; a demoted master that
 * still holds the link answers writes with READONLY, which also cuts it (the command fails, its
 * caller retries as after any Redis error). The URLs' user and password authenticate to the master
 * and its replicas, not to the sentinels.
 */
function sentinelOptions(common: RedisOptions, seeds: RedisSeed[], name: string, reconnectMaxMs: number): RedisOptions {
  const auth = seeds[0] as RedisSeed;
  return {
    ...common,
    sentinels: seeds.map((s) => ({ host: s.host, port: s.port })),
    name,
    role: 'master',
    db: auth.db,
    ...(auth.username === undefined ? {} : { username: auth.username }),
    ...(auth.password === undefined ? {} : { password: auth.password }),
    ...(auth.tls ? { tls: {}, enableTLSForSentinelMode: true } : {}),
    sentinelRetryStrategy: (times) => backoffMs(times - 1, DEFAULT_REDIS_RECONNECT_BASE_MS, reconnectMaxMs),
    failoverDetector: true,
    reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 1 : false),
  };
}

/**
 * Cluster mode: ioredis' cluster client, started from the seed list. Every store keeps the keys of one
 * script or transaction in one hash slot (keys.ts), so each command goes to the slot's master. Node
 * connections do not reconnect on their own: a lost node makes the client refresh the slot map
 * (`clusterRetryStrategy` when every node is lost), and a command that met a moved slot or a failing
 * node is redirected or retried up to `maxRedirections` times, `retryDelayOnFailover` apart, within
 * the command timeout. The first URL's user and password authenticate to every node.
 *
 * The cluster client is returned typed as `Redis`: it has the same commands, `defineCommand`,
 * `pipeline`/`multi` (single-slot), `status`, `options.enableOfflineQueue` and the `ready`/`close`/
 * `error` events the stores and `connectRedis` use; what it lacks (`SCAN` over the whole keyspace,
 * key-less commands meaning one server) is reached through `redisNodes`.
 */
function clusterClient(common: RedisOptions, seeds: RedisSeed[], reconnectMaxMs: number): Redis {
  const auth = seeds[0] as RedisSeed;
  const { retryStrategy: _perNode, enableOfflineQueue: _queue, enableAutoPipelining: _pipelining, ...nodeOptions } = common;
  const cluster = new Cluster(
    seeds.map((s) => ({ host: s.host, port: s.port })),
    {
      redisOptions: {
        ...nodeOptions,
        ...(auth.username === undefined ? {} : { username: auth.username }),
        ...(auth.password === undefined ? {} : { password: auth.password }),
        ...(auth.tls ? { tls: {} } : {}),
      },
      clusterRetryStrategy: (times) => backoffMs(times - 1, DEFAULT_REDIS_RECONNECT_BASE_MS, reconnectMaxMs),
      enableOfflineQueue: true,
      enableAutoPipelining: true,
      retryDelayOnFailover: DEFAULT_REDIS_CLUSTER_RETRY_DELAY_MS,
      retryDelayOnClusterDown: DEFAULT_REDIS_CLUSTER_RETRY_DELAY_MS,
      retryDelayOnTryAgain: DEFAULT_REDIS_CLUSTER_RETRY_DELAY_MS,
      slotsRefreshTimeout: common.connectTimeout ?? DEFAULT_REDIS_CONNECT_TIMEOUT_MS,
      // Also refresh the slot map periodically: it says which masters have a replica (ReplicaWait), and
      // CLUSTER SLOTS lists a replica only once it is in sync, which no redirection would tell us.
      slotsRefreshInterval: DEFAULT_REDIS_REPLICA_CHECK_MS,
    },
  );
  return cluster as unknown as Redis;
}

/** The mode each client of `connectRedis` was made for (clients made elsewhere are `single`). */
const modes = new WeakMap<Redis, RedisMode>();

/** The mode `redis` was connected in: `cluster` for a cluster client, else what `connectRedis` was told (`single` for a client made elsewhere). */
export function redisModeOf(redis: Redis): RedisMode {
  if ((redis as unknown) instanceof Cluster) return 'cluster';
  return modes.get(redis) ?? 'single';
}

/**
 * The servers to run a key-less command on when it must see the whole keyspace (SCAN, INFO keyspace):
 * every master of a cluster client (by its current slot map), else the client itself.
 */
export function redisNodes(redis: Redis): Redis[] {
  const r = redis as unknown;
  return r instanceof Cluster ? r.nodes('master') : [redis];
}

/** Clients being closed on purpose (their `close` event is not an outage). */
const closing = new WeakSet<Redis>();

/** True when `redis` is connected and ready for commands. */
export function isRedisUp(redis: Redis): boolean {
  return redis.status === 'ready';
}

/** Close a client: QUIT when connected (bounded by `timeoutMs`), otherwise drop the socket. Idempotent. */
export async function closeRedis(redis: Redis, timeoutMs = 1_000): Promise<void> {
  if (redis.status === 'end') return;
  closing.add(redis);
  if (redis.status === 'ready') {
    try {
      await withTimeout(redis.quit(), timeoutMs, 'redis quit');
      return;
    } catch {
      // QUIT did not complete (link dropped or slow): fall through and cut the socket.
    }
  }
  redis.disconnect();
}

/** Map anything a Redis call threw to UnavailableError (ImErrors pass through), naming the operation. */
export function redisUnavailable(what: string, err: unknown): ImError {
  return toImError(err, (cause) => new UnavailableError(`redis unavailable: ${what} failed`, { cause }));
}

/** Run `fn`, mapping every failure to UnavailableError with the original as `cause`. */
export async function guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw redisUnavailable(what, err);
  }
}

/** How a store gets its client: a shared one (not closed by the store) or its own from a URL. */
export type RedisClientOption = { redis: Redis; url?: never } | { url: string; redis?: never };

/**
 * Resolve a store's client option; `owned` says whether the store must close it. The scripts are
 * defined on the client here, before any command: with auto-pipelining, a script's first call in the
 * same tick as a plain command would join a pipeline made before the script existed, and fail
 * (`pipeline[functionName] is not a function`, then an uncaught error inside ioredis).
 */
export function resolveClient(opt: RedisClientOption, log: Logger | undefined, name: string): { redis: Redis; owned: boolean } {
  const resolved = opt.redis !== undefined ? { redis: opt.redis, owned: false } : { redis: connectRedis({ url: opt.url, name, ...(log === undefined ? {} : { log }) }), owned: true };
  installScripts(resolved.redis);
  return resolved;
}
