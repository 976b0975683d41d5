import { InvalidArgumentError } from '@switchboard/core';

/**
 * How Switchboard reaches Redis (`IM_REDIS_MODE`):
 * - `single`: one `redis://` URL (`IM_REDIS_URL`), as before;
 * - `cluster`: Redis Cluster through ioredis' cluster client; `IM_REDIS_URL` is a comma-separated list
 *   of seed nodes (any reachable master or replica; the client discovers the rest with CLUSTER SLOTS);
 * - `sentinel`: a Sentinel-managed master; `IM_REDIS_URL` lists the sentinels and
 *   `IM_REDIS_SENTINEL_NAME` names the master (`SENTINEL get-master-addr-by-name`).
 */
export type RedisMode = 'single' | 'cluster' | 'sentinel';

export const REDIS_MODES: readonly RedisMode[] = ['single', 'cluster', 'sentinel'];

/** The master name a sentinel setup uses when none is given (Sentinel's own example name). */
export const DEFAULT_REDIS_SENTINEL_NAME = 'mymaster';

/** One endpoint of a seed list, with what its URL says about authentication and the database. */
export interface RedisSeed {
  host: string;
  port: number;
  username?: string;
  password?: string;
  /** `rediss:`: TLS. */
  tls: boolean;
  /** Database index from the URL path (`/2`); always 0 on Redis Cluster. */
  db: number;
}

/** Split `IM_REDIS_URL` on commas: every entry must be a `redis://` or `rediss://` URL with a host. */
export function splitRedisUrls(raw: string): string[] {
  const urls = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (urls.length === 0) throw new InvalidArgumentError('redis: at least one redis:// URL is required');
  return urls;
}

/** Parse one `redis[s]://[user:pass@]host[:port][/db]` URL. Throws InvalidArgumentError. */
export function parseRedisSeed(url: string): RedisSeed {
  let u: URL;
  try {
    u = new URL(url);
  } catch (err) {
    throw new InvalidArgumentError(`redis: not a URL: ${JSON.stringify(redactRedisUrl(url))}`, { cause: err });
  }
  if ((u.protocol !== 'redis:' && u.protocol !== 'rediss:') || u.hostname === '') {
    throw new InvalidArgumentError(`redis: must be a redis:// or rediss:// URL with a host: ${JSON.stringify(redactRedisUrl(url))}`);
  }
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new InvalidArgumentError(`redis: bad database in ${JSON.stringify(redactRedisUrl(url))}`);
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  return {
    host,
    port: u.port === '' ? 6379 : Number(u.port),
    ...(u.username === '' ? {} : { username: decodeURIComponent(u.username) }),
    ...(u.password === '' ? {} : { password: decodeURIComponent(u.password) }),
    tls: u.protocol === 'rediss:',
    db,
  };
}

/**
 * Check a mode and its URL list together (the CLI's config check and `connectRedis` use it): `single`
 * takes exactly one URL; `cluster` and `sentinel` one or more. Returns the parsed seeds.
 */
export function parseRedisTopology(mode: RedisMode, raw: string): RedisSeed[] {
  if (!REDIS_MODES.includes(mode)) throw new InvalidArgumentError(`redis: unknown mode ${JSON.stringify(mode)} (single, cluster, sentinel)`);
  const seeds = splitRedisUrls(raw).map(parseRedisSeed);
  if (mode === 'single' && seeds.length !== 1) {
    throw new InvalidArgumentError('redis: single mode takes one URL; set IM_REDIS_MODE=cluster or sentinel for a list');
  }
  return seeds;
}

/** Hide the password of a URL (or of each URL of a list) in messages. */
export function redactRedisUrl(url: string): string {
  return url.replace(/\/\/([^:@/,]*):([^@/,]*)@/g, '//$1:***@');
}
