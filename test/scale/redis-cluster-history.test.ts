import { afterAll, beforeAll } from 'vitest';
import { delay, silentLogger } from '@switchboard/core';
import { closeRedis, connectRedis, RedisHistoryStore } from '@switchboard/cluster/redis';
import { startRedisCluster, uniquePrefix, type TestRedisCluster } from '@switchboard/testkit';
import { historyStoreContract } from '../../packages/cluster/test/contract/history-store.contract.js';

/**
 * The HistoryStore contract on a real 3-master Redis Cluster (IM_REDIS_MODE=cluster). There a
 * conversation's keys and its users' index keys live in different slots, so the store runs the append
 * and the index updates as separate scripts side by side instead of one script (single Redis and
 * Sentinel): this proves that path gives the same answers.
 */
type Redis = ReturnType<typeof connectRedis>;

let rc: TestRedisCluster;
let redis: Redis;
const clients: Redis[] = [];

beforeAll(async () => {
  rc = await startRedisCluster({ masters: 3, name: 'scale-rc-history' });
  redis = connectRedis({ url: rc.url, mode: 'cluster', name: 'test-history-cluster', log: silentLogger() });
  await redis.ping();
}, 90_000);
afterAll(async () => {
  await Promise.all(clients.map((c) => closeRedis(c)));
  if (redis) await closeRedis(redis);
  await rc?.stop();
}, 30_000);

historyStoreContract('RedisHistoryStore on Redis Cluster', async (opts) => {
  const prefix = uniquePrefix('history-rc');
  return {
    store: new RedisHistoryStore({ redis, prefix, ...opts }),
    // Its own cluster connection: the two stores' scripts really interleave.
    twin: async () => {
      const own = connectRedis({ url: rc.url, mode: 'cluster', name: 'test-history-cluster-twin', log: silentLogger() });
      clients.push(own);
      return new RedisHistoryStore({ redis: own, prefix, ...opts });
    },
    now: () => Date.now(),
    elapse: (ms) => delay(ms),
    // The cluster is thrown away after the file; each case has its own prefix.
    cleanup: async () => {},
  };
});
