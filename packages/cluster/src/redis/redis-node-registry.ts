import type { Redis } from 'ioredis';
import type { Logger, NodeId } from '@switchboard/core';
import type { NodeRecord, NodeRegistry } from '../node-registry.js';
import { closeRedis, guard, resolveClient, type RedisClientOption } from './connect.js';
import { redisKeys, type RedisKeys } from './keys.js';
import { runScript } from './scripts.js';

export type RedisNodeRegistryOptions = RedisClientOption & {
  /** Key prefix (`IM_KEY_PREFIX`). @default 'im' */
  prefix?: string;
  log?: Logger;
};

/**
 * NodeRegistry on Redis (architecture §3). Three keys in one hash slot (`{nodes}` tag):
 * `<prefix>:registry:{nodes}:expiry` (sorted set node id → expiry, ms on the Redis clock),
 * `…:records` (hash node id → NodeRecord JSON) and `…:drain` (set of ids asked to drain).
 *
 * Expiry is judged by the Redis clock inside the scripts (`TIME`), so gateways and dispatch with
 * skewed clocks agree on who is live. A record past its expiry is not listed; it stays, with its id
 * in `listExpired()`, until `forget(id)` (the sweeper purges its routes first) or a new `report`
 * (the node was only late). `remove` (clean exit) drops everything at once. `reportedAt` is the
 * reporter's clock. Every failure is an UnavailableError with the ioredis error as `cause`.
 */
export class RedisNodeRegistry implements NodeRegistry {
  private readonly redis: Redis;
  private readonly owned: boolean;
  private readonly keys: RedisKeys;

  constructor(opts: RedisNodeRegistryOptions) {
    this.keys = redisKeys(opts.prefix);
    ({ redis: this.redis, owned: this.owned } = resolveClient(opts, opts.log, 'node-registry'));
  }

  report(record: Omit<NodeRecord, 'reportedAt'>, ttlMs: number): Promise<void> {
    return guard('node report', async () => {
      const full: NodeRecord = { ...record, ports: { ...record.ports }, reportedAt: Date.now() };
      await runScript(this.redis, 'sbNodeReport', this.liveKeys(), [record.id, JSON.stringify(full), Math.max(1, Math.ceil(ttlMs))]);
    });
  }

  list(): Promise<NodeRecord[]> {
    return guard('node list', async () => {
      const recs = (await runScript(this.redis, 'sbNodeList', this.liveKeys(), [])) as string[];
      return recs.map((r) => JSON.parse(r) as NodeRecord);
    });
  }

  get(id: NodeId): Promise<NodeRecord | null> {
    return guard('node get', async () => {
      const rec = (await runScript(this.redis, 'sbNodeGet', this.liveKeys(), [id])) as string | null;
      return rec === null ? null : (JSON.parse(rec) as NodeRecord);
    });
  }

  remove(id: NodeId): Promise<void> {
    return guard('node remove', async () => {
      await runScript(this.redis, 'sbNodeRemove', this.allKeys(), [id]);
    });
  }

  listExpired(): Promise<NodeId[]> {
    return guard('node listExpired', async () => (await runScript(this.redis, 'sbNodeExpired', [this.keys.nodeExpiry()], [])) as NodeId[]);
  }

  forget(id: NodeId): Promise<void> {
    return guard('node forget', async () => {
      await runScript(this.redis, 'sbNodeForget', this.allKeys(), [id]);
    });
  }

  requestDrain(id: NodeId): Promise<void> {
    return guard('node requestDrain', async () => {
      await this.redis.sadd(this.keys.nodeDrain(), id);
    });
  }

  drainRequested(id: NodeId): Promise<boolean> {
    return guard('node drainRequested', async () => (await this.redis.sismember(this.keys.nodeDrain(), id)) === 1);
  }

  async close(): Promise<void> {
    if (this.owned) await closeRedis(this.redis);
  }

  private liveKeys(): [string, string] {
    return [this.keys.nodeExpiry(), this.keys.nodeRecords()];
  }

  private allKeys(): [string, string, string] {
    return [this.keys.nodeExpiry(), this.keys.nodeRecords(), this.keys.nodeDrain()];
  }
}
