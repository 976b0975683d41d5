import { afterEach, describe, expect, it } from 'vitest';
import { asUserId, delay } from '@switchboard/core';
import type { OfflineBudget, OfflineBudgetOptions } from '../../src/offline-budget.js';

/** A fresh, isolated budget built with these options, and how to dispose of it. */
export interface OfflineBudgetSubject {
  budget: OfflineBudget;
  cleanup(): Promise<void>;
}
export type OfflineBudgetFactory = (opts: OfflineBudgetOptions) => Promise<OfflineBudgetSubject>;

/**
 * The OfflineBudget contract (offline-budget.ts TSDoc): per sender, a fixed window that starts at
 * the first charge; a charge that would exceed the budget adds nothing; refunds never go below
 * zero; concurrent charges never overshoot.
 */
export function offlineBudgetContract(name: string, factory: OfflineBudgetFactory): void {
  describe(`${name} (OfflineBudget contract)`, () => {
    const subjects: OfflineBudgetSubject[] = [];
    const make = async (opts: OfflineBudgetOptions): Promise<OfflineBudget> => {
      const s = await factory(opts);
      subjects.push(s);
      return s.budget;
    };
    const alice = asUserId('alice');
    const bob = asUserId('bob');

    afterEach(async () => {
      for (const s of subjects.splice(0)) {
        await s.budget.close();
        await s.cleanup();
      }
    });

    it('charge - within the budget is ok and counted; the charge that would exceed it is over and adds nothing', async () => {
      const b = await make({ bytesPerWindow: 1_000, windowMs: 60_000 });
      expect(await b.used(alice)).toBe(0);
      expect(await b.charge(alice, 600)).toBe('ok');
      expect(await b.charge(alice, 400)).toBe('ok'); // exactly the budget
      expect(await b.used(alice)).toBe(1_000);
      expect(await b.charge(alice, 1)).toBe('over');
      expect(await b.used(alice)).toBe(1_000);
      // A message larger than the whole budget is never ok.
      expect(await b.charge(bob, 1_001)).toBe('over');
      expect(await b.used(bob)).toBe(0);
    });

    it('senders - each sender has a budget of its own', async () => {
      const b = await make({ bytesPerWindow: 100, windowMs: 60_000 });
      expect(await b.charge(alice, 100)).toBe('ok');
      expect(await b.charge(alice, 1)).toBe('over');
      expect(await b.charge(bob, 100)).toBe('ok');
      expect(await b.charge(asUserId('a:b{c}'), 100)).toBe('ok');
    });

    it('refund - gives bytes back, never below zero; a refund without a window is a no-op', async () => {
      const b = await make({ bytesPerWindow: 100, windowMs: 60_000 });
      expect(await b.charge(alice, 80)).toBe('ok');
      await b.refund(alice, 30);
      expect(await b.used(alice)).toBe(50);
      expect(await b.charge(alice, 50)).toBe('ok');
      await b.refund(alice, 500);
      expect(await b.used(alice)).toBe(0);
      await b.refund(bob, 10);
      expect(await b.used(bob)).toBe(0);
      expect(await b.charge(bob, 100)).toBe('ok');
    });

    it('window - the budget is whole again once the window that the first charge opened has passed', async () => {
      const b = await make({ bytesPerWindow: 100, windowMs: 300 });
      expect(await b.charge(alice, 100)).toBe('ok');
      await delay(150);
      expect(await b.charge(alice, 1)).toBe('over'); // later charges do not extend the window
      await delay(250);
      expect(await b.used(alice)).toBe(0);
      expect(await b.charge(alice, 100)).toBe('ok');
    });

    it('concurrency - many charges at once never take a sender over the budget', async () => {
      const b = await make({ bytesPerWindow: 10_000, windowMs: 60_000 });
      const results = await Promise.all(Array.from({ length: 250 }, () => b.charge(alice, 100)));
      expect(results.filter((r) => r === 'ok')).toHaveLength(100);
      expect(await b.used(alice)).toBe(10_000);
    });
  });
}
