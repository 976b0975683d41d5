import type { UserId } from '@switchboard/core';
import { budgetOptions, type BudgetCharge, type OfflineBudget, type OfflineBudgetOptions } from '../offline-budget.js';

interface Window {
  used: number;
  endsAt: number;
}

/** In-process OfflineBudget: the standalone default (one process, so one counter is the whole truth). */
export class MemoryOfflineBudget implements OfflineBudget {
  private readonly windows = new Map<UserId, Window>();
  private readonly bytesPerWindow: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  private sweptAt: number;

  constructor(opts: OfflineBudgetOptions & { now?: () => number } = {}) {
    ({ bytesPerWindow: this.bytesPerWindow, windowMs: this.windowMs } = budgetOptions(opts));
    this.now = opts.now ?? Date.now;
    this.sweptAt = this.now();
  }

  private live(sender: UserId, now: number): Window | undefined {
    const w = this.windows.get(sender);
    if (w && w.endsAt <= now) {
      this.windows.delete(sender);
      return undefined;
    }
    return w;
  }

  async charge(sender: UserId, bytes: number): Promise<BudgetCharge> {
    const now = this.now();
    this.sweep(now);
    const w = this.live(sender, now);
    const used = w?.used ?? 0;
    if (used + bytes > this.bytesPerWindow) return 'over';
    if (w) w.used = used + bytes;
    else this.windows.set(sender, { used: bytes, endsAt: now + this.windowMs });
    return 'ok';
  }

  async refund(sender: UserId, bytes: number): Promise<void> {
    const w = this.live(sender, this.now());
    if (w) w.used = Math.max(0, w.used - bytes);
  }

  async used(sender: UserId): Promise<number> {
    return this.live(sender, this.now())?.used ?? 0;
  }

  async close(): Promise<void> {
    this.windows.clear();
  }

  /** Forget ended windows once per window length, so senders who stopped sending do not accumulate. */
  private sweep(now: number): void {
    if (now - this.sweptAt < this.windowMs) return;
    this.sweptAt = now;
    for (const [sender, w] of this.windows) if (w.endsAt <= now) this.windows.delete(sender);
  }
}
