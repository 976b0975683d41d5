import type { Redis } from 'ioredis';
import { InvalidArgumentError, type UserId } from '@switchboard/core';
import { DEFAULT_PRESENCE_TTL_MS, type PresenceStore, type PresenceStoreOptions } from '../presence-store.js';
import { closeRedis, guard, resolveClient, type RedisClientOption } from './connect.js';
import { redisKeys, type RedisKeys } from './keys.js';
import { runScript } from './scripts.js';

export type RedisPresenceStoreOptions = RedisClientOption &
  PresenceStoreOptions & {
    /** Key prefix (`IM_KEY_PREFIX`). @default 'im' */
    prefix?: string;
  };

/**
 * PresenceStore on Redis: one string per user, `<prefix>:{<user>}:seen` (hash-tagged like the
 * user's route, so on Redis Cluster it shares the user's slot), written by `presence-seen.lua`
 * (forward only) with an expiry of `ttlMs`. Batches are one command per user sent together (no
 * MGET: on Redis Cluster the users' keys are in different slots), so one round trip per call.
 */
export class RedisPresenceStore implements PresenceStore {
  private readonly redis: Redis;
  private readonly owned: boolean;
  private readonly keys: RedisKeys;
  private readonly ttlMs: number;

  constructor(opts: RedisPresenceStoreOptions) {
    this.keys = redisKeys(opts.prefix);
    this.ttlMs = opts.ttlMs ?? DEFAULT_PRESENCE_TTL_MS;
    if (!Number.isSafeInteger(this.ttlMs) || this.ttlMs <= 0) throw new InvalidArgumentError(`presence ttlMs must be a positive integer, got ${this.ttlMs}`);
    ({ redis: this.redis, owned: this.owned } = resolveClient(opts, undefined, 'presence-store'));
  }

  seen(users: readonly UserId[], at: number): Promise<void> {
    return guard('presence seen', async () => {
      await Promise.all(users.map((u) => runScript(this.redis, 'sbPresenceSeen', [this.keys.lastSeen(u)], [Math.floor(at), this.ttlMs])));
    });
  }

  lastSeen(users: readonly UserId[]): Promise<Array<number | null>> {
    return guard('presence lastSeen', async () => {
      const values = await Promise.all(users.map((u) => this.redis.get(this.keys.lastSeen(u))));
      return values.map((v) => (v === null ? null : Number(v)));
    });
  }

  async close(): Promise<void> {
    if (this.owned) await closeRedis(this.redis);
  }
}
