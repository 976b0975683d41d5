import { describe, expect, it } from 'vitest';
import { LatencyHistogram, percentileOfSorted } from '../../src/shared/histogram.js';

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

describe('percentileOfSorted', () => {
  it('percentileOfSorted - nearest rank', () => {
    const a = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(percentileOfSorted(a, 50)).toBe(5);
    expect(percentileOfSorted(a, 90)).toBe(9);
    expect(percentileOfSorted(a, 99)).toBe(10);
    expect(percentileOfSorted(a, 100)).toBe(10);
    expect(percentileOfSorted(a, 0)).toBe(1);
    expect(percentileOfSorted(a, 10)).toBe(1);
    expect(percentileOfSorted(a, 11)).toBe(2);
  });

  it('percentileOfSorted - empty is NaN, one sample is that sample', () => {
    expect(percentileOfSorted([], 50)).toBeNaN();
    expect(percentileOfSorted([7], 1)).toBe(7);
    expect(percentileOfSorted([7], 99.9)).toBe(7);
  });
});

describe('LatencyHistogram', () => {
  it('bucket index - exact below 128 µs, contiguous and monotonic above', () => {
    for (let v = 0; v < 128; v++) expect(LatencyHistogram.indexOf(v)).toBe(v);
    let prev = LatencyHistogram.indexOf(127);
    for (let v = 128; v < 1 << 20; v += 1 + (v >> 9)) {
      const i = LatencyHistogram.indexOf(v);
      expect(i === prev || i === prev + 1 || i > prev).toBe(true);
      const [lo, hi] = LatencyHistogram.bucketBounds(i);
      expect(v).toBeGreaterThanOrEqual(lo);
      expect(v).toBeLessThanOrEqual(hi);
      // relative bucket width stays under 1/64
      expect((hi - lo + 1) / lo).toBeLessThanOrEqual(1 / 64 + 1e-12);
      prev = i;
    }
  });

  it('bucket bounds - neighbouring buckets touch', () => {
    for (let i = 0; i < 1_600; i++) {
      const [, hi] = LatencyHistogram.bucketBounds(i);
      const [lo] = LatencyHistogram.bucketBounds(i + 1);
      expect(lo).toBe(hi + 1);
    }
  });

  it('percentile - within 1.6 % of the exact value on random data', () => {
    const rnd = mulberry32(42);
    const h = new LatencyHistogram();
    const values: number[] = [];
    for (let i = 0; i < 50_000; i++) {
      // log-normal-ish latencies from 0.05 ms to a few seconds
      const v = Math.exp(rnd() * 11 - 3);
      values.push(v);
      h.record(v);
    }
    values.sort((a, b) => a - b);
    for (const p of [1, 10, 50, 90, 99, 99.9]) {
      const exact = percentileOfSorted(values, p);
      const approx = h.percentile(p);
      // the histogram works in whole µs, so allow 1 µs of rounding on top of the bucket width
      expect(Math.abs(approx - exact)).toBeLessThanOrEqual(exact / 64 + 0.001);
    }
    expect(h.count).toBe(50_000);
    expect(h.max).toBe(values[values.length - 1]);
    expect(h.min).toBe(values[0]);
    expect(h.percentile(100)).toBe(h.max);
  });

  it('summary - exact for small integer ms values', () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 100; i++) h.record(i / 10); // 0.1 .. 10 ms, all below 128 µs? no: up to 10 000 µs
    const s = h.summary();
    expect(s.count).toBe(100);
    expect(s.min).toBe(0.1);
    expect(s.max).toBe(10);
    expect(s.mean).toBeCloseTo(5.05, 10);
    expect(s.p50).toBeGreaterThanOrEqual(5);
    expect(s.p50).toBeLessThanOrEqual(5 * (1 + 1 / 64));
    expect(s.p99).toBeGreaterThanOrEqual(9.9);
    expect(s.p99).toBeLessThanOrEqual(10);
  });

  it('empty - NaN everywhere, count 0', () => {
    const s = new LatencyHistogram().summary();
    expect(s.count).toBe(0);
    for (const k of ['min', 'mean', 'p50', 'p90', 'p99', 'p999', 'max'] as const) expect(s[k]).toBeNaN();
  });

  it('record - negative counts as 0, NaN is ignored, huge values are clamped but max stays exact', () => {
    const h = new LatencyHistogram();
    h.record(-5);
    h.record(Number.NaN);
    h.record(10_000_000); // 2.8 hours, above the 35-minute clamp
    expect(h.count).toBe(2);
    expect(h.min).toBe(0);
    expect(h.max).toBe(10_000_000);
    expect(h.percentile(50)).toBe(0);
    expect(h.percentile(99)).toBeLessThanOrEqual(10_000_000);
  });

  it('merge - same result as recording everything in one', () => {
    const rnd = mulberry32(7);
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    const all = new LatencyHistogram();
    for (let i = 0; i < 5_000; i++) {
      const v = rnd() * 200;
      (i % 2 ? a : b).record(v);
      all.record(v);
    }
    a.merge(b);
    expect(a.summary()).toEqual(all.summary());
  });
});
