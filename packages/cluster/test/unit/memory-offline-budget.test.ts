import { describe, expect, it } from 'vitest';
import { asUserId, InvalidArgumentError } from '@switchboard/core';
import { MemoryOfflineBudget } from '../../src/memory/memory-offline-budget.js';
import { HeapCeiling } from '../../src/memory/heap-ceiling.js';
import { offlineBudgetContract } from '../contract/offline-budget.contract.js';

offlineBudgetContract('MemoryOfflineBudget', async (opts) => ({ budget: new MemoryOfflineBudget(opts), cleanup: async () => {} }));

describe('MemoryOfflineBudget', () => {
  it('options - a budget or window that is not a positive integer is refused', () => {
    expect(() => new MemoryOfflineBudget({ bytesPerWindow: 0 })).toThrow(InvalidArgumentError);
    expect(() => new MemoryOfflineBudget({ windowMs: 1.5 })).toThrow(InvalidArgumentError);
  });

  it('memory - senders whose windows ended are forgotten', async () => {
    let now = 0;
    const b = new MemoryOfflineBudget({ bytesPerWindow: 10, windowMs: 1_000, now: () => now });
    for (let i = 0; i < 100; i++) await b.charge(asUserId(`u${i}`), 1);
    now = 5_000;
    await b.charge(asUserId('late'), 1);
    expect((b as unknown as { windows: Map<string, unknown> }).windows.size).toBe(1);
  });
});

describe('HeapCeiling', () => {
  it('over - compares the used heap with the ceiling, sampled at most once per sampleMs', () => {
    let used = 100;
    let now = 0;
    let reads = 0;
    const c = new HeapCeiling({ maxBytes: 150, sampleMs: 1_000, now: () => now, usedBytes: () => (reads++, used) });
    expect(c.over()).toBe(false);
    used = 200;
    expect(c.over()).toBe(false); // the last sample is still fresh
    expect(reads).toBe(1);
    now = 1_000;
    expect(c.over()).toBe(true);
    expect(c.last).toEqual({ usedBytes: 200, ceilingBytes: 150, at: 1_000 });
    expect(reads).toBe(2);
  });

  it('default - without a ceiling it uses three quarters of the V8 heap limit', async () => {
    const s = await new HeapCeiling().sample();
    expect(s.ceilingBytes).toBeGreaterThan(100 * 1024 * 1024);
    expect(s.usedBytes).toBeGreaterThan(0);
    expect(s.usedBytes).toBeLessThan(s.ceilingBytes);
  });
});
