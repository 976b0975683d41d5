import type { UserId } from '@switchboard/core';

/** A message waiting for an offline receiver. */
export interface OfflineMessage {
  /** Fingerprint: the queue holds each fp at most once. */
  fp: string;
  /** The packet to deliver, encoded as wire JSON. */
  packet: string;
  /** When it was stored (ms since epoch). */
  storedAt: number;
}

/** Result of `OfflineStore.store`. */
export type StoreOutcome = 'stored' | 'duplicate' | 'full';

/** Defaults of every offline store. */
export const DEFAULT_OFFLINE_CAPACITY = 1000;
export const DEFAULT_OFFLINE_TTL_MS = 7 * 24 * 3600 * 1000;

/**
 * Per-user ordered queues of undelivered QoS messages (architecture §3, §5).
 * Entries are removed only when the receiver acks them, never on read.
 */
export interface OfflineStore {
  /**
   * Append a message. Idempotent by fp: a second store of the same fp is `duplicate` and keeps
   * the first. `full` when the queue already holds `capacity` messages (nothing stored).
   * Resolves only once the store is durable (for Redis: the write was acknowledged).
   * Every store refreshes the queue's expiry (`ttlMs` after the last store).
   */
  store(userId: UserId, msg: { fp: string; packet: string }): Promise<StoreOutcome>;
  /** Up to `limit` messages, oldest first. Does not remove anything. */
  peek(userId: UserId, limit: number): Promise<OfflineMessage[]>;
  /** Remove one message by fp (the receiver acked it). True when it was there. */
  remove(userId: UserId, fp: string): Promise<boolean>;
  /** Number of queued messages. */
  count(userId: UserId): Promise<number>;
  close(): Promise<void>;
}
