import { describe, expect, it } from 'vitest';
import { resultVerdicts, saturationVerdict, stallSummary } from '../../src/load/verdict.js';

describe('saturationVerdict', () => {
  it('generator - names the busiest worker at or over 0.9 cores', () => {
    const s = saturationVerdict({
      generator: [
        { name: 'bench', cores: 0.01 },
        { name: 'worker 1', cores: 0.71 },
        { name: 'worker 2', cores: 0.98 },
      ],
      server: [{ name: 'standalone gw-1', cores: 0.55 }],
      machineCores: 1.6,
      cpus: 4,
    });
    expect(s.generator).toEqual({ saturated: true, busiest: { name: 'worker 2', cores: 0.98 } });
    expect(s.server.saturated).toBe(false);
    expect(s.machine.saturated).toBe(false);
    expect(s.verdict).toBe('generator saturated: worker 2 at 98 % of a core');
  });

  it('server - a gateway at a full core is the ceiling, the generator not', () => {
    const s = saturationVerdict({
      generator: [{ name: 'bench', cores: 0.69 }],
      server: [
        { name: 'gateway gw-a', cores: 0.93 },
        { name: 'gateway gw-b', cores: 0.97 },
        { name: 'pid 42', cores: null },
      ],
      machineCores: 2.6,
      cpus: 4,
    });
    expect(s.server.busiest).toEqual({ name: 'gateway gw-b', cores: 0.97 });
    expect(s.verdict).toBe('server saturated: gateway gw-b at 97 % of a core');
  });

  it('machine - every core busy, with the share other processes took; several sides are all named', () => {
    const s = saturationVerdict({
      generator: [{ name: 'bench', cores: 0.95 }],
      server: [{ name: 'standalone', cores: 0.6 }],
      machineCores: 1.94,
      cpus: 2,
      otherCores: 0.31,
    });
    expect(s.machine).toEqual({ saturated: true, busyCores: 1.94, cpus: 2 });
    expect(s.verdict).toBe('generator saturated: bench at 95 % of a core; machine saturated: 1.94 of 2 cores busy, other processes 0.31');
  });

  it('nothing saturated - gives the busiest of each side; unknown CPU is not a verdict', () => {
    const s = saturationVerdict({ generator: [{ name: 'bench', cores: 0.22 }], server: [{ name: 'pid 7', cores: null }], machineCores: null, cpus: 2 });
    expect(s.generator.saturated || s.server.saturated || s.machine.saturated).toBe(false);
    expect(s.server.busiest).toBeNull();
    expect(s.verdict).toBe('nothing saturated: busiest generator process bench at 22 % of a core, busiest server process unknown');
  });

  it('threshold - 0.9 cores counts, just below does not; a multi-threaded server past one core counts', () => {
    expect(saturationVerdict({ generator: [{ name: 'g', cores: 0.9 }], server: [], machineCores: 1, cpus: 2 }).generator.saturated).toBe(true);
    expect(saturationVerdict({ generator: [{ name: 'g', cores: 0.89 }], server: [], machineCores: 1, cpus: 2 }).generator.saturated).toBe(false);
    const jvm = saturationVerdict({ generator: [], server: [{ name: 'pid 9', cores: 1.47 }], machineCores: 1.9, cpus: 4 });
    expect(jvm.verdict).toBe('server saturated: pid 9 at 147 % of a core');
  });
});

describe('stallSummary', () => {
  const sec = (t: number, ackMaxMs: number, acked = 100) => ({ t, acked, ackMaxMs });

  it('counts only whole seconds of the measured window whose max exceeds 50 ms', () => {
    // warmup 2 s, window 4 s: seconds 2..5 are measured; 0, 1 (warmup) and 6 (drain) are not.
    const tl = [sec(0, 900), sec(1, 400), sec(2, 12), sec(3, 50), sec(4, 50.1), sec(5, 210), sec(6, 3000)];
    const s = stallSummary(tl, 2, 4);
    expect(s).toEqual({ thresholdMs: 50, seconds: 4, stalls: 2, stallSeconds: [4, 5], medianMaxMs: 50, worstMaxMs: 210, worstSecond: 5 });
  });

  it('a measured second without an ack is a stall (nothing came back for a whole second)', () => {
    const tl = [sec(0, 5), sec(1, 5, 0), sec(2, 8)];
    const s = stallSummary(tl.map((e) => (e.acked === 0 ? { ...e, ackMaxMs: NaN } : e)), 0, 3);
    expect(s.stalls).toBe(1);
    expect(s.stallSeconds).toEqual([1]);
    expect(s.worstMaxMs).toBe(8);
    // A second missing from the timeline altogether (the load ended early) counts the same way.
    expect(stallSummary([sec(0, 5)], 0, 2).stallSeconds).toEqual([1]);
  });

  it('only whole seconds inside a fractional window count; the threshold can be set', () => {
    // window [0.5 s, 3.5 s): seconds 1 and 2 lie inside it, 0 and 3 only in part.
    const tl = [sec(0, 100), sec(1, 30), sec(2, 30), sec(3, 30)];
    const s = stallSummary(tl, 0.5, 3, 20);
    expect(s.seconds).toBe(2);
    expect(s.stallSeconds).toEqual([1, 2]);
    expect(s.thresholdMs).toBe(20);
  });

  it('an empty window has no seconds and no maxima', () => {
    expect(stallSummary([], 2, 0)).toEqual({ thresholdMs: 50, seconds: 0, stalls: 0, stallSeconds: [], medianMaxMs: null, worstMaxMs: null, worstSecond: null });
  });
});

describe('resultVerdicts', () => {
  it('takes the server processes from the cpu record by name', () => {
    const v = resultVerdicts({
      warmupS: 0,
      windowS: 1,
      timeline: [{ t: 0, acked: 10, ackMaxMs: 70 }],
      generator: [{ name: 'bench', cores: 0.2 }],
      sut: { 'standalone gw-1': 0.95, 'pid 3': null },
      machineCores: 1.2,
      otherCores: 0,
      cpus: 2,
    });
    expect(v.ackMaxPerSecond.stalls).toBe(1);
    expect(v.saturation.verdict).toBe('server saturated: standalone gw-1 at 95 % of a core');
  });
});
