import { Redis } from 'ioredis';
import { backoffMs, silentLogger, toImError, UnavailableError, withTimeout, type ImError, type Logger } from '@switchboard/core';
import {
  DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
  DEFAULT_REDIS_CONNECT_TIMEOUT_MS,
  DEFAULT_REDIS_ERROR_LOG_INTERVAL_MS,
  DEFAULT_REDIS_RECONNECT_BASE_MS,
  DEFAULT_REDIS_RECONNECT_MAX_MS,
  DEFAULT_REDIS_SOCKET_TIMEOUT_MS,
} from './defaults.js';
import { installScripts } from './scripts.js';

export interface ConnectRedisOptions {
  /** `redis://[user:pass@]host:port[/db]` (`IM_REDIS_URL`). */
  url: string;
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
 * Errors from this client are ioredis errors; the stores map them to UnavailableError.
 * Close it with `closeRedis`.
 */
export function connectRedis(opts: ConnectRedisOptions): Redis {
  const log = (opts.log ?? silentLogger()).child({ component: 'redis', ...(opts.name === undefined ? {} : { redis: opts.name }) });
  const reconnectMaxMs = opts.reconnectMaxMs ?? DEFAULT_REDIS_RECONNECT_MAX_MS;
  const redis = new Redis(opts.url, {
    ...(opts.name === undefined ? {} : { connectionName: opts.name }),
    connectTimeout: opts.connectTimeoutMs ?? DEFAULT_REDIS_CONNECT_TIMEOUT_MS,
    commandTimeout: opts.commandTimeoutMs ?? DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
    socketTimeout: opts.socketTimeoutMs ?? DEFAULT_REDIS_SOCKET_TIMEOUT_MS,
    retryStrategy: (times) => backoffMs(times - 1, DEFAULT_REDIS_RECONNECT_BASE_MS, reconnectMaxMs),
    maxRetriesPerRequest: 0,
    enableOfflineQueue: true,
    enableAutoPipelining: true,
  });

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
