import { describe, expect, it } from 'vitest';
import type { BenchReport } from '../../src/load/report.js';
import { median, runFigures, sideBySideTable, type Measurement } from '../../src/load/side-by-side.js';
import { parseSideBySideArgs } from '../../src/load/side-by-side-run.js';

/** The parts of a report the table reads. */
function report(f: { msgPerSec: number; sutCores: number; p50: number; p99: number; worst: number; stalls: number; wireDup?: number; other?: number }): BenchReport {
  const timeline = [0, 1, 2, 3, 4].map((t) => ({ t, sent: 1, acked: 1, delivered: 1, ackP50Ms: 1, ackP99Ms: 1, ackMaxMs: 1, deliverP50Ms: 1, deliverP99Ms: 1, otherCores: t === 2 ? (f.other ?? 0.05) : 0.01 }));
  return {
    options: { warmupS: 1 },
    switchboard: {
      windowS: 4,
      timeline,
      throughputPerSec: f.msgPerSec,
      cpu: { loadGenerator: 0.8, sut: { standalone: f.sutCores }, machine: 1.5, interrupts: 0, others: 0 },
      latencyMs: { sendToAck: { count: 1, min: 0, mean: 1, p50: f.p50, p90: 1, p99: f.p99, p999: 1, max: f.worst } },
      ackMaxPerSecond: { thresholdMs: 50, seconds: 4, stalls: f.stalls, stallSeconds: [], medianMaxMs: 10, worstMaxMs: f.worst, worstSecond: 2 },
      wireDuplicates: f.wireDup ?? 0,
      lost: 0,
      appDuplicates: 0,
      saturation: { verdict: 'server saturated: standalone at 97 % of a core' },
    },
  } as unknown as BenchReport;
}

describe('side-by-side table', () => {
  const closed: Measurement = { kind: 'closed', inflight: 4 };
  const open5k: Measurement = { kind: 'open', ratePerSec: 5000 };

  it('runFigures - server µs per message from the server cores; noisy when another process took more than the bound', () => {
    const r = runFigures('switchboard', 1, 'closed', report({ msgPerSec: 20_000, sutCores: 1, p50: 100, p99: 250, worst: 300, stalls: 4 }), 0.2);
    expect(r.usPerMsg).toBe(50);
    expect(r.serverCores).toBe(1);
    expect(r.noisy).toBe(false);
    expect(r.worstOtherCores).toBe(0.05);
    expect(runFigures('switchboard', 1, 'closed', report({ msgPerSec: 1, sutCores: 1, p50: 1, p99: 1, worst: 1, stalls: 0, other: 0.4 }), 0.2).noisy).toBe(true);
  });

  it('median - odd and even counts, unknown values left out', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([NaN, 5])).toBe(5);
    expect(median([])).toBeNaN();
  });

  it('sideBySideTable - medians over the rounds with each run listed, a column per side, ratios and verdicts below', () => {
    const runs = [
      ...[18_000, 16_000, 17_000].map((tp, i) => runFigures('switchboard', i + 1, 'closed', report({ msgPerSec: tp, sutCores: 0.96, p50: 100, p99: 250, worst: 300, stalls: 4 }), 0.2)),
      ...[11_000, 12_000, 11_500].map((tp, i) => runFigures('mobileimsdk', i + 1, 'closed', report({ msgPerSec: tp, sutCores: 1.34, p50: 200, p99: 450, worst: 500, stalls: 4 }), 0.2)),
      ...[12, 22.8, 47].map((p99, i) =>
        runFigures('switchboard', i + 1, 'open-5000', report({ msgPerSec: 5000, sutCores: 0.4, p50: 2.5, p99, worst: p99 * 2, stalls: i, other: i === 2 ? 0.5 : 0 }), 0.2),
      ),
      ...[13.8, 15.7, 6.2].map((p99, i) => runFigures('mobileimsdk', i + 1, 'open-5000', report({ msgPerSec: 5000, sutCores: 0.6, p50: 2, p99, worst: 35, stalls: 0, wireDup: 200 + i }), 0.2)),
    ];
    const t = sideBySideTable(runs, [closed, open5k]);
    const lines = t.split('\n');
    expect(lines[0]).toBe('| figure | Switchboard standalone | MobileIMSDK v6 demo |');
    expect(t).toContain('| closed loop, 4 in flight: msg/s | **17,000** (18,000 · 16,000 · 17,000) | **11,500** (11,000 · 12,000 · 11,500) |');
    // µs per message: 0.96 cores ÷ 17,000 msg/s = 56 µs; 1.34 ÷ 11,500 = 117 µs
    expect(t).toMatch(/\| closed loop, 4 in flight: server µs CPU per message \| \*\*56\*\* \(53 · 60 · 56\) \| \*\*117\*\* \(122 · 112 · 117\) \|/);
    expect(t).toContain('| open loop 5,000/s: send→ack p99, ms | **22.8** (12.0 · 22.8 · 47.0*) | **13.8** (13.8 · 15.7 · 6.20) |');
    expect(t).toContain('| open loop 5,000/s: seconds with a stall over 50 ms | **1** (0 · 1 · 2*) of 4 | **0** (0 · 0 · 0) of 4 |');
    expect(t).toContain('| wire duplicates (closed / open-5000), medians | 0 / 0 | 0 / 201 |');
    expect(t).toContain('| noisy runs (another process > the bound in a measured second) | 1 of 6 | 0 of 6 |');
    expect(t).toContain('Switchboard ÷ MobileIMSDK throughput **1.48×**');
    expect(t).toContain('Saturation, closed loop, Switchboard standalone: round 1: server saturated');
  });

  it('sideBySideTable - one side only, and a measurement without runs shows "-"', () => {
    const t = sideBySideTable([], [open5k], ['switchboard']);
    expect(t.split('\n')[0]).toBe('| figure | Switchboard standalone |');
    expect(t).toContain('| open loop 5,000/s: acked msg/s | - |');
  });
});

describe('parseSideBySideArgs', () => {
  it('defaults - 3 rounds of closed loop, 10k and 5k; MobileIMSDK first in each round; extra flags after --', () => {
    const o = parseSideBySideArgs(['--', '--connect-concurrency', '50']);
    if (o === 'help') throw new Error('help');
    expect(o.rounds).toBe(3);
    expect(o.measurements).toEqual([{ kind: 'closed', inflight: 4 }, { kind: 'open', ratePerSec: 10_000 }, { kind: 'open', ratePerSec: 5_000 }]);
    expect(o.sides).toEqual(['mobileimsdk', 'switchboard']);
    expect(o.common).toEqual(['--users', '1000', '--tcp-share', '0.5', '--size', '100', '--duration', '15', '--warmup', '3', '--workers', '1', '--connect-concurrency', '50']);
    expect(parseSideBySideArgs(['-h'])).toBe('help');
  });

  it('bad values - an Error naming the flag', () => {
    expect(() => parseSideBySideArgs(['--rounds', '0'])).toThrow(/--rounds/);
    expect(() => parseSideBySideArgs(['--rates', '5k'])).toThrow(/--rates/);
    expect(() => parseSideBySideArgs(['--sides', 'nats'])).toThrow(/--sides/);
    expect(() => parseSideBySideArgs(['--inflight', '0', '--rates', ''])).toThrow(/nothing to measure/);
    expect(() => parseSideBySideArgs(['--bogus'])).toThrow();
  });
});
