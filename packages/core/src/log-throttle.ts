/**
 * At most one log line per `intervalMs` for a problem that repeats once per message (a broker or
 * Redis outage would otherwise write a warning for every message sent meanwhile): `take()` says
 * whether to write now and how many occurrences were left out since the last line.
 */
export class LogThrottle {
  private lastAt = -Infinity;
  private skipped = 0;

  constructor(
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The number of occurrences suppressed since the last line when one should be written now, else -1. */
  take(): number {
    const t = this.now();
    if (t - this.lastAt < this.intervalMs) {
      this.skipped++;
      return -1;
    }
    const n = this.skipped;
    this.skipped = 0;
    this.lastAt = t;
    return n;
  }
}
