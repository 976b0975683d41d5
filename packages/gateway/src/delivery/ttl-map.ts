import { ChurnMap } from '@switchboard/core';

/**
 * A set whose entries live between `windowMs` and 2 × `windowMs`: two generations rotated every
 * window. O(1) per operation and no per-entry timers, so it holds millions of fingerprints cheaply.
 */
export class TtlMap<V> {
  // ChurnMaps: some of these (the inbound ledger) set and delete an entry per message.
  private current = new ChurnMap<string, V>();
  private previous = new ChurnMap<string, V>();
  private rotatedAt: number;

  constructor(
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.rotatedAt = now();
  }

  private rotate(): void {
    const t = this.now();
    if (t - this.rotatedAt < this.windowMs) return;
    // More than two windows passed: everything is stale.
    this.previous = t - this.rotatedAt >= 2 * this.windowMs ? new ChurnMap() : this.current;
    this.current = new ChurnMap();
    this.rotatedAt = t;
  }

  get(key: string): V | undefined {
    this.rotate();
    return this.current.get(key) ?? this.previous.get(key);
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  set(key: string, value: V): void {
    this.rotate();
    this.previous.delete(key);
    this.current.set(key, value);
  }

  delete(key: string): boolean {
    const a = this.current.delete(key);
    const b = this.previous.delete(key);
    return a || b;
  }

  get size(): number {
    return this.current.size + this.previous.size;
  }

  clear(): void {
    this.current.clear();
    this.previous.clear();
  }
}
