import { describe, expect, it } from 'vitest';
import { asUserId, InvalidArgumentError } from '@switchboard/core';
import { MemoryPresenceStore } from '../../src/memory/memory-presence-store.js';
import { presenceStoreContract } from '../contract/presence-store.contract.js';

presenceStoreContract('MemoryPresenceStore', async (opts) => ({ store: new MemoryPresenceStore(opts), cleanup: async () => {} }));

describe('MemoryPresenceStore', () => {
  it('options - a ttl or cap that is not a positive integer is refused', () => {
    expect(() => new MemoryPresenceStore({ ttlMs: 0 })).toThrow(InvalidArgumentError);
    expect(() => new MemoryPresenceStore({ maxUsers: 1.5 })).toThrow(InvalidArgumentError);
  });

  it('memory - bounded: past maxUsers the least recently seen users are forgotten', async () => {
    const store = new MemoryPresenceStore({ maxUsers: 3 });
    for (let i = 0; i < 10; i++) await store.seen([asUserId(`u${i}`)], 1_000 + i + Date.now());
    const times = await store.lastSeen(Array.from({ length: 10 }, (_, i) => asUserId(`u${i}`)));
    expect(times.map((t) => t !== null)).toEqual([false, false, false, false, false, false, false, true, true, true]);
  });
});
