#!/usr/bin/env node
// Micro benchmark of RedisHistoryStore.append alone (no gateway, no RabbitMQ): N appends of random
// pairs of U users (both users indexed, as a peer message), `inflight` at once, on a unique key prefix
// that is deleted afterwards. The load of `pnpm bench` with history on: almost every append opens a new
// conversation, and each user's index grows to hundreds of conversations.
//
//   node --conditions=source --import tsx packages/bench/scripts/history-redis-micro.mjs \
//     [--n 100000] [--users 1000] [--inflight 200] [--body 40] [--pairs 0] [--url redis://127.0.0.1:6379] [--json]
//
// --pairs K: draw the pairs from K fixed ones instead (ongoing conversations, N/K messages each).
//
// Prints appends/s, Redis CPU µs per append (INFO cpu used_cpu_sys + used_cpu_user, before/after: the
// whole server, so other clients' load counts too; run on a quiet Redis), the scripts' own time per
// append (INFO commandstats evalsha+eval usec: the same caveat), client CPU µs per append
// (process.cpuUsage of this process: the store's encoding and ioredis), Redis memory per append and
// the commands the scripts run per append (commandstats; also counts other clients' commands). On a
// busy shared machine the CPU figures move by ±20 % from run to run: alternate the sides and take
// medians, or point --url at a private redis-server.
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';

const { values: o } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    users: { type: 'string', default: '1000' },
    inflight: { type: 'string', default: '200' },
    body: { type: 'string', default: '40' },
    pairs: { type: 'string', default: '0' },
    url: { type: 'string', default: process.env.IM_REDIS_URL ?? 'redis://127.0.0.1:6379' },
    json: { type: 'boolean', default: false },
  },
});
const N = Number(o.n);
const U = Number(o.users);
const INFLIGHT = Number(o.inflight);
const body = 'x'.repeat(Number(o.body));

// Relative imports: the bench package does not depend on @switchboard/cluster (run from source, tsx).
const { connectRedis, closeRedis, RedisHistoryStore } = await import('../../cluster/src/redis/index.ts');
const { peerConversation } = await import('../../cluster/src/history-store.ts');

const prefix = `bench-hmicro-${randomBytes(6).toString('hex')}`;
const admin = connectRedis({ url: o.url, name: 'history-micro-admin' });
const store = new RedisHistoryStore({ url: o.url, prefix });
const users = Array.from({ length: U }, (_, i) => `u${String(i).padStart(4, '0')}`);
const pair = () => {
  const a = users[(Math.random() * U) | 0];
  let b = users[(Math.random() * U) | 0];
  while (b === a) b = users[(Math.random() * U) | 0];
  return [a, b];
};
const fixed = Array.from({ length: Number(o.pairs) }, pair);

const info = async () => {
  const text = `${await admin.info('cpu')}\n${await admin.info('commandstats')}\n${await admin.info('memory')}`;
  const num = (re) => Number(re.exec(text)?.[1] ?? 0);
  return {
    cpuS: num(/^used_cpu_sys:([\d.]+)/m) + num(/^used_cpu_user:([\d.]+)/m),
    scriptUs: num(/^cmdstat_evalsha:.*?usec=(\d+)/m) + num(/^cmdstat_eval:.*?usec=(\d+)/m),
    mem: num(/^used_memory:(\d+)/m),
    // Commands the scripts ran (Redis counts those run from Lua in commandstats too).
    calls: [...text.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)]
      .filter(([, name]) => !['evalsha', 'eval', 'info', 'scan', 'client', 'select'].includes(name))
      .reduce((sum, [, , n]) => sum + Number(n), 0),
  };
};

let next = 0;
let seqSum = 0;
const one = async () => {
  const i = next++;
  const [a, b] = fixed.length > 0 ? fixed[(Math.random() * fixed.length) | 0] : pair();
  const r = await store.append(
    peerConversation(a, b),
    { fp: `f${i}-${prefix}`, from: a, to: b, dataContent: body, typeu: 0, sentAt: Date.now() },
    { indexFor: [a, b] },
  );
  seqSum += r.seq;
};
const worker = async () => {
  while (next < N) await one();
};

try {
  // Warm up the connections and the script cache (not measured; the keys go with the prefix).
  await store.lastSeq(peerConversation(users[0], users[1]));
  const before = await info();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: INFLIGHT }, worker));
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const after = await info();
  const res = {
    n: N,
    users: U,
    pairs: fixed.length,
    inflight: INFLIGHT,
    appendsPerS: Math.round((N / ms) * 1000),
    redisCpuUsPerAppend: +(((after.cpuS - before.cpuS) * 1e6) / N).toFixed(2),
    scriptUsPerAppend: +((after.scriptUs - before.scriptUs) / N).toFixed(2),
    clientCpuUsPerAppend: +((cpu.user + cpu.system) / N).toFixed(2),
    redisBytesPerAppend: Math.round((after.mem - before.mem) / N),
    redisCallsPerAppend: +((after.calls - before.calls) / N).toFixed(2),
    meanSeq: +(seqSum / N).toFixed(3),
  };
  if (o.json) console.log(JSON.stringify(res));
  else {
    console.log(`${N} appends, ${U} users, ${INFLIGHT} in flight: ${res.appendsPerS} appends/s`);
    console.log(`Redis CPU ${res.redisCpuUsPerAppend} µs/append (scripts ${res.scriptUsPerAppend} µs), client CPU ${res.clientCpuUsPerAppend} µs/append`);
    console.log(`Redis memory ${res.redisBytesPerAppend} B/append, ${res.redisCallsPerAppend} commands/append in the scripts, mean seq ${res.meanSeq}`);
  }
} finally {
  await store.close();
  // Delete the prefix's keys (SCAN + UNLINK; never FLUSH).
  let cursor = '0';
  do {
    const [c, keys] = await admin.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = c;
    if (keys.length > 0) await admin.unlink(...keys);
  } while (cursor !== '0');
  await closeRedis(admin);
}
