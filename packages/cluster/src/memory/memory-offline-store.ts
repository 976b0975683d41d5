import type { UserId } from '@switchboard/core';
import {
  DEFAULT_OFFLINE_CAPACITY,
  DEFAULT_OFFLINE_TTL_MS,
  type OfflineMessage,
  type OfflineStore,
  type StoreOutcome,
} from '../offline-store.js';

interface Queue {
  byFp: Map<string, OfflineMessage>; // Map keeps insertion order = queue order
  expiresAt: number;
}

/** In-process OfflineStore. Not durable: the standalone default and the unit-test twin. */
export class MemoryOfflineStore implements OfflineStore {
  private queues = new Map<UserId, Queue>();
  private readonly capacity: number;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(opts: { capacity?: number; ttlMs?: number; now?: () => number } = {}) {
    this.capacity = opts.capacity ?? DEFAULT_OFFLINE_CAPACITY;
    this.ttlMs = opts.ttlMs ?? DEFAULT_OFFLINE_TTL_MS;
    this.now = opts.now ?? Date.now;
  }

  private live(userId: UserId): Queue | undefined {
    const q = this.queues.get(userId);
    if (q && q.expiresAt <= this.now()) {
      this.queues.delete(userId);
      return undefined;
    }
    return q;
  }

  async store(userId: UserId, msg: { fp: string; packet: string }): Promise<StoreOutcome> {
    let q = this.live(userId);
    if (q?.byFp.has(msg.fp)) return 'duplicate';
    if (q && q.byFp.size >= this.capacity) return 'full';
    if (!q) {
      q = { byFp: new Map(), expiresAt: 0 };
      this.queues.set(userId, q);
    }
    const now = this.now();
    q.byFp.set(msg.fp, { fp: msg.fp, packet: msg.packet, storedAt: now });
    q.expiresAt = now + this.ttlMs;
    return 'stored';
  }

  async peek(userId: UserId, limit: number): Promise<OfflineMessage[]> {
    const q = this.live(userId);
    if (!q) return [];
    const out: OfflineMessage[] = [];
    for (const m of q.byFp.values()) {
      if (out.length >= limit) break;
      out.push({ ...m });
    }
    return out;
  }

  async remove(userId: UserId, fp: string): Promise<boolean> {
    const q = this.live(userId);
    if (!q) return false;
    const had = q.byFp.delete(fp);
    if (q.byFp.size === 0) this.queues.delete(userId);
    return had;
  }

  async count(userId: UserId): Promise<number> {
    return this.live(userId)?.byFp.size ?? 0;
  }

  async close(): Promise<void> {}
}
