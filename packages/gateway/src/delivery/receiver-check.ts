import { LogThrottle, type Logger, type UserId } from '@switchboard/core';

/** The application's answer to "does this user exist?" (the `receiverExists` hook, or the receiver-check webhook). */
export type ReceiverExists = (userId: string) => Promise<boolean> | boolean;

export interface ReceiverCheckOptions {
  /** How long an answer is reused, ms. */
  cacheMs: number;
  /** Most answers kept (oldest forgotten first). */
  maxEntries: number;
  log: Logger;
}

/** A failed check counts as "exists" (fail open: the budgets still bound what is stored) for at most this long. */
const FAILED_CHECK_CACHE_MS = 5_000;

/**
 * The optional receiver check, asked before custody starts for a receiver not connected to this
 * gateway: a message to a user the application says does not exist is refused (error 1036) instead
 * of being stored offline for a week. Answers are cached (`cacheMs`, at most `maxEntries`) and
 * concurrent checks of one user share one call, so the hot path stays synchronous for known users.
 * A check that throws, times out or answers garbage counts as "exists": an unreachable user
 * directory must not stop messaging, and the offline budgets still bound what can be stored.
 */
export class ReceiverCheck {
  private readonly cache = new Map<string, { exists: boolean; until: number }>();
  private readonly pending = new Map<string, Promise<boolean>>();
  private readonly quiet = new LogThrottle();

  constructor(
    private readonly fn: ReceiverExists,
    private readonly o: ReceiverCheckOptions,
  ) {}

  /** The answer for `userId`: synchronous when cached, otherwise a promise (which never rejects). */
  exists(userId: UserId): boolean | Promise<boolean> {
    const hit = this.cache.get(userId);
    if (hit && hit.until > Date.now()) return hit.exists;
    if (hit) this.cache.delete(userId);
    let p = this.pending.get(userId);
    if (!p) {
      p = this.ask(userId).finally(() => this.pending.delete(userId));
      this.pending.set(userId, p);
    }
    return p;
  }

  private async ask(userId: UserId): Promise<boolean> {
    try {
      const r = await this.fn(userId);
      if (typeof r !== 'boolean') throw new Error(`receiver check answered ${typeof r}, not a boolean`);
      this.remember(userId, r, this.o.cacheMs);
      return r;
    } catch (err) {
      const skipped = this.quiet.take();
      if (skipped >= 0) this.o.log.warn({ err, skipped }, 'receiver check failed; treating the receiver as existing');
      this.remember(userId, true, Math.min(this.o.cacheMs, FAILED_CHECK_CACHE_MS));
      return true;
    }
  }

  private remember(userId: string, exists: boolean, ms: number): void {
    if (ms <= 0) return;
    this.cache.delete(userId);
    this.cache.set(userId, { exists, until: Date.now() + ms });
    while (this.cache.size > this.o.maxEntries) this.cache.delete(this.cache.keys().next().value as string);
  }
}
