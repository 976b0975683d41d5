import { afterEach, describe, expect, it } from 'vitest';
import { asUserId, delay, waitFor } from '@switchboard/core';
import type { OfflineStore } from '../../src/offline-store.js';

/** A fresh, isolated store built with these options, and how to dispose of it. */
export interface OfflineStoreSubject {
  store: OfflineStore;
  cleanup(): Promise<void>;
}
export type OfflineStoreFactory = (opts: { capacity?: number; ttlMs?: number }) => Promise<OfflineStoreSubject>;

const msg = (i: number | string) => ({ fp: `fp-${i}`, packet: JSON.stringify({ type: 2, dataContent: `hello ${i}`, fp: `fp-${i}` }) });

/**
 * The OfflineStore contract (offline-store.ts TSDoc, architecture §3, §5): ordered, idempotent by
 * fp, capped ('full'), expiring ttlMs after the last store, removed only by fp.
 */
export function offlineStoreContract(name: string, factory: OfflineStoreFactory): void {
  describe(`${name} (OfflineStore contract)`, () => {
    const subjects: OfflineStoreSubject[] = [];
    const make = async (opts: { capacity?: number; ttlMs?: number } = {}): Promise<OfflineStore> => {
      const s = await factory(opts);
      subjects.push(s);
      return s.store;
    };
    const bob = asUserId('bob');

    afterEach(async () => {
      for (const s of subjects.splice(0)) {
        await s.store.close();
        await s.cleanup();
      }
    });

    it('peek / count - empty for a user without a queue', async () => {
      const store = await make();
      expect(await store.count(bob)).toBe(0);
      expect(await store.peek(bob, 10)).toEqual([]);
    });

    it('store - keeps fp, packet and storedAt', async () => {
      const store = await make();
      const before = Date.now();
      expect(await store.store(bob, msg(1))).toBe('stored');
      const after = Date.now();
      const [m, ...rest] = await store.peek(bob, 10);
      expect(rest).toEqual([]);
      expect(m?.fp).toBe('fp-1');
      expect(m?.packet).toBe(msg(1).packet);
      expect(m?.storedAt).toBeGreaterThanOrEqual(before);
      expect(m?.storedAt).toBeLessThanOrEqual(after);
    });

    it('peek - oldest first, up to limit, and never removes', async () => {
      const store = await make();
      for (let i = 0; i < 50; i++) expect(await store.store(bob, msg(i))).toBe('stored');
      expect((await store.peek(bob, 100)).map((m) => m.fp)).toEqual(Array.from({ length: 50 }, (_, i) => `fp-${i}`));
      expect((await store.peek(bob, 3)).map((m) => m.fp)).toEqual(['fp-0', 'fp-1', 'fp-2']);
      expect(await store.peek(bob, 0)).toEqual([]);
      expect(await store.count(bob)).toBe(50);
    });

    it('store - idempotent by fp: a second store is duplicate and keeps the first copy', async () => {
      const store = await make();
      expect(await store.store(bob, msg(1))).toBe('stored');
      expect(await store.store(bob, msg(2))).toBe('stored');
      expect(await store.store(bob, { fp: 'fp-1', packet: 'other' })).toBe('duplicate');
      expect(await store.count(bob)).toBe(2);
      const peeked = await store.peek(bob, 10);
      expect(peeked.map((m) => m.fp)).toEqual(['fp-1', 'fp-2']);
      expect(peeked[0]?.packet).toBe(msg(1).packet);
    });

    it('store - concurrent stores of one fp store it once', async () => {
      const store = await make();
      const outcomes = await Promise.all(Array.from({ length: 10 }, () => store.store(bob, msg('same'))));
      expect(outcomes.filter((o) => o === 'stored')).toHaveLength(1);
      expect(outcomes.filter((o) => o === 'duplicate')).toHaveLength(9);
      expect(await store.count(bob)).toBe(1);
    });

    it('remove - by fp, true when it was there, order of the rest kept', async () => {
      const store = await make();
      for (let i = 0; i < 5; i++) await store.store(bob, msg(i));
      expect(await store.remove(bob, 'fp-2')).toBe(true);
      expect(await store.remove(bob, 'fp-2')).toBe(false);
      expect(await store.remove(bob, 'fp-unknown')).toBe(false);
      expect(await store.remove(asUserId('nobody'), 'fp-0')).toBe(false);
      expect(await store.count(bob)).toBe(4);
      expect((await store.peek(bob, 10)).map((m) => m.fp)).toEqual(['fp-0', 'fp-1', 'fp-3', 'fp-4']);
      for (const fp of ['fp-0', 'fp-1', 'fp-3', 'fp-4']) expect(await store.remove(bob, fp)).toBe(true);
      expect(await store.count(bob)).toBe(0);
      expect(await store.peek(bob, 10)).toEqual([]);
      // A removed fp may be stored again (a new delivery attempt after the ack is a new message).
      expect(await store.store(bob, msg(2))).toBe('stored');
    });

    it('store - full at capacity: nothing stored until an ack makes room', async () => {
      const store = await make({ capacity: 3 });
      for (let i = 0; i < 3; i++) expect(await store.store(bob, msg(i))).toBe('stored');
      expect(await store.store(bob, msg(3))).toBe('full');
      expect(await store.store(bob, msg(0))).toBe('duplicate');
      expect(await store.count(bob)).toBe(3);
      expect((await store.peek(bob, 10)).map((m) => m.fp)).toEqual(['fp-0', 'fp-1', 'fp-2']);
      expect(await store.remove(bob, 'fp-0')).toBe(true);
      expect(await store.store(bob, msg(3))).toBe('stored');
      expect((await store.peek(bob, 10)).map((m) => m.fp)).toEqual(['fp-1', 'fp-2', 'fp-3']);
      // Capacity is per user.
      expect(await store.store(asUserId('carol'), msg(9))).toBe('stored');
    });

    it('store - concurrent stores never exceed capacity', async () => {
      const store = await make({ capacity: 5 });
      const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => store.store(bob, msg(i))));
      expect(outcomes.filter((o) => o === 'stored')).toHaveLength(5);
      expect(outcomes.filter((o) => o === 'full')).toHaveLength(15);
      expect(await store.count(bob)).toBe(5);
    });

    it('store - the default capacity is 1000', async () => {
      const store = await make();
      await Promise.all(Array.from({ length: 1000 }, (_, i) => store.store(bob, msg(i))));
      expect(await store.count(bob)).toBe(1000);
      expect(await store.store(bob, msg(1000))).toBe('full');
    });

    it('ttl - the queue expires ttlMs after the last store', async () => {
      const store = await make({ ttlMs: 150 });
      await store.store(bob, msg(1));
      await store.store(bob, msg(2));
      expect(await store.count(bob)).toBe(2);
      await waitFor(async () => (await store.count(bob)) === 0, { timeoutMs: 3_000, what: 'offline queue expiry' });
      expect(await store.peek(bob, 10)).toEqual([]);
      expect(await store.store(bob, msg(1))).toBe('stored');
    });

    it('ttl - every store refreshes the expiry of the whole queue', async () => {
      const ttlMs = 1_000;
      const store = await make({ ttlMs });
      const t0 = Date.now();
      await store.store(bob, msg(1));
      await delay(600);
      await store.store(bob, msg(2));
      // Past the first message's own expiry, but within ttlMs of the second store.
      await delay(Math.max(0, t0 + ttlMs + 250 - Date.now()));
      expect((await store.peek(bob, 10)).map((m) => m.fp)).toEqual(['fp-1', 'fp-2']);
      await waitFor(async () => (await store.count(bob)) === 0, { timeoutMs: 5_000, what: 'offline queue expiry' });
    });

    it('users are independent', async () => {
      const store = await make();
      await store.store(bob, msg(1));
      await store.store(asUserId('carol'), msg(1));
      expect(await store.remove(bob, 'fp-1')).toBe(true);
      expect(await store.count(asUserId('carol'))).toBe(1);
    });
  });
}
