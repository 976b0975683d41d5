/**
 * Remembers keys for `ttlMs` (receiver-side dedupe of fingerprints, MobileIMSDK §6.2). Entries are
 * kept in insertion order, which is also expiry order, so expired ones are dropped from the front
 * on every insert: no timer, bounded by what arrived within the window.
 */
export class DedupeWindow {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when `key` was seen within the window; otherwise records it and returns false. */
  seenBefore(key: string): boolean {
    const t = this.now();
    for (const [k, expires] of this.seen) {
      if (expires > t) break;
      this.seen.delete(k);
    }
    const expires = this.seen.get(key);
    if (expires !== undefined && expires > t) return true;
    this.seen.set(key, t + this.ttlMs);
    return false;
  }

  get size(): number {
    return this.seen.size;
  }

  clear(): void {
    this.seen.clear();
  }
}
