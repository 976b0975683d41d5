import { getHeapStatistics } from 'node:v8';
import { DEFAULT_STORAGE_CEILING_SAMPLE_MS, type StorageCeiling, type StorageSample } from '../offline-budget.js';

/** Share of V8's heap limit used as the ceiling when none is configured. */
export const DEFAULT_HEAP_CEILING_SHARE = 0.75;

export interface HeapCeilingOptions {
  /** Used heap (bytes) above which offline stores are refused; 0 or absent = DEFAULT_HEAP_CEILING_SHARE of V8's heap limit. */
  maxBytes?: number;
  /** @default DEFAULT_STORAGE_CEILING_SAMPLE_MS */
  sampleMs?: number;
  /** The reading (tests). @default V8's used heap size */
  usedBytes?: () => number;
  now?: () => number;
}

/**
 * The total budget of a standalone gateway, whose offline queues live in its own heap: refuses
 * offline stores while the used heap is over the ceiling, so queued messages cannot take the
 * process to an out-of-memory crash. Sampled synchronously (V8's heap statistics are cheap), at
 * most once per `sampleMs`.
 */
export class HeapCeiling implements StorageCeiling {
  private readonly ceilingBytes: number;
  private readonly sampleMs: number;
  private readonly read: () => number;
  private readonly now: () => number;
  last: StorageSample | null = null;

  constructor(opts: HeapCeilingOptions = {}) {
    this.ceilingBytes = opts.maxBytes && opts.maxBytes > 0 ? opts.maxBytes : Math.floor(getHeapStatistics().heap_size_limit * DEFAULT_HEAP_CEILING_SHARE);
    this.sampleMs = opts.sampleMs ?? DEFAULT_STORAGE_CEILING_SAMPLE_MS;
    this.read = opts.usedBytes ?? (() => getHeapStatistics().used_heap_size);
    this.now = opts.now ?? Date.now;
  }

  over(): boolean {
    const last = this.last;
    const s = last === null || this.now() - last.at >= this.sampleMs ? this.take() : last;
    return s.usedBytes > s.ceilingBytes;
  }

  async sample(): Promise<StorageSample> {
    return this.take();
  }

  private take(): StorageSample {
    this.last = { usedBytes: this.read(), ceilingBytes: this.ceilingBytes, at: this.now() };
    return this.last;
  }

  async close(): Promise<void> {}
}
