/**
 * The side-by-side table of docs/benchmarks.md from a series of bench reports: MobileIMSDK v6's
 * demo server and Switchboard standalone under the same generator, each figure the median of the
 * rounds with every run listed. Pure: `packages/bench/scripts/side-by-side.ts` runs the series and
 * hands the reports here.
 */
import type { BenchReport } from './report.js';

/** The two servers of the comparison. */
export const SIDES = ['switchboard', 'mobileimsdk'] as const;
export type Side = (typeof SIDES)[number];

export const SIDE_TITLES: Record<Side, string> = { switchboard: 'Switchboard standalone', mobileimsdk: 'MobileIMSDK v6 demo' };

/** One measurement of a round: closed loop with K in flight per user, or open loop at a rate. */
export type Measurement = { kind: 'closed'; inflight: number } | { kind: 'open'; ratePerSec: number };

/** `closed` or `open-<rate>`: the measurement's name in file names and records. */
export function measurementName(m: Measurement): string {
  return m.kind === 'closed' ? 'closed' : `open-${m.ratePerSec}`;
}

/** The bench flags of a measurement. */
export function measurementArgs(m: Measurement): string[] {
  return m.kind === 'closed' ? ['--inflight', String(m.inflight)] : ['--rate', String(m.ratePerSec)];
}

/** The figures of one run that the table shows. */
export interface RunFigures {
  side: Side;
  round: number;
  measurement: string;
  /** Some measured second had more than the allowed cores of other processes. */
  noisy: boolean;
  worstOtherCores: number;
  msgPerSec: number;
  /** The server's processes (spawned standalone, or the JVM named with --sut-pid), cores. */
  serverCores: number;
  /** Server CPU per acked message, µs. */
  usPerMsg: number;
  generatorCores: number;
  ackP50: number;
  ackP99: number;
  ackMax: number;
  perSecondMaxMedian: number;
  perSecondMaxWorst: number;
  stalls: number;
  measuredSeconds: number;
  wireDuplicates: number;
  lost: number;
  appDuplicates: number;
  saturation: string;
}

const num = (x: number | null | undefined): number => (typeof x === 'number' && Number.isFinite(x) ? x : NaN);

/** The figures of `report`; `maxOtherCores` is the noise bound of a measured second. */
export function runFigures(side: Side, round: number, measurement: string, report: BenchReport, maxOtherCores: number): RunFigures {
  const s = report.switchboard;
  const warm = report.options.warmupS;
  const seconds = s.timeline.filter((e) => e.t >= warm && e.t < warm + s.windowS);
  const worstOtherCores = Math.max(0, ...seconds.map((e) => num(e.otherCores)).filter((x) => !Number.isNaN(x)));
  const serverCores = Object.values(s.cpu.sut).reduce<number>((a, v) => a + (v ?? NaN), 0);
  return {
    side,
    round,
    measurement,
    noisy: worstOtherCores > maxOtherCores,
    worstOtherCores,
    msgPerSec: num(s.throughputPerSec),
    serverCores,
    usPerMsg: s.throughputPerSec > 0 ? (serverCores * 1e6) / s.throughputPerSec : NaN,
    generatorCores: num(s.cpu.loadGenerator),
    ackP50: num(s.latencyMs.sendToAck.p50),
    ackP99: num(s.latencyMs.sendToAck.p99),
    ackMax: num(s.latencyMs.sendToAck.max),
    perSecondMaxMedian: num(s.ackMaxPerSecond.medianMaxMs),
    perSecondMaxWorst: num(s.ackMaxPerSecond.worstMaxMs),
    stalls: s.ackMaxPerSecond.stalls,
    measuredSeconds: s.ackMaxPerSecond.seconds,
    wireDuplicates: s.wireDuplicates,
    lost: s.lost,
    appDuplicates: s.appDuplicates,
    saturation: s.saturation.verdict,
  };
}

/** Median of the finite values (the mean of the middle two for an even count); NaN when none. */
export function median(xs: readonly number[]): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

/** A number as the docs print it: thousands separated, `digits` decimals; '-' when unknown. */
export function figure(x: number, digits = 0): string {
  return Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '-';
}

/** Latency in ms with the precision it deserves (2 decimals below 10, 1 below 100, none above). */
export function msFigure(x: number): string {
  return Number.isFinite(x) ? (x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0)) : '-';
}

/** "**median** (run · run · run)", a noisy run marked with `*`. */
function cell(runs: readonly RunFigures[], f: (r: RunFigures) => number, show: (x: number) => string): string {
  if (runs.length === 0) return '-';
  const list = runs.map((r) => `${show(f(r))}${r.noisy ? '*' : ''}`).join(' · ');
  return `**${show(median(runs.map(f)))}**${runs.length > 1 || runs.some((r) => r.noisy) ? ` (${list})` : ''}`;
}

/** The rows of one measurement (closed loop: throughput and CPU per message; open loop: latency and stalls). */
function measurementRows(m: Measurement, of: (side: Side) => RunFigures[]): Array<[string, (side: Side) => string]> {
  const r = (side: Side) => of(side);
  if (m.kind === 'closed') {
    const k = `closed loop, ${m.inflight} in flight`;
    return [
      [`${k}: msg/s`, (s) => cell(r(s), (x) => x.msgPerSec, (x) => figure(x))],
      [`${k}: server cores`, (s) => cell(r(s), (x) => x.serverCores, (x) => figure(x, 2))],
      [`${k}: server µs CPU per message`, (s) => cell(r(s), (x) => x.usPerMsg, (x) => figure(x))],
      [`${k}: send→ack p50 / p99, ms`, (s) => `${msFigure(median(r(s).map((x) => x.ackP50)))} / ${cell(r(s), (x) => x.ackP99, msFigure)}`],
    ];
  }
  const k = `open loop ${figure(m.ratePerSec)}/s`;
  return [
    [`${k}: acked msg/s`, (s) => cell(r(s), (x) => x.msgPerSec, (x) => figure(x))],
    [`${k}: send→ack p50, ms`, (s) => cell(r(s), (x) => x.ackP50, msFigure)],
    [`${k}: send→ack p99, ms`, (s) => cell(r(s), (x) => x.ackP99, msFigure)],
    [`${k}: per-second max send→ack, worst second, ms`, (s) => cell(r(s), (x) => x.perSecondMaxWorst, msFigure)],
    [`${k}: seconds with a stall over 50 ms`, (s) => cell(r(s), (x) => x.stalls, (x) => figure(x)) + ` of ${median(r(s).map((x) => x.measuredSeconds))}`],
    [`${k}: server cores`, (s) => cell(r(s), (x) => x.serverCores, (x) => figure(x, 2))],
  ];
}

/**
 * The markdown table: a row per figure, a column per side; each cell the median over the rounds
 * with the runs in order (`*` = noisy run). Then wire duplicates per measurement, losses, the
 * closed-loop ratios and the saturation verdicts.
 */
export function sideBySideTable(runs: readonly RunFigures[], measurements: readonly Measurement[], sides: readonly Side[] = SIDES): string {
  const of = (side: Side, m: Measurement) => runs.filter((r) => r.side === side && r.measurement === measurementName(m));
  const rows: Array<[string, (side: Side) => string]> = [];
  for (const m of measurements) rows.push(...measurementRows(m, (s) => of(s, m)));
  rows.push([
    `wire duplicates (${measurements.map(measurementName).join(' / ')}), medians`,
    (s) => measurements.map((m) => figure(median(of(s, m).map((x) => x.wireDuplicates)))).join(' / '),
  ]);
  rows.push([
    'lost / application duplicates, all runs',
    (s) => {
      const mine = runs.filter((r) => r.side === s);
      return `${figure(mine.reduce((a, r) => a + r.lost, 0))} / ${figure(mine.reduce((a, r) => a + r.appDuplicates, 0))}`;
    },
  ]);
  rows.push([
    'noisy runs (another process > the bound in a measured second)',
    (s) => {
      const mine = runs.filter((r) => r.side === s);
      return `${mine.filter((r) => r.noisy).length} of ${mine.length}`;
    },
  ]);
  const out = [`| figure | ${sides.map((s) => SIDE_TITLES[s]).join(' | ')} |`, `| --- | ${sides.map(() => '---').join(' | ')} |`];
  for (const [name, f] of rows) out.push(`| ${name} | ${sides.map(f).join(' | ')} |`);
  return [out.join('\n'), ...closedLoopNotes(runs, measurements, sides)].join('\n\n') + '\n';
}

/** Below the table: Switchboard ÷ MobileIMSDK in the closed loop, and each closed-loop run's saturation verdict. */
function closedLoopNotes(runs: readonly RunFigures[], measurements: readonly Measurement[], sides: readonly Side[]): string[] {
  const closed = measurements.find((m) => m.kind === 'closed');
  if (!closed) return [];
  const of = (side: Side) => runs.filter((r) => r.side === side && r.measurement === measurementName(closed));
  const notes: string[] = [];
  if (sides.includes('switchboard') && sides.includes('mobileimsdk')) {
    const tp = median(of('switchboard').map((r) => r.msgPerSec)) / median(of('mobileimsdk').map((r) => r.msgPerSec));
    const cpu = median(of('mobileimsdk').map((r) => r.usPerMsg)) / median(of('switchboard').map((r) => r.usPerMsg));
    notes.push(`Closed loop, medians: Switchboard ÷ MobileIMSDK throughput **${figure(tp, 2)}×**; MobileIMSDK's CPU per message ÷ Switchboard's **${figure(cpu, 2)}×**.`);
  }
  for (const s of sides) {
    const v = of(s).map((r) => `round ${r.round}: ${r.saturation}`);
    if (v.length) notes.push(`Saturation, closed loop, ${SIDE_TITLES[s]}: ${v.join('; ')}.`);
  }
  return notes;
}
