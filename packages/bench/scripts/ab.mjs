#!/usr/bin/env node
// A/B of two checkouts (or two configurations) with the same bench command, alternated run by run so
// that the machine's noise falls on both sides alike; prints the medians of each side.
//
//   node packages/bench/scripts/ab.mjs --rounds 3 --out DIR \
//     --a before=/tmp/sb-before --b after=. [--b-env IM_HISTORY=off] -- --spawn-standalone --users 1000 --inflight 4 --echo-baseline
//
// Each side runs `node --conditions=source --import tsx packages/cli/src/main.ts bench <args> --json F`
// in its own checkout; `--a-sut-env` / `--b-sut-env K=V` add `--sut-env K=V` to that side's command.
// Rounds go A, B, B, A, A, B … (ABBA), and every JSON is kept in DIR as <side>-<n>.json.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const sep = process.argv.indexOf('--');
if (sep < 0) {
  console.error('usage: ab.mjs --a NAME=DIR --b NAME=DIR [--a-sut-env K=V]... [--b-sut-env K=V]... [--rounds 3] [--out DIR] -- <bench arguments>');
  process.exit(2);
}
const { values: o } = parseArgs({
  args: process.argv.slice(2, sep),
  options: {
    a: { type: 'string' },
    b: { type: 'string' },
    'a-sut-env': { type: 'string', multiple: true, default: [] },
    'b-sut-env': { type: 'string', multiple: true, default: [] },
    rounds: { type: 'string', default: '3' },
    out: { type: 'string', default: 'ab-results' },
  },
});
const side = (spec, env) => {
  const [name, dir] = (spec ?? '').split('=');
  if (!name || !dir) throw new Error(`--a/--b take NAME=DIR, got ${spec}`);
  return { name, dir: resolve(dir), env };
};
const sides = [side(o.a, o['a-sut-env']), side(o.b, o['b-sut-env'])];
const rounds = Number(o.rounds);
const outDir = resolve(o.out);
mkdirSync(outDir, { recursive: true });
const benchArgs = process.argv.slice(sep + 1);
const results = new Map(sides.map((s) => [s.name, []]));

for (let r = 0; r < rounds; r++) {
  const order = r % 2 === 0 ? sides : [...sides].reverse();
  for (const s of order) {
    const file = join(outDir, `${s.name}-${results.get(s.name).length + 1}.json`);
    const args = ['--conditions=source', '--import', 'tsx', 'packages/cli/src/main.ts', 'bench', ...benchArgs, ...s.env.flatMap((e) => ['--sut-env', e]), '--quiet', '--json', file];
    const t0 = Date.now();
    const res = spawnSync(process.execPath, args, { cwd: s.dir, stdio: ['ignore', 'ignore', 'inherit'] });
    if (res.status !== 0) {
      console.error(`${s.name} round ${r + 1}: bench exited ${res.status}`);
      continue;
    }
    const j = JSON.parse(readFileSync(file, 'utf8'));
    const row = summarize(j);
    results.get(s.name).push(row);
    console.log(`${s.name.padEnd(8)} round ${r + 1}: ${fmtRow(row)} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  }
}

console.log('\nmedians');
for (const s of sides) {
  const rows = results.get(s.name);
  if (rows.length === 0) continue;
  const med = Object.fromEntries(Object.keys(rows[0]).map((k) => [k, median(rows.map((x) => x[k]))]));
  console.log(`${s.name.padEnd(8)} n=${rows.length}: ${fmtRow(med)}`);
}

function summarize(j) {
  const s = j.switchboard;
  const other = (s.timeline ?? []).map((t) => t.otherCores).filter((x) => typeof x === 'number');
  const sutCores = Object.values(s.cpu?.sut ?? {}).reduce((a, b) => a + b, 0);
  return {
    msgPerSec: s.throughputPerSec,
    sutUsPerMsg: (sutCores * 1e6) / s.throughputPerSec,
    ratio: j.ratio ?? NaN,
    ackP50: s.latencyMs.sendToAck.p50,
    ackP99: s.latencyMs.sendToAck.p99,
    lost: s.lost,
    appDup: s.appDuplicates,
    otherCores: other.length ? median(other) : NaN,
    // per-second max send→ack (worst second) and seconds over 50 ms (reports since issue 19)
    worstSecondMs: s.ackMaxPerSecond?.worstMaxMs ?? NaN,
    stalls: s.ackMaxPerSecond?.stalls ?? NaN,
  };
}
function fmtRow(x) {
  const f = (n, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '-');
  return `${f(x.msgPerSec)} msg/s, server ${f(x.sutUsPerMsg, 1)} µs CPU/msg, ratio ${f(x.ratio, 3)}, send→ack p50 ${f(x.ackP50, 2)} / p99 ${f(x.ackP99, 1)} ms, worst second ${f(x.worstSecondMs, 1)} ms, stalls ${f(x.stalls)}, lost ${f(x.lost)}, app dup ${f(x.appDup)}, other ${f(x.otherCores, 2)} cores`;
}
function median(xs) {
  const v = xs.filter((n) => Number.isFinite(n)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}
