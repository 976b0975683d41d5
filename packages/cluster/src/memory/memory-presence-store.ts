import { InvalidArgumentError, type UserId } from '@switchboard/core';
import { DEFAULT_PRESENCE_TTL_MS, type PresenceStore, type PresenceStoreOptions } from '../presence-store.js';

/** Users a memory store remembers at most; the least recently seen are forgotten first. */
export const DEFAULT_MEMORY_PRESENCE_MAX_USERS = 1_000_000;

export interface MemoryPresenceStoreOptions extends PresenceStoreOptions {
  /** @default DEFAULT_MEMORY_PRESENCE_MAX_USERS (1 000 000) */
  maxUsers?: number;
  /** Clock (tests). @default Date.now */
  now?: () => number;
}

/**
 * PresenceStore in one process (standalone, tests). A Map in order of the last `seen`, so the oldest
 * entries are the first ones: expired and over-the-cap entries are dropped from the front.
 */
export class MemoryPresenceStore implements PresenceStore {
  private readonly times = new Map<UserId, number>();
  private readonly ttlMs: number;
  private readonly maxUsers: number;
  private readonly now: () => number;

  constructor(opts: MemoryPresenceStoreOptions = {}) {
    this.ttlMs = opts.ttlMs ?? DEFAULT_PRESENCE_TTL_MS;
    this.maxUsers = opts.maxUsers ?? DEFAULT_MEMORY_PRESENCE_MAX_USERS;
    if (!Number.isSafeInteger(this.ttlMs) || this.ttlMs <= 0) throw new InvalidArgumentError(`presence ttlMs must be a positive integer, got ${this.ttlMs}`);
    if (!Number.isSafeInteger(this.maxUsers) || this.maxUsers <= 0) throw new InvalidArgumentError(`presence maxUsers must be a positive integer, got ${this.maxUsers}`);
    this.now = opts.now ?? Date.now;
  }

  async seen(users: readonly UserId[], at: number): Promise<void> {
    for (const u of users) {
      const prev = this.times.get(u);
      if (prev !== undefined && prev >= at) continue;
      this.times.delete(u);
      this.times.set(u, at);
    }
    this.trim();
  }

  async lastSeen(users: readonly UserId[]): Promise<Array<number | null>> {
    const oldest = this.now() - this.ttlMs;
    return users.map((u) => {
      const t = this.times.get(u);
      return t !== undefined && t > oldest ? t : null;
    });
  }

  async close(): Promise<void> {
    this.times.clear();
  }

  private trim(): void {
    const oldest = this.now() - this.ttlMs;
    for (const [u, t] of this.times) {
      if (this.times.size <= this.maxUsers && t > oldest) break;
      this.times.delete(u);
    }
  }
}
