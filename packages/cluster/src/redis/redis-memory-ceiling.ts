import type { Redis } from 'ioredis';
import type { Logger } from '@switchboard/core';
import { DEFAULT_STORAGE_CEILING_SAMPLE_MS, type StorageCeiling, type StorageSample } from '../offline-budget.js';
import { guard } from './connect.js';

/** Share of Redis's `maxmemory` used as the ceiling when none is configured (room left for routes and the registry). */
export const DEFAULT_REDIS_CEILING_MAXMEMORY_SHARE = 0.9;
/** Share of the Redis host's memory (`total_system_memory`) used when Redis has no `maxmemory` either. */
export const DEFAULT_REDIS_CEILING_SYSTEM_SHARE = 0.75;

export interface RedisMemoryCeilingOptions {
  /** A shared client (not closed here). */
  redis: Redis;
  /**
   * `used_memory` (bytes) above which offline stores are refused. 0 or absent: 90 % of Redis's
   * `maxmemory` when it is set, otherwise 75 % of `total_system_memory`.
   */
  maxBytes?: number;
  /** @default DEFAULT_STORAGE_CEILING_SAMPLE_MS */
  sampleMs?: number;
  log?: Logger;
  now?: () => number;
}

/** The `name:value` fields of an INFO section that are plain integers. */
function infoNumbers(info: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of info.split('\n')) {
    const m = /^([a-z_]+):(\d+)\r?$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/**
 * The total budget of a cluster's offline storage: Redis's `used_memory` (INFO memory) against a
 * ceiling, so offline stores are refused with a clear code while routes, logins and acks still
 * have room, instead of Redis refusing every write once it is full (or the host swapping). Sampled
 * in the background at most once per `sampleMs`, when `over()` finds the last sample stale: no
 * Redis call on the message path. A failed sample keeps the previous answer (logged).
 */
export class RedisMemoryCeiling implements StorageCeiling {
  private readonly sampleMs: number;
  private readonly now: () => number;
  private sampling: Promise<StorageSample> | null = null;
  private failedAt = 0;
  last: StorageSample | null = null;

  constructor(private readonly o: RedisMemoryCeilingOptions) {
    this.sampleMs = o.sampleMs ?? DEFAULT_STORAGE_CEILING_SAMPLE_MS;
    this.now = o.now ?? Date.now;
  }

  over(): boolean {
    const last = this.last;
    const due = (last === null || this.now() - last.at >= this.sampleMs) && this.now() - this.failedAt >= this.sampleMs;
    if (due && this.sampling === null) {
      this.sample().catch((err: unknown) => {
        this.failedAt = this.now();
        this.o.log?.warn({ err }, 'Redis memory sample failed; the offline storage ceiling keeps its last reading');
      });
    }
    return last !== null && last.usedBytes > last.ceilingBytes;
  }

  sample(): Promise<StorageSample> {
    this.sampling ??= guard('INFO memory', async () => {
      try {
        const info = infoNumbers(await this.o.redis.info('memory'));
        const used = info.get('used_memory') ?? 0;
        const s: StorageSample = { usedBytes: used, ceilingBytes: this.ceiling(info), at: this.now() };
        this.last = s;
        return s;
      } finally {
        this.sampling = null;
      }
    });
    return this.sampling;
  }

  private ceiling(info: Map<string, number>): number {
    if (this.o.maxBytes && this.o.maxBytes > 0) return this.o.maxBytes;
    const maxmemory = info.get('maxmemory') ?? 0;
    if (maxmemory > 0) return Math.floor(maxmemory * DEFAULT_REDIS_CEILING_MAXMEMORY_SHARE);
    const system = info.get('total_system_memory') ?? 0;
    return system > 0 ? Math.floor(system * DEFAULT_REDIS_CEILING_SYSTEM_SHARE) : Number.MAX_SAFE_INTEGER;
  }

  async close(): Promise<void> {}
}
