#!/usr/bin/env node
// Runs one bench command several times on a quiet machine and prints the medians: the method of
// docs/benchmarks.md ("median of 3 quiet runs").
//
//   node packages/bench/scripts/series.mjs --name closed --runs 3 --attempts 6 --out DIR -- \
//     --spawn-standalone --users 1000 --inflight 4 --echo-baseline ...
//   node packages/bench/scripts/series.mjs --name group500 -- group --spawn-cluster 3 --members 500 --rate 40 ...
//   node packages/bench/scripts/series.mjs --name open5k -- --spawn-standalone --rate 5000 --workers 2
//
// (MobileIMSDK's demo server and Switchboard side by side, alternately: scripts/side-by-side.ts.)
//
// Before each attempt it waits (up to 60 s) until the machine has used less than 0.15 cores over
// 3 s; an attempt counts only when no second of its measured window had more than 0.2 cores of
// busy time beyond the bench's own processes (and, with the echo baseline, its window stayed under
// 0.25 cores). Each attempt's JSON is kept in DIR as <name>-<n>.json, noisy ones as
// <name>-noisy-<n>.json. Prints one line per attempt and a summary; exit 1 when fewer than --runs
// quiet runs were collected.
import { spawnSync } from 'node:child_process';
import { readFileSync, mkdirSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const sep = process.argv.indexOf('--');
if (sep < 0) {
  console.error('usage: series.mjs --name N [--runs 3] [--attempts 6] [--out DIR] [--max-other 0.2] -- <bench arguments>');
  process.exit(2);
}
const { values: o } = parseArgs({
  args: process.argv.slice(2, sep),
  options: {
    name: { type: 'string' },
    runs: { type: 'string', default: '3' },
    attempts: { type: 'string', default: '6' },
    out: { type: 'string', default: 'bench-results' },
    'max-other': { type: 'string', default: '0.2' },
    idle: { type: 'boolean', default: false },
  },
});
if (!o.name) throw new Error('--name is required');
const benchArgs = process.argv.slice(sep + 1);
const runs = Number(o.runs);
const attempts = Number(o.attempts);
const maxOther = Number(o['max-other']);
const outDir = resolve(o.out);
mkdirSync(outDir, { recursive: true });
const root = resolve(new URL('../../..', import.meta.url).pathname);

function busyCores(ms) {
  const read = () => {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + f[4];
    return { busy: f.reduce((a, b) => a + b, 0) - idle, t: Date.now() };
  };
  const a = read();
  spawnSync('sleep', [String(ms / 1000)]);
  const b = read();
  return (b.busy - a.busy) / 100 / ((b.t - a.t) / 1000);
}

function waitQuiet() {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const c = busyCores(3_000);
    if (c < 0.15 || Date.now() > deadline) return c;
  }
}

/** Noise of one result: the worst second of other processes' CPU in the measured window. */
function noise(j) {
  if (o.idle) return { worst: Math.max(j.login?.cpu?.others ?? 0, j.idle?.cpu?.others ?? 0), echo: 0 };
  const sb = j.mode === 'group' ? j.group : j.switchboard;
  const warm = j.options.warmupS;
  const dur = j.options.durationS;
  const secs = (sb.timeline ?? []).filter((s) => s.t >= warm && s.t < warm + dur);
  const worst = Math.max(0, ...secs.map((s) => s.otherCores ?? 0));
  const echo = j.echo ? (j.echo.cpu?.others ?? 0) : 0;
  return { worst, echo };
}

const kept = [];
for (let n = 1; n <= attempts && kept.length < runs; n++) {
  const before = waitQuiet();
  const file = join(outDir, `${o.name}-${n}.json`);
  const args = ['--conditions=source', '--import', 'tsx', 'packages/cli/src/main.ts', 'bench', ...benchArgs, '--json', file, '--quiet'];
  const r = spawnSync('node', args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 64 << 20 });
  let j;
  try {
    j = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    console.log(`${o.name} #${n}: no JSON (exit ${r.status}); output:\n${r.stdout}`);
    continue;
  }
  const nz = noise(j);
  const quiet = nz.worst <= maxOther && nz.echo <= maxOther + 0.05;
  console.log(`${o.name} #${n}: exit ${r.status}, machine before ${before.toFixed(2)} cores, worst other-second ${nz.worst.toFixed(2)}${j.echo ? `, echo others ${nz.echo.toFixed(2)}` : ''} -> ${quiet ? 'kept' : 'noisy'}`);
  if (quiet && r.status === 0) kept.push(j);
  else renameSync(file, join(outDir, `${o.name}-noisy-${n}.json`));
}

const med = (xs) => {
  const s = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
};
const fmt = (xs, d = 1) => `${xs.map((x) => (typeof x === 'number' ? x.toFixed(d) : String(x))).join(', ')} -> median ${med(xs).toFixed(d)}`;
console.log(`\n${o.name}: ${kept.length} quiet runs of ${runs} wanted`);
if (o.idle) {
  console.log(`  logins/s          ${fmt(kept.map((j) => j.login?.loginsPerSec), 0)}`);
  console.log(`  bytes per user    ${fmt(kept.map((j) => j.memory?.bytesPerUser), 0)}`);
} else if (kept.some((j) => j.mode === 'group')) {
  const g = kept.map((j) => j.group);
  const b = g.map((x) => x.broker);
  console.log(`  group msg/s       ${fmt(g.map((x) => x.acceptedPerSec), 1)}`);
  console.log(`  deliveries/s      ${fmt(g.map((x) => x.deliveredPerSec), 0)}`);
  console.log(`  send→deliver p50  ${fmt(g.map((x) => x.latencyMs.sendToDeliver.p50), 1)}`);
  console.log(`  send→deliver p99  ${fmt(g.map((x) => x.latencyMs.sendToDeliver.p99), 1)}`);
  console.log(`  send→ack p99      ${fmt(g.map((x) => x.latencyMs.sendToAck.p99), 1)}`);
  console.log(`  quiet seconds     ${g.map((x) => `${x.quiet?.seconds}/${x.quiet?.of}`).join(', ')}; their send→deliver p99 ${fmt(g.map((x) => x.quiet?.sendToDeliver.p99), 1)}`);
  console.log(`  lost / app dup    ${g.map((x) => `${x.lost}/${x.appDuplicates}`).join(', ')}`);
  console.log(`  wire dup/resends  ${g.map((x) => `${x.wireDuplicates}/${x.resends}`).join(', ')}`);
  console.log(`  fan-out per msg   ${fmt(b.map((x) => x.fanoutPerGroupMessage), 2)} (expected ${fmt(b.map((x) => x.expectedPerGroupMessage), 2)})`);
  console.log(`  broker msgs/msg   ${fmt(b.map((x) => x.brokerMessagesPerGroupMessage), 2)}`);
  console.log(`  cpu gen / sut     ${g.map((x) => `${x.cpu.loadGenerator.toFixed(2)} / ${Object.values(x.cpu.sut).map((v) => (v ?? NaN).toFixed(2)).join('+')}`).join(', ')}`);
  console.log(`  cpu others        ${g.map((x) => x.cpu.others.toFixed(2)).join(', ')}`);
} else {
  const sb = kept.map((j) => j.switchboard);
  console.log(`  msg/s             ${fmt(sb.map((s) => s.throughputPerSec), 0)}`);
  console.log(`  send→ack p50      ${fmt(sb.map((s) => s.latencyMs.sendToAck.p50), 2)}`);
  console.log(`  send→ack p99      ${fmt(sb.map((s) => s.latencyMs.sendToAck.p99), 1)}`);
  console.log(`  send→deliver p99  ${fmt(sb.map((s) => s.latencyMs.sendToDeliver.p99), 1)}`);
  console.log(`  lost / app dup    ${sb.map((s) => `${s.lost}/${s.appDuplicates}`).join(', ')}`);
  console.log(`  wire dup/resends  ${sb.map((s) => `${s.wireDuplicates}/${s.resends}`).join(', ')}`);
  console.log(`  cpu gen / sut     ${sb.map((s) => `${s.cpu.loadGenerator.toFixed(2)} / ${Object.values(s.cpu.sut).map((v) => (v ?? NaN).toFixed(2)).join('+')}`).join(', ')}`);
  if (sb.every((s) => s.ackMaxPerSecond)) {
    console.log(`  per-second max    ${fmt(sb.map((s) => s.ackMaxPerSecond.worstMaxMs ?? NaN), 1)} (worst second of each run, ms)`);
    console.log(`  stalls > ${sb[0]?.ackMaxPerSecond.thresholdMs ?? 50} ms    ${fmt(sb.map((s) => s.ackMaxPerSecond.stalls), 0)} (of ${sb.map((s) => s.ackMaxPerSecond.seconds).join(', ')} measured seconds)`);
    for (const s of sb) console.log(`  saturation        ${s.saturation.verdict}`);
  }
  if (kept.some((j) => j.echo)) {
    console.log(`  echo rt/s         ${fmt(kept.map((j) => j.echo?.roundTripsPerSec), 0)}`);
    console.log(`  ratio             ${fmt(kept.map((j) => j.switchboard.throughputPerSec / j.echo?.roundTripsPerSec), 3)}`);
  }
}
process.exit(kept.length >= runs ? 0 : 1);
