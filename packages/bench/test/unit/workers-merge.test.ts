import { describe, expect, it } from 'vitest';
import { percentileOfSorted } from '../../src/shared/histogram.js';
import { parseBenchArgs, type BenchOptions } from '../../src/load/args.js';
import { PhaseStats, type PhaseStatsSnapshot, type Window } from '../../src/load/stats.js';
import type { LoadPart } from '../../src/load/workers/load-ipc.js';
import { mergeParts } from '../../src/load/workers/merge-parts.js';
import { workerJobs } from '../../src/load/workers/workers-phase.js';

/** A small deterministic PRNG so failures reproduce. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const window: Window = { start: 0, from: 1_000, to: 5_000 };
/** Through JSON, as a snapshot travels over the IPC channel. */
const viaIpc = (s: PhaseStatsSnapshot): PhaseStatsSnapshot => JSON.parse(JSON.stringify(s)) as PhaseStatsSnapshot;

describe('PhaseStats.merged', () => {
  it('equals one PhaseStats that counted every worker’s events: counters, histograms, each second', () => {
    const rnd = mulberry32(19);
    const parts = [new PhaseStats(window), new PhaseStats(window), new PhaseStats(window)];
    const all = new PhaseStats(window);
    for (let i = 0; i < 30_000; i++) {
      const p = parts[Math.floor(rnd() * 3)]!;
      const now = rnd() * 6_000;
      const measured = now >= window.from && now < window.to;
      // worker-dependent latency shapes: a heavy tail in one of them
      const lat = p === parts[2] ? rnd() * rnd() * 400 : rnd() * 8;
      for (const s of [p, all]) {
        s.onSent(now, measured);
        s.onAcked(now, lat, measured);
        if (i % 3 === 0) s.onDelivered(now, lat / 2, measured);
        if (i % 997 === 0) s.wireDuplicates++;
        if (i % 1_499 === 0) s.count(s.errors, 1030);
      }
    }
    const merged = PhaseStats.merged(window, parts.map((p) => viaIpc(p.snapshot())));
    const want = all.snapshot();
    const got = merged.snapshot();
    expect(got.counters).toEqual(want.counters);
    expect(got.errors).toEqual(want.errors);
    expect(got.ackLatency.buckets).toEqual(want.ackLatency.buckets);
    expect(got.deliverLatency.buckets).toEqual(want.deliverLatency.buckets);
    const { mean: gotMean, ...gotRest } = merged.ackLatency.summary();
    const { mean: wantMean, ...wantRest } = all.ackLatency.summary();
    expect(gotRest).toEqual(wantRest);
    expect(gotMean).toBeCloseTo(wantMean, 9);
    expect(merged.timeline.length).toBe(all.timeline.length);
    merged.timeline.forEach((slot, t) => {
      const w = all.timeline[t]!;
      expect([slot.sent, slot.acked, slot.delivered]).toEqual([w.sent, w.acked, w.delivered]);
      for (const q of [50, 99, 100]) expect(slot.ackLatency.percentile(q)).toBe(w.ackLatency.percentile(q));
      expect(slot.deliverLatency.max).toBe(w.deliverLatency.max);
    });
  });

  it('p99 of the union, not the average of the workers’ p99s', () => {
    const fast = new PhaseStats(window);
    const slow = new PhaseStats(window);
    const samples: number[] = [];
    for (let i = 0; i < 990; i++) {
      fast.onAcked(2_000, 1 + (i % 5), true);
      samples.push(1 + (i % 5));
    }
    for (let i = 0; i < 10; i++) {
      slow.onAcked(2_000, 300 + i, true);
      samples.push(300 + i);
    }
    const merged = PhaseStats.merged(window, [fast.snapshot(), slow.snapshot()]);
    const exact = percentileOfSorted(samples.sort((a, b) => a - b), 99);
    expect(exact).toBe(5);
    // the histogram's bucket of 5 ms (relative error < 1.6 %), far from the slow worker's 300 ms
    expect(merged.ackLatency.percentile(99)).toBeGreaterThanOrEqual(5);
    expect(merged.ackLatency.percentile(99)).toBeLessThan(5 * 1.016);
    expect(merged.ackLatency.percentile(99.5)).toBeGreaterThanOrEqual(300 * 0.98);
    expect(merged.ackLatency.max).toBe(309);
    const averageOfP99s = (fast.ackLatency.percentile(99) + slow.ackLatency.percentile(99)) / 2;
    expect(averageOfP99s).toBeGreaterThan(150); // what averaging would have reported
  });

  it('parts with timelines of different lengths merge second by second', () => {
    const a = new PhaseStats(window);
    const b = new PhaseStats(window);
    a.onAcked(500, 3, false);
    b.onAcked(3_500, 70, true);
    const m = PhaseStats.merged(window, [a.snapshot(), b.snapshot()]);
    expect(m.timeline.map((s) => s.acked)).toEqual([1, 0, 0, 1]);
    expect(m.timeline[3]!.ackLatency.max).toBe(70);
    expect(m.timeline[1]!.ackLatency.count).toBe(0);
  });
});

function options(extra: string[]): BenchOptions {
  const r = parseBenchArgs(['--spawn-standalone', '--users', '10', '--duration', '4', '--warmup', '1', ...extra]);
  if (r.help) throw new Error('help');
  return r.options;
}

function part(n: number, stats: PhaseStats, over: Partial<LoadPart> = {}): LoadPart {
  return {
    n,
    pid: 1000 + n,
    users: 5,
    ws: 3,
    tcp: 2,
    login: { loggedIn: 5, loginMs: 100 * n, loginFailures: n },
    stats: viaIpc(stats.snapshot()),
    nodes: { 'gw-a': 5 },
    unacked: 0,
    lost: n - 1,
    lostAfterAck: 0,
    deliveredUnacked: 0,
    pairingMisses: 0,
    notSentOffline: 0,
    drain: { waitedMs: 10 * n, collectedUsers: 1, collectedMessages: n, collectMs: 5 * n },
    missingSample: [],
    loopDelayMs: { p50: 1, p99: 10 * n, max: 20 * n },
    cores: 0.5,
    windowEpoch: { from: 0, to: 0 },
    ...over,
  };
}

describe('mergeParts', () => {
  it('sums counts, takes throughput from the merged window, finds a stall of one worker, keeps the verdicts', () => {
    const opts = options(['--workers', '2']);
    const a = new PhaseStats(window);
    const b = new PhaseStats(window);
    for (let t = 1_000; t < 5_000; t += 10) {
      a.onSent(t, true);
      a.onAcked(t + 2, 2, true);
      a.onDelivered(t + 1, 1, true);
      b.onSent(t, true);
      b.onAcked(t + 2, t >= 3_000 && t < 3_100 ? 80 : 3, true); // worker 2 stalls in second 3
      b.onDelivered(t + 1, 1, true);
    }
    const generator = [
      { name: 'bench', pid: 1, users: 0, cores: 0.01, loopDelayP99Ms: NaN },
      { name: 'worker 1', pid: 1001, users: 5, cores: 0.4, loopDelayP99Ms: 10 },
      { name: 'worker 2', pid: 1002, users: 5, cores: 0.96, loopDelayP99Ms: 20 },
    ];
    const cpu = { loadGenerator: 1.37, sut: { standalone: 0.5 }, machine: 1.2, interrupts: 0, others: 0.03 };
    const r = mergeParts(opts, [part(1, a), part(2, b)], { ...window }, { nodeSamples: [], cpuSamples: new Map(), cpu, generator });
    expect(r.sent).toBe(800);
    expect(r.acked).toBe(800);
    expect(r.delivered).toBe(800);
    expect(r.throughputPerSec).toBe(200); // 800 acks in a 4 s window
    expect(r.users).toEqual({ total: 10, loggedIn: 10, ws: 6, tcp: 4, loginMs: 200, loginFailures: 3 });
    expect(r.nodes).toEqual({ 'gw-a': 10 });
    expect(r.lost).toBe(1);
    expect(r.drain).toEqual({ waitedMs: 20, collectedUsers: 2, collectedMessages: 3, collectMs: 10 });
    expect(r.loadGeneratorLoopDelayMs).toEqual({ p50: 1, p99: 20, max: 40 });
    expect(r.latencyMs.sendToAck.max).toBe(80);
    expect(r.ackMaxPerSecond.stallSeconds).toEqual([3]);
    expect(r.ackMaxPerSecond.seconds).toBe(4);
    expect(r.timeline[3]!.ackMaxMs).toBe(80);
    expect(r.generator).toBe(generator);
    expect(r.saturation.verdict).toBe('generator saturated: worker 2 at 96 % of a core');
  });
});

describe('workerJobs', () => {
  it('splits users into contiguous ranges and an open loop’s rate by each worker’s share', () => {
    const jobs = workerJobs(options(['--users', '10', '--workers', '3', '--rate', '900']), 'http://d');
    expect(jobs.map((j) => [j.n, j.from, j.to])).toEqual([
      [1, 0, 3],
      [2, 3, 6],
      [3, 6, 10],
    ]);
    expect(jobs.map((j) => j.opts.users)).toEqual([3, 3, 4]);
    expect(jobs.map((j) => (j.opts.load.kind === 'open' ? j.opts.load.ratePerSec : 0))).toEqual([270, 270, 360]);
    expect(jobs.every((j) => j.opts.workers === 1 && j.opts.jsonFile === null && j.dispatchUrl === 'http://d')).toBe(true);
    const closed = workerJobs(options(['--users', '10', '--workers', '2', '--inflight', '3']), null);
    expect(closed.map((j) => j.opts.load)).toEqual([{ kind: 'closed', inflight: 3 }, { kind: 'closed', inflight: 3 }]);
  });
});
