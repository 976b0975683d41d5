/** Token bucket: `ratePerSec` tokens per second, at most `burst` saved up. */
export class TokenBucket {
  private tokens: number;
  private last: number;
  /** Packets refused in the current one-second window (for abuse detection). */
  private refusedWindowStart: number;
  private refused = 0;

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.last = now();
    this.refusedWindowStart = this.last;
  }

  /** Take one token; false when the bucket is empty. */
  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) * this.ratePerSec) / 1000);
    this.last = t;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    if (t - this.refusedWindowStart >= 1000) {
      this.refusedWindowStart = t;
      this.refused = 0;
    }
    this.refused++;
    return false;
  }

  /** Tokens there are now (refilled up to this moment), without taking any. */
  available(): number {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) * this.ratePerSec) / 1000);
    this.last = t;
    return this.tokens;
  }

  /** Most tokens the bucket saves up. */
  get capacity(): number {
    return this.burst;
  }

  /** Packets refused within the current second. */
  get refusedThisSecond(): number {
    return this.refused;
  }
}
