/**
 * The result of a `--workers N` run from the workers' `LoadPart`s: counts summed, latency histograms
 * merged bucket by bucket (overall and per second: exact percentiles of all the messages, never
 * averages of the workers' percentiles), and the parent's own measurements (gateway samples, CPU).
 */
import type { BenchOptions } from '../args.js';
import { timeline } from '../measure.js';
import type { GeneratorProcess, NodeSample, SwitchboardResult } from '../report.js';
import { PhaseStats, type Window } from '../stats.js';
import { phaseCommon, withVerdicts, type LoginOutcome } from '../switchboard-phase.js';
import type { LoadPart } from './load-ipc.js';

/** What the parent measured itself over the run. */
export interface ParentMeasures {
  /** The gateways' own records per second (dispatch targets). */
  nodeSamples: Array<{ t: number; nodes: Record<string, NodeSample> }>;
  /** Other processes' cores per second. */
  cpuSamples: Map<number, number>;
  /** CPU of the measured window; `loadGenerator` = the parent and every worker. */
  cpu: SwitchboardResult['cpu'];
  /** The parent and each worker with its cores in the window. */
  generator: GeneratorProcess[];
}

const sum = (parts: readonly LoadPart[], f: (p: LoadPart) => number): number => parts.reduce((a, p) => a + f(p), 0);

/** Several workers' logins as one: users summed, the slowest worker's time, failed attempts summed. */
export function mergeLogins(logins: readonly LoginOutcome[]): LoginOutcome {
  return {
    loggedIn: logins.reduce((a, l) => a + l.loggedIn, 0),
    loginMs: logins.reduce((a, l) => Math.max(a, l.loginMs), 0),
    loginFailures: logins.reduce((a, l) => a + l.loginFailures, 0),
  };
}

/** Sum of per-key counts. */
export function sumCounts(maps: ReadonlyArray<Readonly<Record<string, number>>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of maps) for (const [k, v] of Object.entries(m)) out[k] = (out[k] ?? 0) + v;
  return out;
}

/** The run's result as if one process had generated all of the workers' load. */
export function mergeParts(opts: BenchOptions, parts: readonly LoadPart[], window: Window, m: ParentMeasures): SwitchboardResult {
  const stats = PhaseStats.merged(window, parts.map((p) => p.stats));
  const worstLoop = parts.reduce<LoadPart['loopDelayMs']>(
    (w, p) => (Number.isFinite(p.loopDelayMs.p99) && !(p.loopDelayMs.p99 <= w.p99) ? p.loopDelayMs : w),
    { p50: NaN, p99: NaN, max: NaN },
  );
  const common = phaseCommon(opts, {
    stats,
    window,
    ws: sum(parts, (p) => p.ws),
    tcp: sum(parts, (p) => p.tcp),
    login: mergeLogins(parts.map((p) => p.login)),
    unacked: sum(parts, (p) => p.unacked),
    notSentOffline: sum(parts, (p) => p.notSentOffline),
    timeline: timeline(stats, m.nodeSamples, m.cpuSamples),
    cpu: m.cpu,
    loopDelay: worstLoop,
  });
  const perSec = (n: number) => (common.windowS > 0 ? n / common.windowS : NaN);
  return {
    ...common,
    ...withVerdicts(opts, common, m.generator),
    nodes: sumCounts(parts.map((p) => p.nodes)),
    delivered: stats.delivered,
    lost: sum(parts, (p) => p.lost),
    lostAfterAck: sum(parts, (p) => p.lostAfterAck),
    deliveredUnacked: sum(parts, (p) => p.deliveredUnacked),
    pairingMisses: sum(parts, (p) => p.pairingMisses),
    throughputPerSec: perSec(stats.ackedInWindow),
    deliveredPerSec: perSec(stats.deliveredInWindow),
    drain: {
      waitedMs: Math.max(0, ...parts.map((p) => p.drain.waitedMs)),
      collectedUsers: sum(parts, (p) => p.drain.collectedUsers),
      collectedMessages: sum(parts, (p) => p.drain.collectedMessages),
      collectMs: Math.max(0, ...parts.map((p) => p.drain.collectMs)),
    },
    missingSample: parts.flatMap((p) => p.missingSample).slice(0, 10),
  };
}
