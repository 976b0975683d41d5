import { SENSE_MODES, type SenseMode } from '@switchboard/protocol';
import type { KeepAliveTimings } from './client-types.js';

/** The timings of `senseMode`, unless explicit ones are given (tests). */
export function keepAliveTimings(senseMode: SenseMode, explicit?: KeepAliveTimings): KeepAliveTimings {
  if (explicit) return explicit;
  const t = SENSE_MODES[senseMode];
  return { intervalMs: t.keepAliveIntervalMs, timeoutMs: t.keepAliveTimeoutMs };
}

export interface KeepAliveHooks {
  /** The client is logged in (the silence check runs only then). */
  online(): boolean;
  /** Time for a keepalive (type 1). */
  ping(): void;
  /** Nothing heard from the server for the keepalive timeout. */
  silent(reason: string): void;
}

/**
 * Keepalive of a logged-in client: a type-1 packet every interval, and link loss when the server
 * has said nothing for the timeout (checked every `checkMs`).
 */
export class KeepAlive {
  /** Last time anything arrived from the server, ms since epoch. */
  lastHeardAt = 0;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private checkTimer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly hooks: KeepAliveHooks) {}

  /** Something arrived from the server. */
  heard(): void {
    this.lastHeardAt = Date.now();
  }

  start({ intervalMs, timeoutMs }: KeepAliveTimings, checkIntervalMs: number): void {
    this.stop();
    const checkMs = Math.min(checkIntervalMs, intervalMs);
    // MobileIMSDK: the first keepalive goes one interval after login.
    this.pingTimer = setInterval(() => this.hooks.ping(), intervalMs);
    this.checkTimer = setInterval(() => {
      if (!this.hooks.online()) return;
      if (Date.now() - this.lastHeardAt >= timeoutMs) this.hooks.silent(`no answer from the server for ${timeoutMs} ms`);
    }, checkMs);
  }

  stop(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    if (this.checkTimer) clearInterval(this.checkTimer);
    this.pingTimer = this.checkTimer = null;
  }
}
