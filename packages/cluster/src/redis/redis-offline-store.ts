import type { Redis } from 'ioredis';
import { InvalidArgumentError, type Logger, type UserId } from '@switchboard/core';
import {
  DEFAULT_OFFLINE_CAPACITY,
  DEFAULT_OFFLINE_TTL_MS,
  type OfflineMessage,
  type OfflineStore,
  type StoreOutcome,
} from '../offline-store.js';
import { closeRedis, guard, resolveClient, type RedisClientOption } from './connect.js';
import { redisKeys, type RedisKeys } from './keys.js';
import type { ReplicaWait } from './replica-wait.js';
import { runScriptReplicated } from './replica-wait.js';
import { runScript } from './scripts.js';

export type RedisOfflineStoreOptions = RedisClientOption & {
  /** Key prefix (`IM_KEY_PREFIX`). @default 'im' */
  prefix?: string;
  /** Most messages one user's queue holds; a store beyond it answers `full`. @default DEFAULT_OFFLINE_CAPACITY (1000) */
  capacity?: number;
  /** The queue expires this long after its last successful store, ms. @default DEFAULT_OFFLINE_TTL_MS (7 days) */
  ttlMs?: number;
  /**
   * Replicas a store waits for before it resolves (`WAIT`, see ReplicaWait); none when absent. A store
   * not confirmed by them in time rejects with UnavailableError (the message is on the master; the
   * sender's resend is a `duplicate` that waits again).
   */
  waitReplicas?: ReplicaWait;
  log?: Logger;
};

/** What the messages hash holds per fp. */
interface StoredValue {
  t: number;
  p: string;
}

/**
 * OfflineStore on Redis (architecture §3, §5). Per user, in the user's hash slot:
 * `<prefix>:{<user>}:offline:q` (list of fps, oldest first) and `<prefix>:{<user>}:offline:m`
 * (hash fp → `{"t":storedAt,"p":packet}`), changed only by Lua scripts so the two never disagree:
 * `offline-store.lua` (idempotent by fp, capped, refreshes both expiries), `offline-peek.lua`,
 * `offline-remove.lua` (by fp, on the receiver's ack). Reading never removes anything.
 *
 * `store` resolves once Redis acknowledged the write and, with `waitReplicas`, once the replicas it
 * asks for have it (durability beyond that is Redis's persistence setting). Every failure is an UnavailableError with the ioredis error as `cause`.
 */
export class RedisOfflineStore implements OfflineStore {
  private readonly redis: Redis;
  private readonly owned: boolean;
  private readonly keys: RedisKeys;
  private readonly capacity: number;
  private readonly ttlMs: number;
  private readonly waitReplicas: ReplicaWait | undefined;

  constructor(opts: RedisOfflineStoreOptions) {
    this.capacity = opts.capacity ?? DEFAULT_OFFLINE_CAPACITY;
    this.ttlMs = Math.ceil(opts.ttlMs ?? DEFAULT_OFFLINE_TTL_MS);
    if (!Number.isInteger(this.capacity) || this.capacity < 1) throw new InvalidArgumentError(`offline capacity must be a positive integer: ${this.capacity}`);
    if (!(this.ttlMs >= 1)) throw new InvalidArgumentError(`offline ttlMs must be positive: ${String(opts.ttlMs)}`);
    this.keys = redisKeys(opts.prefix);
    this.waitReplicas = opts.waitReplicas;
    ({ redis: this.redis, owned: this.owned } = resolveClient(opts, opts.log, 'offline-store'));
  }

  store(userId: UserId, msg: { fp: string; packet: string }): Promise<StoreOutcome> {
    return guard('offline store', async () => {
      const value: StoredValue = { t: Date.now(), p: msg.packet };
      const outcome = await runScriptReplicated(
        this.redis,
        'sbOfflineStore',
        this.userKeys(userId),
        [msg.fp, JSON.stringify(value), this.capacity, this.ttlMs],
        this.waitReplicas,
      );
      if (outcome !== 'stored' && outcome !== 'duplicate' && outcome !== 'full') {
        throw new Error(`offline-store.lua answered an unknown outcome: ${String(outcome)}`);
      }
      return outcome;
    });
  }

  peek(userId: UserId, limit: number): Promise<OfflineMessage[]> {
    return guard('offline peek', async () => {
      if (limit <= 0) return [];
      const flat = (await runScript(this.redis, 'sbOfflinePeek', this.userKeys(userId), [Math.floor(limit)])) as string[];
      const out: OfflineMessage[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const v = JSON.parse(flat[i + 1] as string) as StoredValue;
        out.push({ fp: flat[i] as string, packet: v.p, storedAt: v.t });
      }
      return out;
    });
  }

  remove(userId: UserId, fp: string): Promise<boolean> {
    return guard('offline remove', async () => Number(await runScript(this.redis, 'sbOfflineRemove', this.userKeys(userId), [fp])) === 1);
  }

  count(userId: UserId): Promise<number> {
    return guard('offline count', () => this.redis.hlen(this.keys.offlineMessages(userId)));
  }

  async close(): Promise<void> {
    if (this.owned) await closeRedis(this.redis);
  }

  private userKeys(userId: UserId): [string, string] {
    return [this.keys.offlineQueue(userId), this.keys.offlineMessages(userId)];
  }
}
