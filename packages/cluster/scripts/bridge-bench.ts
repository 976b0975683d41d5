/**
 * Micro-benchmark of the AMQP bridge alone: N `deliver` messages from bridge A to bridge B through
 * the local RabbitMQ, with publisher confirms, K sends kept in flight (closed loop: each confirm
 * issues the next send, as a gateway under load does). Prints msg/s, the AMQP messages A published
 * (when the bridge has `stats()`), send→confirm latency p50/p99, and the CPU seconds RabbitMQ (beam.smp, from /proc) and this
 * process used during the run.
 *
 *     node --conditions=source --import tsx packages/cluster/scripts/bridge-bench.ts [N] [inFlight]
 *
 * Env: IM_AMQP_URL (default amqp://guest:guest@127.0.0.1:5672). Uses a unique prefix and deletes its
 * exchange afterwards.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { connect } from 'amqplib';
import { asUserId, newNodeId } from '@switchboard/core';
import { AmqpBridge, bridgeExchange } from '../src/amqp/index.js';

const N = Number(process.argv[2] ?? 50_000);
const IN_FLIGHT = Number(process.argv[3] ?? 2_000);
const url = process.env['IM_AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';
const prefix = `t-bridge-bench-${randomBytes(4).toString('hex')}`;
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

function beamPids(): number[] {
  try {
    return execFileSync('pgrep', ['-x', 'beam.smp']).toString().trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** utime + stime of `pid` in seconds (fields 14 and 15 of /proc/<pid>/stat). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

const beam = beamPids();
const beamCpu = (): number => beam.reduce((s, p) => s + cpuSeconds(p), 0);

const a = new AmqpBridge({ url, prefix, nodeId: newNodeId('bench-a'), sendTimeoutMs: 30_000 });
const b = new AmqpBridge({ url, prefix, nodeId: newNodeId('bench-b'), sendTimeoutMs: 30_000 });
let received = 0;
let allReceived: () => void = () => undefined;
const receivedAll = new Promise<void>((r) => (allReceived = r));
await a.start(() => undefined);
await b.start(() => {
  received += 1;
  if (received === N) allReceived();
});

const packet = JSON.stringify({ type: 2, dataContent: 'x'.repeat(100), from: 'u1', to: 'u2', fp: 'f'.repeat(36), QoS: true, typeu: -1 });
let issued = 0;
let confirmed = 0;
let failed = 0;
let allConfirmed: () => void = () => undefined;
const confirmedAll = new Promise<void>((r) => (allConfirmed = r));

const latencies = new Float64Array(N);

function sendOne(): void {
  if (issued >= N) return;
  const i = issued++;
  const sentAt = performance.now();
  a.send(b.nodeId, { type: 'deliver', origin: a.nodeId, from: asUserId('sender'), to: asUserId(`u${i % 1000}`), fp: `fp-${i}`, packet }).then(
    () => {
      latencies[confirmed] = performance.now() - sentAt;
      confirmed += 1;
      if (confirmed + failed === N) allConfirmed();
      else sendOne();
    },
    () => {
      failed += 1;
      if (confirmed + failed === N) allConfirmed();
      else sendOne();
    },
  );
}

const cpu0 = process.cpuUsage();
const beam0 = beamCpu();
const t0 = performance.now();
for (let k = 0; k < IN_FLIGHT; k++) sendOne();
await confirmedAll;
const tConfirmed = performance.now();
let grace: NodeJS.Timeout | undefined;
await Promise.race([receivedAll, new Promise((r) => (grace = setTimeout(r, 10_000)))]);
clearTimeout(grace);
const t1 = performance.now();
const beam1 = beamCpu();
const cpu1 = process.cpuUsage(cpu0);

const sorted = latencies.subarray(0, confirmed).sort();
const pct = (q: number): number => Number((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN).toFixed(2));
const stats = (a as unknown as { stats?: () => Record<string, number> }).stats?.();
const secs = (t1 - t0) / 1000;
console.log(
  JSON.stringify(
    {
      n: N,
      inFlight: IN_FLIGHT,
      confirmed,
      failed,
      received,
      seconds: Number(secs.toFixed(3)),
      confirmedAfterS: Number(((tConfirmed - t0) / 1000).toFixed(3)),
      msgPerS: Math.round(received / secs),
      confirmMsP50: pct(0.5),
      confirmMsP99: pct(0.99),
      rabbitCpuS: beam.length === 0 ? null : Number((beam1 - beam0).toFixed(2)),
      rabbitCpuCores: beam.length === 0 ? null : Number(((beam1 - beam0) / secs).toFixed(2)),
      benchProcessCpuS: Number(((cpu1.user + cpu1.system) / 1e6).toFixed(2)),
      publisherStats: stats ?? null,
    },
    null,
    2,
  ),
);

await a.close();
await b.close();
const admin = await connect(url);
const ch = await admin.createChannel();
await ch.deleteExchange(bridgeExchange(prefix)).catch(() => undefined);
await admin.close();
