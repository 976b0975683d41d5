import type { Redis } from 'ioredis';
import type { Logger, UserId } from '@switchboard/core';
import { budgetOptions, type BudgetCharge, type OfflineBudget, type OfflineBudgetOptions } from '../offline-budget.js';
import { closeRedis, guard, resolveClient, type RedisClientOption } from './connect.js';
import { redisKeys, type RedisKeys } from './keys.js';
import { runScript } from './scripts.js';

export type RedisOfflineBudgetOptions = RedisClientOption &
  OfflineBudgetOptions & {
    /** Key prefix (`IM_KEY_PREFIX`). @default 'im' */
    prefix?: string;
    log?: Logger;
  };

/**
 * OfflineBudget on Redis: one counter per sender, `<prefix>:{<sender>}:offline:budget`, in the
 * sender's hash slot, changed only by `offline-budget.lua` (check and add in one step, so gateways
 * charging the same sender at once cannot both slip under the budget). The counter expires with its
 * window. Every failure is an UnavailableError with the ioredis error as `cause`.
 */
export class RedisOfflineBudget implements OfflineBudget {
  private readonly redis: Redis;
  private readonly owned: boolean;
  private readonly keys: RedisKeys;
  private readonly bytesPerWindow: number;
  private readonly windowMs: number;

  constructor(opts: RedisOfflineBudgetOptions) {
    ({ bytesPerWindow: this.bytesPerWindow, windowMs: this.windowMs } = budgetOptions(opts));
    this.keys = redisKeys(opts.prefix);
    ({ redis: this.redis, owned: this.owned } = resolveClient(opts, opts.log, 'offline-budget'));
  }

  charge(sender: UserId, bytes: number): Promise<BudgetCharge> {
    return guard('offline budget', async () => {
      const r = await runScript(this.redis, 'sbOfflineBudget', [this.keys.offlineBudget(sender)], [Math.max(0, Math.ceil(bytes)), this.bytesPerWindow, this.windowMs]);
      return Number(r) === 1 ? 'ok' : 'over';
    });
  }

  refund(sender: UserId, bytes: number): Promise<void> {
    return guard('offline budget refund', async () => {
      if (bytes <= 0) return;
      await runScript(this.redis, 'sbOfflineBudget', [this.keys.offlineBudget(sender)], [-Math.ceil(bytes), this.bytesPerWindow, this.windowMs]);
    });
  }

  used(sender: UserId): Promise<number> {
    return guard('offline budget read', async () => Number((await this.redis.get(this.keys.offlineBudget(sender))) ?? 0));
  }

  async close(): Promise<void> {
    if (this.owned) await closeRedis(this.redis);
  }
}
