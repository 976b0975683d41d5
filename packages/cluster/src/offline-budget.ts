import { InvalidArgumentError, type UserId } from '@switchboard/core';

// Defaults of the offline-storage budgets (docs/operations.md, "Offline storage budgets").

/** Bytes of offline-stored messages one sender may add per window: 8 MiB. */
export const DEFAULT_OFFLINE_SENDER_BUDGET_BYTES = 8 * 1024 * 1024;
/** The per-sender budget's window: one hour. */
export const DEFAULT_OFFLINE_SENDER_WINDOW_MS = 3_600_000;
/** How often a storage ceiling samples the storage's memory (Redis INFO, the process heap). */
export const DEFAULT_STORAGE_CEILING_SAMPLE_MS = 2_000;

/** Result of `OfflineBudget.charge`. */
export type BudgetCharge = 'ok' | 'over';

/**
 * How many bytes of messages each sender may put into offline queues per window (a fixed window
 * that starts with the sender's first charge). It bounds what one account can make the cluster
 * store for receivers that are offline, made up, or never log in. The memory implementation counts
 * in the process (standalone); the Redis one counts in Redis, so the budget holds across every
 * gateway of a cluster.
 */
export interface OfflineBudget {
  /**
   * Add `bytes` to what `sender` stored in the current window: `ok` when the total stays within the
   * budget, `over` when it would not (then nothing is added). Rejects when the counter cannot be
   * reached (for Redis: UnavailableError).
   */
  charge(sender: UserId, bytes: number): Promise<BudgetCharge>;
  /** Give back `bytes` charged for a message that was not stored after all (never below zero). */
  refund(sender: UserId, bytes: number): Promise<void>;
  /** Bytes `sender` has used in the current window (0 when no window is open). */
  used(sender: UserId): Promise<number>;
  close(): Promise<void>;
}

/** Options of every OfflineBudget. */
export interface OfflineBudgetOptions {
  /** Most bytes per sender per window. @default DEFAULT_OFFLINE_SENDER_BUDGET_BYTES (8 MiB) */
  bytesPerWindow?: number;
  /** Window length, ms. @default DEFAULT_OFFLINE_SENDER_WINDOW_MS (1 hour) */
  windowMs?: number;
}

/**
 * A total budget for offline storage: refuses new offline messages while the storage behind the
 * queues (Redis's memory, or the standalone process's heap) is over a ceiling, before it runs out.
 * Answers from its last sample, taken at most every `sampleMs` and never on the message path.
 */
export interface StorageCeiling {
  /** True while the last sample was over the ceiling. Cheap; starts a new sample when the last one is stale. */
  over(): boolean;
  /** Take a sample now (boot: the first answer is then a real one). */
  sample(): Promise<StorageSample>;
  /** The last sample, null before the first. */
  readonly last: StorageSample | null;
  close(): Promise<void>;
}

/** One reading of a storage ceiling. */
export interface StorageSample {
  /** Bytes in use (Redis `used_memory`, or the process's used heap). */
  usedBytes: number;
  /** The ceiling they were compared with. */
  ceilingBytes: number;
  at: number;
}

/** Checks shared by the budget implementations. */
export function budgetOptions(opts: OfflineBudgetOptions): { bytesPerWindow: number; windowMs: number } {
  const bytesPerWindow = opts.bytesPerWindow ?? DEFAULT_OFFLINE_SENDER_BUDGET_BYTES;
  const windowMs = opts.windowMs ?? DEFAULT_OFFLINE_SENDER_WINDOW_MS;
  if (!Number.isInteger(bytesPerWindow) || bytesPerWindow < 1) throw new InvalidArgumentError(`offline budget bytesPerWindow must be a positive integer: ${bytesPerWindow}`);
  if (!Number.isInteger(windowMs) || windowMs < 1) throw new InvalidArgumentError(`offline budget windowMs must be a positive integer: ${windowMs}`);
  return { bytesPerWindow, windowMs };
}
