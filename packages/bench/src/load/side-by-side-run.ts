/**
 * The series behind docs/benchmarks.md's side-by-side table, in one command
 * (`packages/bench/scripts/side-by-side.ts`): MobileIMSDK v6's demo server and Switchboard
 * standalone alternately (A B A B A B: each round MobileIMSDK, then Switchboard), the same load
 * generator and measurements for both, each run's JSON kept, the table (medians of the rounds)
 * printed and written.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { machineCpu } from '../shared/proc.js';
import { repoRoot, switchboardCommand } from '../shared/sut.js';
import { heldDelay } from '../shared/wait.js';
import type { BenchReport } from './report.js';
import { SIDES, measurementArgs, measurementName, runFigures, sideBySideTable, type Measurement, type RunFigures, type Side } from './side-by-side.js';

export const SIDE_BY_SIDE_USAGE = `Usage: node --conditions=source --import tsx packages/bench/scripts/side-by-side.ts [options] [-- extra bench flags]

MobileIMSDK v6's demo server (packages/bench/scripts/mobileimsdk-server.sh, from
../shared/vendor/mobileimsdk/server-demo when present) and Switchboard standalone alternately, round by
round (MobileIMSDK, then Switchboard), with the same generator flags; prints the side-by-side table.

  --rounds N          rounds (default 3: medians of 3)
  --rates R,R         open-loop rates, msg/s (default 10000,5000)
  --inflight K        closed loop in flight per user (default 4; 0 = no closed loop)
  --users N           (default 1000)      --tcp-share F   (default 0.5)     --size BYTES (default 100)
  --duration S        (default 15)        --warmup S      (default 3)
  --workers N         load worker processes of the generator (default 1)
  --jvm-warmup S      after each start of MobileIMSDK's JVM, an unmeasured closed-loop load of S seconds
                      so its JIT is warm (default 10; 0 = none; Switchboard is spawned fresh per run)
  --sb-sense-mode M   Switchboard's sense mode (default 15S; MobileIMSDK's demo only has 5S)
  --sides LIST        mobileimsdk,switchboard (default both)
  --max-other C       a measured second with more cores of other processes is noisy (default 0.2)
  --retries N         repeat a noisy run up to N times (default 1); the last attempt is kept
  --no-quiet-wait     do not wait (up to 60 s) for a quiet machine before each run
  --out DIR           where the runs' JSON, side-by-side.md and side-by-side.json go (default bench-results/side-by-side)
`;

export interface SideBySideOptions {
  rounds: number;
  measurements: Measurement[];
  common: string[];
  sbSenseMode: string;
  sides: Side[];
  maxOther: number;
  retries: number;
  quietWait: boolean;
  jvmWarmupS: number;
  out: string;
}

/** Parse the script's arguments; throws an Error naming the problem. */
export function parseSideBySideArgs(argv: readonly string[]): SideBySideOptions | 'help' {
  const sep = argv.indexOf('--');
  const { values: v } = parseArgs({
    args: sep < 0 ? [...argv] : argv.slice(0, sep),
    strict: true,
    options: {
      rounds: { type: 'string', default: '3' },
      rates: { type: 'string', default: '10000,5000' },
      inflight: { type: 'string', default: '4' },
      users: { type: 'string', default: '1000' },
      'tcp-share': { type: 'string', default: '0.5' },
      size: { type: 'string', default: '100' },
      duration: { type: 'string', default: '15' },
      warmup: { type: 'string', default: '3' },
      workers: { type: 'string', default: '1' },
      'jvm-warmup': { type: 'string', default: '10' },
      'sb-sense-mode': { type: 'string', default: '15S' },
      sides: { type: 'string', default: 'mobileimsdk,switchboard' },
      'max-other': { type: 'string', default: '0.2' },
      retries: { type: 'string', default: '1' },
      'no-quiet-wait': { type: 'boolean', default: false },
      out: { type: 'string', default: 'bench-results/side-by-side' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (v.help) return 'help';
  const int = (name: string, raw: string, min: number): number => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name}: a whole number ≥ ${min} is required (got "${raw}")`);
    return n;
  };
  const rates = v.rates.split(',').filter((x) => x !== '').map((r) => int('rates', r, 1));
  const inflight = int('inflight', v.inflight, 0);
  const measurements: Measurement[] = [...(inflight > 0 ? [{ kind: 'closed' as const, inflight }] : []), ...rates.map((ratePerSec) => ({ kind: 'open' as const, ratePerSec }))];
  if (measurements.length === 0) throw new Error('nothing to measure: --inflight 0 and no --rates');
  const sides = v.sides.split(',').map((s) => {
    if (!(SIDES as readonly string[]).includes(s)) throw new Error(`--sides: mobileimsdk and/or switchboard (got "${s}")`);
    return s as Side;
  });
  const maxOther = Number(v['max-other']);
  if (!(maxOther >= 0)) throw new Error(`--max-other: a number ≥ 0 is required (got "${v['max-other']}")`);
  const common = ['--users', v.users, '--tcp-share', v['tcp-share'], '--size', v.size, '--duration', v.duration, '--warmup', v.warmup, '--workers', v.workers];
  return {
    rounds: int('rounds', v.rounds, 1),
    measurements,
    common: [...common, ...(sep < 0 ? [] : argv.slice(sep + 1))],
    sbSenseMode: v['sb-sense-mode'],
    // A B per round: MobileIMSDK first, as the order of --sides says nothing about it.
    sides: SIDES.filter((s) => sides.includes(s)).reverse(),
    maxOther,
    retries: int('retries', v.retries, 0),
    quietWait: !v['no-quiet-wait'],
    jvmWarmupS: int('jvm-warmup', v['jvm-warmup'], 0),
    out: path.resolve(v.out),
  };
}

/** Busy cores of the whole machine over `ms`. */
async function busyCores(ms: number): Promise<number> {
  const a = machineCpu();
  const t = performance.now();
  await heldDelay(ms);
  const b = machineCpu();
  return a && b ? (b.busy - a.busy) / ((performance.now() - t) / 1000) : 0;
}

/** Wait (up to 60 s) until the machine used under 0.15 cores over 3 s; returns the last reading. */
async function waitQuiet(): Promise<number> {
  const deadline = performance.now() + 60_000;
  for (;;) {
    const c = await busyCores(3_000);
    if (c < 0.15 || performance.now() > deadline) return c;
  }
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** MobileIMSDK's demo server, run by `mobileimsdk-server.sh` (its pid is the JVM's: the script execs java). */
export class MobileImsdkServer {
  private readonly tail: string[] = [];
  private exited: { code: number | null } | null = null;

  private constructor(private readonly child: ChildProcess) {
    const keep = (b: Buffer) => {
      for (const line of b.toString('utf8').split('\n')) if (line.trim()) this.tail.push(line);
      this.tail.splice(0, Math.max(0, this.tail.length - 40));
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.once('exit', (code) => (this.exited = { code }));
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Start it and wait until its WebSocket (3000) and TCP (8901) ports accept; throws with its output otherwise. */
  static async start(root: string): Promise<MobileImsdkServer> {
    const child = spawn('bash', [path.join(root, 'packages/bench/scripts/mobileimsdk-server.sh')], { stdio: ['ignore', 'pipe', 'pipe'] });
    const s = new MobileImsdkServer(child);
    live.add(s);
    const deadline = performance.now() + 60_000;
    while (!(await accepts(3000)) || !(await accepts(8901))) {
      if (s.exited) throw new Error(`mobileimsdk-server.sh exited (code ${s.exited.code}):\n${s.tail.join('\n')}`);
      if (performance.now() > deadline) {
        await s.stop();
        throw new Error(`MobileIMSDK's demo server did not open ports 3000 and 8901 within 60 s:\n${s.tail.join('\n')}`);
      }
      await heldDelay(200);
    }
    return s;
  }

  /** SIGTERM (the demo's shutdown hook), SIGKILL after 10 s; resolves once it is gone. */
  async stop(): Promise<void> {
    live.delete(this);
    if (this.exited) return;
    this.child.kill('SIGTERM');
    const deadline = performance.now() + 10_000;
    while (!this.exited && performance.now() < deadline) await heldDelay(100);
    if (!this.exited) this.child.kill('SIGKILL');
    while (!this.exited) await heldDelay(50);
  }
}

const live = new Set<MobileImsdkServer>();
process.once('exit', () => {
  for (const s of live) process.kill(s.pid, 'SIGKILL');
});

/** Run one bench command to completion (asynchronously: the JVM's output keeps draining meanwhile). */
function runBenchChild(root: string, args: string[]): Promise<number | null> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [...switchboardCommand(), 'bench', ...args], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
    c.once('exit', (code) => resolve(code));
    c.once('error', () => resolve(null));
  });
}

/** The flags that point the bench at a side (MobileIMSDK: its fixed ports, its one sense mode, its JVM's CPU). */
function targetArgs(o: SideBySideOptions, side: Side, server: MobileImsdkServer | null): string[] {
  return side === 'mobileimsdk'
    ? ['--ws', 'ws://127.0.0.1:3000/websocket', '--tcp', '127.0.0.1:8901', '--sense-mode', '5S', '--sut-pid', String(server!.pid)]
    : ['--spawn-standalone', '--sense-mode', o.sbSenseMode];
}

/** An unmeasured closed-loop load against a freshly started JVM, so the measured runs see compiled code. */
async function warmJvm(o: SideBySideOptions, root: string, server: MobileImsdkServer): Promise<void> {
  if (o.jvmWarmupS <= 0) return;
  process.stderr.write(`mobileimsdk: warming the JVM up with ${o.jvmWarmupS} s of closed-loop load (not measured)…\n`);
  const file = path.join(o.out, 'mobileimsdk-jvm-warmup.json');
  await runBenchChild(root, [...targetArgs(o, 'mobileimsdk', server), ...o.common, '--duration', String(o.jvmWarmupS), '--warmup', '0', '--inflight', '4', '--json', file, '--quiet']);
}

/** One measurement of one side in one round: retried while noisy (up to `retries`), the last attempt kept. */
async function measure(o: SideBySideOptions, root: string, side: Side, round: number, m: Measurement, server: MobileImsdkServer | null): Promise<RunFigures | null> {
  const target = targetArgs(o, side, server);
  let kept: RunFigures | null = null;
  for (let attempt = 0; attempt <= o.retries; attempt++) {
    const before = o.quietWait ? await waitQuiet() : NaN;
    const file = path.join(o.out, `${side}-${measurementName(m)}-r${round}${attempt ? `-a${attempt + 1}` : ''}.json`);
    const code = await runBenchChild(root, [...target, ...o.common, ...measurementArgs(m), '--json', file, '--quiet']);
    let report: BenchReport;
    try {
      report = JSON.parse(readFileSync(file, 'utf8')) as BenchReport;
    } catch {
      process.stderr.write(`${side} ${measurementName(m)} round ${round}: no JSON (bench exit ${code})\n`);
      continue;
    }
    kept = runFigures(side, round, measurementName(m), report, o.maxOther);
    process.stderr.write(
      `${side} ${measurementName(m)} round ${round}: exit ${code}, machine before ${Number.isFinite(before) ? before.toFixed(2) : '-'} cores, ${Math.round(kept.msgPerSec)} msg/s, ` +
        `p99 ${kept.ackP99.toFixed(1)} ms, stalls ${kept.stalls}, worst other-second ${kept.worstOtherCores.toFixed(2)}${kept.noisy ? ' -> noisy' : ''}\n`,
    );
    if (!kept.noisy) break;
  }
  return kept;
}

/** The whole series; writes every run's JSON, side-by-side.json and side-by-side.md to `o.out`; returns the table. */
export async function runSideBySide(o: SideBySideOptions): Promise<{ table: string; runs: RunFigures[] }> {
  const root = repoRoot();
  mkdirSync(o.out, { recursive: true });
  const runs: RunFigures[] = [];
  const startedAt = new Date().toISOString();
  for (let round = 1; round <= o.rounds; round++) {
    for (const side of o.sides) {
      const server = side === 'mobileimsdk' ? await MobileImsdkServer.start(root) : null;
      try {
        if (server) await warmJvm(o, root, server);
        for (const m of o.measurements) {
          const r = await measure(o, root, side, round, m, server);
          if (r) runs.push(r);
        }
      } finally {
        await server?.stop();
      }
    }
  }
  const header =
    `Side by side, ${startedAt} – ${new Date().toISOString()}: ${o.rounds} rounds (${o.sides.join(' then ')} in each), ` +
    `bench flags \`${o.common.join(' ')}\`, Switchboard sense mode ${o.sbSenseMode}, MobileIMSDK 5S. ` +
    `Each cell: **median** (the runs in order; * = noisy: a measured second with more than ${o.maxOther} cores of other processes).`;
  const table = `${header}\n\n${sideBySideTable(runs, o.measurements, [...o.sides].reverse())}`;
  writeFileSync(path.join(o.out, 'side-by-side.md'), table);
  writeFileSync(path.join(o.out, 'side-by-side.json'), JSON.stringify({ startedAt, options: o, runs }, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n');
  return { table, runs };
}
