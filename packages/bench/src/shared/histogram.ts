/**
 * A log-linear latency histogram in the spirit of HdrHistogram: values are kept in microseconds,
 * exactly below 128 µs and with 64 sub-buckets per power of two above (relative error < 1.6 %),
 * up to 2^31 µs (about 35 minutes; larger values are clamped). Constant memory (13 KB) and O(1)
 * recording, so millions of samples cost nothing; min, max, count and mean are exact.
 */
export class LatencyHistogram {
  private static readonly EXACT = 128;
  private static readonly HALF = 64;
  private static readonly MAX_US = 0x7fff_ffff;
  private static readonly BUCKETS = 128 + 24 * 64;

  private readonly counts = new Float64Array(LatencyHistogram.BUCKETS);
  private n = 0;
  private sumMs = 0;
  private minMs = Infinity;
  private maxMs = -Infinity;

  /** Record one latency in milliseconds. Negative values count as 0; NaN is ignored. */
  record(ms: number): void {
    if (Number.isNaN(ms)) return;
    const v = ms < 0 ? 0 : ms;
    this.counts[LatencyHistogram.indexOf(Math.round(v * 1000))]! += 1;
    this.n++;
    this.sumMs += v;
    if (v < this.minMs) this.minMs = v;
    if (v > this.maxMs) this.maxMs = v;
  }

  /** Add every sample of `other` to this histogram. */
  merge(other: LatencyHistogram): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i]! += other.counts[i]!;
    this.n += other.n;
    this.sumMs += other.sumMs;
    if (other.minMs < this.minMs) this.minMs = other.minMs;
    if (other.maxMs > this.maxMs) this.maxMs = other.maxMs;
  }

  get count(): number {
    return this.n;
  }

  /**
   * The histogram as plain JSON (non-empty buckets only), to send it between processes (the idle
   * mode's workers hand theirs to the parent over IPC). `fromSnapshot` makes it a histogram again.
   */
  snapshot(): HistogramSnapshot {
    const buckets: Array<[number, number]> = [];
    for (let i = 0; i < this.counts.length; i++) if (this.counts[i]! > 0) buckets.push([i, this.counts[i]!]);
    return { buckets, n: this.n, sumMs: this.sumMs, minMs: this.n === 0 ? null : this.minMs, maxMs: this.n === 0 ? null : this.maxMs };
  }

  /** A histogram holding exactly the samples of `s` (from `snapshot()`). */
  static fromSnapshot(s: HistogramSnapshot): LatencyHistogram {
    const h = new LatencyHistogram();
    for (const [i, c] of s.buckets) if (i >= 0 && i < h.counts.length) h.counts[i]! += c;
    h.n = s.n;
    h.sumMs = s.sumMs;
    h.minMs = s.minMs ?? Infinity;
    h.maxMs = s.maxMs ?? -Infinity;
    return h;
  }

  /** Exact smallest sample, ms; NaN when empty. */
  get min(): number {
    return this.n === 0 ? NaN : this.minMs;
  }

  /** Exact largest sample, ms; NaN when empty. */
  get max(): number {
    return this.n === 0 ? NaN : this.maxMs;
  }

  /** Exact mean, ms; NaN when empty. */
  get mean(): number {
    return this.n === 0 ? NaN : this.sumMs / this.n;
  }

  /**
   * The value at percentile `p` (0–100), ms: the highest value of the bucket that holds the sample
   * of rank ceil(p/100 · count), capped by the exact min and max. NaN when empty.
   */
  percentile(p: number): number {
    if (this.n === 0) return NaN;
    if (p <= 0) return this.minMs;
    if (p >= 100) return this.maxMs;
    const rank = Math.max(1, Math.ceil((p / 100) * this.n));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) {
        const v = LatencyHistogram.highestOf(i) / 1000;
        return Math.min(this.maxMs, Math.max(this.minMs, v));
      }
    }
    return this.maxMs;
  }

  /** p50/p90/p99/max and friends, ms (NaN fields when empty). */
  summary(): LatencySummary {
    return {
      count: this.n,
      min: this.min,
      mean: this.mean,
      p50: this.percentile(50),
      p90: this.percentile(90),
      p99: this.percentile(99),
      p999: this.percentile(99.9),
      max: this.max,
    };
  }

  /** Bucket index of a value in µs. Exported for tests through `bucketBounds`. */
  static indexOf(us: number): number {
    const v = us > LatencyHistogram.MAX_US ? LatencyHistogram.MAX_US : us < 0 ? 0 : us | 0;
    if (v < LatencyHistogram.EXACT) return v;
    const shift = 31 - Math.clz32(v) - 6; // ≥ 1: v >> shift is in [64, 128)
    return LatencyHistogram.EXACT + (shift - 1) * LatencyHistogram.HALF + ((v >> shift) - LatencyHistogram.HALF);
  }

  /** Lowest and highest µs value of bucket `i`. */
  static bucketBounds(i: number): [number, number] {
    if (i < LatencyHistogram.EXACT) return [i, i];
    const j = i - LatencyHistogram.EXACT;
    const shift = Math.floor(j / LatencyHistogram.HALF) + 1;
    const m = (j % LatencyHistogram.HALF) + LatencyHistogram.HALF;
    return [m * 2 ** shift, (m + 1) * 2 ** shift - 1];
  }

  private static highestOf(i: number): number {
    return LatencyHistogram.bucketBounds(i)[1];
  }
}

/** A `LatencyHistogram` as JSON: its non-empty buckets as [index, count], and the exact n, sum, min and max. */
export interface HistogramSnapshot {
  buckets: Array<[number, number]>;
  n: number;
  sumMs: number;
  minMs: number | null;
  maxMs: number | null;
}

/** Latency percentiles in ms; NaN (null in JSON) when there were no samples. */
export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/**
 * Exact nearest-rank percentile of an ascending array (the sample of rank ceil(p/100 · n)).
 * NaN for an empty array. The reference the histogram is tested against.
 */
export function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  if (p <= 0) return sorted[0]!;
  if (p >= 100) return sorted[n - 1]!;
  const rank = Math.max(1, Math.ceil((p / 100) * n));
  return sorted[rank - 1]!;
}
