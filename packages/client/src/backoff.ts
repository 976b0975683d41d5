import { DEFAULT_RECONNECT_POLICY, type ReconnectPolicy } from './defaults.js';
import { reconnectDelayMs } from './dispatch.js';

/**
 * Reconnect backoff of a client: the policy (the application's fields over dispatch's over the
 * default), the attempt count since the last login, and the one timer of the next attempt.
 */
export class Backoff {
  private policy: ReconnectPolicy;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly configured: Partial<ReconnectPolicy> | undefined,
    private readonly random?: () => number,
  ) {
    this.policy = { ...DEFAULT_RECONNECT_POLICY, ...configured };
  }

  /** Dispatch told a policy: it replaces the default; fields the application set still win. */
  adopt(policy: ReconnectPolicy): void {
    this.policy = { ...policy, ...this.configured };
  }

  /** Logged in: the next outage starts from the first delay again. */
  reset(): void {
    this.attempt = 0;
  }

  /** Cancel the armed attempt, if any, and count the next one: its 1-based number and delay. */
  next(): { attempt: number; delayMs: number } {
    this.cancel();
    const delayMs = reconnectDelayMs(this.attempt, this.policy, this.random);
    this.attempt++;
    return { attempt: this.attempt, delayMs };
  }

  /** Run `attempt` after `delayMs`. */
  arm(delayMs: number, attempt: () => void): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      attempt();
    }, delayMs);
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
