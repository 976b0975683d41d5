import { cpus, loadavg } from 'node:os';
import { processReport, type ManagedProcess } from '../shared/proc.js';
import { installSignalStop, type RunIo } from '../shared/run-io.js';
import { Sut } from '../shared/sut.js';
import type { BenchOptions } from './args.js';
import { readClusterPids, type ChaosEvent } from './chaos.js';
import { runEchoPhase } from './echo-phase.js';
import type { BenchReport, EchoResult, SwitchboardResult } from './report.js';
import { runSwitchboardPhase } from './switchboard-phase.js';
import { runWorkersPhase } from './workers/workers-phase.js';

/**
 * Run one benchmark as `opts` says: start the system under test if asked, log the users in, load,
 * drain, collect offline queues, optionally run the echo baseline, stop what it started.
 * Never throws for a bad result (the report's `checks` say so); throws when the run itself fails
 * (nothing to connect to, fewer than two users logged in).
 */
export async function runBench(opts: BenchOptions, io: RunIo): Promise<BenchReport> {
  const startedAt = new Date().toISOString();
  const loadAvgAtStart = loadavg()[0] ?? NaN;
  const processes: ManagedProcess[] = [];
  const chaos: ChaosEvent[] = [];
  let sut: Sut | null = null;
  const stopSignals = installSignalStop(io);
  try {
    sut = await startSut(opts, io);
    if (sut) processes.push(...sut.processes);
    const dispatchUrl = sut ? sut.dispatchUrl : opts.target.kind === 'dispatch' ? opts.target.url : null;
    const pids = opts.chaos.clusterPidsFile ? readClusterPids(opts.chaos.clusterPidsFile) : null;

    const env = { dispatchUrl, sut, pids, chaos, io, aborted: () => stopSignals.aborted };
    const sb = opts.workers > 1 ? await runWorkersPhase(opts, env) : await runSwitchboardPhase(opts, env);
    if (sut) {
      io.log('stopping the system under test…');
      await sut.stop();
    }
    let echo: EchoResult | null = null;
    if (opts.echoBaseline && !stopSignals.aborted) {
      echo = await runEchoPhase(opts, io, processes, () => stopSignals.aborted);
    }
    const ratio = echo && echo.roundTripsPerSec > 0 ? sb.throughputPerSec / echo.roundTripsPerSec : null;
    return {
      version: 1,
      startedAt,
      finishedAt: new Date().toISOString(),
      machine: machineInfo(loadAvgAtStart),
      options: opts,
      target: {
        kind: opts.target.kind,
        dispatch: dispatchUrl,
        ws: opts.target.kind === 'direct' ? opts.target.wsUrl : null,
      },
      switchboard: sb,
      echo,
      ratio,
      chaos,
      processes: processes.map(processReport),
      checks: checks(sb, stopSignals.aborted),
    };
  } finally {
    stopSignals.dispose();
    if (sut) await sut.stop();
  }
}

/** Start the system under test when `--spawn-standalone` / `--spawn-cluster` asks for it (else null). */
export async function startSut(opts: BenchOptions, io: RunIo): Promise<Sut | null> {
  if (opts.target.kind !== 'spawn-standalone' && opts.target.kind !== 'spawn-cluster') return null;
  io.log(`starting ${opts.target.kind === 'spawn-standalone' ? 'switchboard standalone' : `a cluster of dispatch + ${opts.target.gateways} gateways`}…`);
  const sut = await Sut.start({
    kind: opts.target.kind === 'spawn-standalone' ? 'standalone' : 'cluster',
    gateways: opts.target.kind === 'spawn-cluster' ? opts.target.gateways : 1,
    senseMode: opts.senseMode,
    env: opts.sutEnv,
    nodeArgs: opts.sutNodeArgs,
  });
  io.log(`system under test ready: dispatch ${sut.dispatchUrl}, pids ${sut.processes.map((p) => `${p.name}=${p.pid}`).join(' ')}`);
  return sut;
}

/** The machine a report was taken on; `loadAvgAtStart` is the 1-minute load average when the run began. */
export function machineInfo(loadAvgAtStart: number): BenchReport['machine'] {
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? '?',
    loadAvgAtStart,
  };
}

function checks(sb: SwitchboardResult, aborted: boolean): BenchReport['checks'] {
  const c: BenchReport['checks'] = [
    { name: 'lost', ok: sb.lost === 0, detail: `${sb.lost} of ${sb.sent} messages neither delivered nor found in offline queues` },
    { name: 'application duplicates', ok: sb.appDuplicates === 0, detail: `${sb.appDuplicates} (after dedupe by fp)` },
    { name: 'throughput', ok: sb.throughputPerSec > 0, detail: `${Math.round(sb.throughputPerSec)} msg/s` },
    { name: 'all users logged in', ok: sb.users.loggedIn === sb.users.total, detail: `${sb.users.loggedIn}/${sb.users.total}` },
  ];
  if (aborted) c.push({ name: 'completed', ok: false, detail: 'interrupted by a signal' });
  return c;
}
