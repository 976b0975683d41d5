import type { Logger, UserId } from '@switchboard/core';
import type { OfflineBudget, StorageCeiling } from '@switchboard/cluster';
import { LogThrottle } from '@switchboard/core';

/** What the budgets say about storing one message offline. */
export type Admission = 'ok' | 'sender_budget' | 'storage_full';

/** What the budgets need to know of a message. */
export interface AdmissionRef {
  sender: UserId;
  kind: 'c2c' | 's2c';
  wire: string;
}

/**
 * The two budgets of offline storage (docs/operations.md, "Offline storage budgets"), asked before
 * custody stores a message for an offline receiver:
 * - the total: while the storage behind the queues is over its ceiling (Redis's memory, a standalone
 *   gateway's heap; sampled in the background) nothing more is stored;
 * - per sender: the bytes one user may make the cluster store per window. Server pushes (`s2c`)
 *   come from the application's own API and are not charged.
 * A refusal is reported to the sender with its own error code, and the message is not acked.
 */
export class OfflineAdmission {
  private readonly quiet = new LogThrottle();

  constructor(
    private readonly budget: OfflineBudget,
    private readonly ceiling: StorageCeiling | null,
    private readonly log: Logger,
  ) {}

  /** Rejects when the per-sender counter cannot be reached (the store would fail the same way). */
  async admit(m: AdmissionRef): Promise<Admission> {
    if (this.ceiling?.over()) return 'storage_full';
    if (m.kind === 's2c') return 'ok';
    return (await this.budget.charge(m.sender, Buffer.byteLength(m.wire))) === 'ok' ? 'ok' : 'sender_budget';
  }

  /** Give back what `admit` charged for a message that was not stored after all (duplicate, full, error). */
  refund(m: AdmissionRef): void {
    if (m.kind === 's2c') return;
    this.budget.refund(m.sender, Buffer.byteLength(m.wire)).catch((err: unknown) => {
      // The sender's window keeps a few bytes too many until it ends: harmless, so only logged.
      const skipped = this.quiet.take();
      if (skipped >= 0) this.log.warn({ err, skipped }, 'offline budget refund failed');
    });
  }

  /** True while the storage is over its ceiling (for the metric). */
  get overCeiling(): boolean {
    return this.ceiling?.over() ?? false;
  }
}
