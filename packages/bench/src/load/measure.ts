/** What both load phases measure alike: CPU in cores, the per-second timeline. */
import type { IntervalHistogram } from 'node:perf_hooks';
import { readCpuSeconds } from '../shared/proc.js';
import type { Sut } from '../shared/sut.js';
import type { BenchOptions } from './args.js';
import type { NodeSample, TimelineEntry } from './report.js';
import { LatencyHistogram, type LatencySummary } from '../shared/histogram.js';
import type { PhaseStats, Window } from './stats.js';

/** CPU cores the load generator used between two `process.cpuUsage()` samples over `ms`. */
export function cores(a: NodeJS.CpuUsage, b: NodeJS.CpuUsage, ms: number): number {
  return ms > 0 ? (b.user - a.user + (b.system - a.system)) / 1000 / ms : NaN;
}

/**
 * CPU of the measured window in cores: ours (load generator, system under test), the whole
 * machine's, and what other processes took (others = machine − ours; large values mean a noisy run).
 * `interrupts` (irq + softirq, where loopback networking runs) is informational: kernels without
 * CONFIG_IRQ_TIME_ACCOUNTING (the project's machines) charge it to the interrupted process, so it is
 * already inside ours; on kernels with it, "others" includes it.
 */
export function cpuReport(
  loadGenerator: number,
  sut: Record<string, number | null>,
  m0: { busy: number; irq: number } | null,
  m1: { busy: number; irq: number } | null,
  ms: number,
): { loadGenerator: number; sut: Record<string, number | null>; machine: number; interrupts: number; others: number } {
  const s = ms / 1000;
  const machine = m0 && m1 && s > 0 ? (m1.busy - m0.busy) / s : NaN;
  const interrupts = m0 && m1 && s > 0 ? (m1.irq - m0.irq) / s : NaN;
  const ours = loadGenerator + Object.values(sut).reduce<number>((a, v) => a + (v ?? 0), 0);
  return { loadGenerator, sut, machine, interrupts, others: Math.max(0, machine - ours) };
}

/** A process whose CPU the report shows as the system under test's. */
export interface CpuSource {
  readonly name: string;
  readonly ready?: { nodeId?: string } | null;
  cpuSeconds(): number | null;
}

/** The spawned processes, and those named with `--sut-pid` (e.g. another server benchmarked with --ws). */
export function cpuSources(opts: BenchOptions, sut: Sut | null): CpuSource[] {
  const external = opts.sutPids.map((pid) => ({ name: `pid ${pid}`, ready: null, cpuSeconds: () => readCpuSeconds(pid) }));
  return [...(sut?.processes ?? []), ...external];
}

/** The per-second view of a phase, with the gateways' own samples when there are some. */
export function timeline(
  stats: PhaseStats,
  samples: Array<{ t: number; nodes: Record<string, NodeSample> }>,
  others: Map<number, number>,
): TimelineEntry[] {
  const byT = new Map(samples.map((x) => [x.t, x.nodes]));
  return stats.timeline.map((s, t) => ({
    t,
    sent: s.sent,
    acked: s.acked,
    delivered: s.delivered,
    ackP50Ms: round1(s.ackLatency.percentile(50)),
    ackP99Ms: round1(s.ackLatency.percentile(99)),
    ackMaxMs: round1(s.ackLatency.max),
    deliverP50Ms: round1(s.deliverLatency.percentile(50)),
    deliverP99Ms: round1(s.deliverLatency.percentile(99)),
    ...(others.has(t) ? { otherCores: others.get(t)! } : {}),
    ...(byT.has(t) ? { nodes: byT.get(t)! } : {}),
  }));
}

/**
 * Latency over the quiet seconds of the measured window only: the seconds in which other processes
 * used at most `maxOtherCores` (from the per-second samples; a second without a sample is not
 * quiet). The acks and deliveries that arrived in those seconds, whenever their messages were sent.
 */
export function quietLatency(stats: PhaseStats, window: Window, others: Map<number, number>, maxOtherCores: number): QuietLatency {
  const ack = new LatencyHistogram();
  const deliver = new LatencyHistogram();
  const first = Math.ceil((window.from - window.start) / 1000);
  const end = Math.floor((window.to - window.start) / 1000);
  let seconds = 0;
  for (let t = first; t < end; t++) {
    const o = others.get(t);
    const slot = stats.timeline[t];
    if (o === undefined || o > maxOtherCores || !slot) continue;
    seconds++;
    ack.merge(slot.ackLatency);
    deliver.merge(slot.deliverLatency);
  }
  return { maxOtherCores, seconds, of: Math.max(0, end - first), sendToAck: ack.summary(), sendToDeliver: deliver.summary() };
}

/** What `quietLatency` found: how many of the window's whole seconds were quiet, and the latencies in them. */
export interface QuietLatency {
  maxOtherCores: number;
  seconds: number;
  of: number;
  sendToAck: LatencySummary;
  sendToDeliver: LatencySummary;
}

/** p50, p99 and max of an event-loop delay histogram, in ms (NaN when it recorded nothing). */
export function loopDelaySummary(h: IntervalHistogram): { p50: number; p99: number; max: number } {
  const ms = (ns: number) => (h.count ? ns / 1e6 : NaN);
  return { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) };
}

const round1 = (x: number) => Math.round(x * 10) / 10;
