/**
 * Micro-benchmark of the route lookup on the hot path (one HMGET per remote receiver): N concurrent
 * `RedisRouteStore.lookup` calls on one `connectRedis` client, with ioredis auto-pipelining off and
 * on (the client's option is flipped between rounds; ioredis reads it per command). Prints lookups/s
 * and the CPU seconds of redis-server (from /proc) and of this process per round.
 *
 *     node --conditions=source --import tsx packages/cluster/scripts/redis-lookup-bench.ts [N] [rounds] [inFlight]
 *
 * `inFlight` 0 (default) issues all N at once; K > 0 keeps K in flight, each answer issuing the next.
 *
 * Env: IM_REDIS_URL (default redis://127.0.0.1:6379). Writes 1000 routes under a unique prefix and
 * deletes them afterwards.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { asConnId, asNodeId, asUserId } from '@switchboard/core';
import { RedisRouteStore, closeRedis, connectRedis } from '../src/redis/index.js';

const N = Number(process.argv[2] ?? 50_000);
const ROUNDS = Number(process.argv[3] ?? 3);
/** 0: all N lookups issued at once; K > 0: K lookups kept in flight. */
const CHAINS = Number(process.argv[4] ?? 0);
const USERS = 1_000;
const url = process.env['IM_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const prefix = `t-lookup-bench-${randomBytes(4).toString('hex')}`;
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

function pids(name: string): number[] {
  try {
    return execFileSync('pgrep', ['-x', name]).toString().trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

const redisPids = pids('redis-server');
const redisCpu = (): number => redisPids.reduce((s, p) => s + cpuSeconds(p), 0);

const redis = connectRedis({ url, name: 'lookup-bench' });
const routes = new RedisRouteStore({ redis, prefix });
const node = asNodeId('bench-node');
for (let i = 0; i < USERS; i++) {
  await routes.claim({ userId: asUserId(`u${i}`), nodeId: node, connId: asConnId(`c${i}`), firstLoginTime: i + 1, since: Date.now() }, 0);
}

async function round(autoPipelining: boolean): Promise<Record<string, unknown>> {
  redis.options.enableAutoPipelining = autoPipelining;
  const cpu0 = process.cpuUsage();
  const r0 = redisCpu();
  const t0 = performance.now();
  let found: Array<unknown>;
  if (CHAINS === 0) {
    found = await Promise.all(Array.from({ length: N }, (_, i) => routes.lookup(asUserId(`u${i % USERS}`))));
  } else {
    // CHAINS lookups in flight; each answer issues the next one (closer to a gateway's steady state).
    found = [];
    let issued = 0;
    const chain = async (): Promise<void> => {
      while (issued < N) {
        const i = issued++;
        found.push(await routes.lookup(asUserId(`u${i % USERS}`)));
      }
    };
    await Promise.all(Array.from({ length: CHAINS }, chain));
  }
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  if (found.some((r) => r === null)) throw new Error('a lookup missed');
  return {
    autoPipelining,
    inFlight: CHAINS === 0 ? N : CHAINS,
    seconds: Number(secs.toFixed(3)),
    lookupsPerS: Math.round(N / secs),
    redisCpuS: redisPids.length === 0 ? null : Number((redisCpu() - r0).toFixed(2)),
    benchProcessCpuS: Number(((cpu.user + cpu.system) / 1e6).toFixed(2)),
  };
}

await round(true); // warm-up (JIT, connection)
for (let i = 0; i < ROUNDS; i++) {
  console.log(JSON.stringify({ n: N, ...(await round(false)) }));
  console.log(JSON.stringify({ n: N, ...(await round(true)) }));
}

redis.options.enableAutoPipelining = true;
await routes.purgeNode(node);
await closeRedis(redis);
