import { afterEach, describe, expect, it } from 'vitest';
import { asUserId } from '@switchboard/core';
import type { PresenceStore, PresenceStoreOptions } from '../../src/presence-store.js';

/** A fresh, isolated store built with these options, and how to dispose of it. */
export interface PresenceStoreSubject {
  store: PresenceStore;
  cleanup(): Promise<void>;
}
export type PresenceStoreFactory = (opts: PresenceStoreOptions) => Promise<PresenceStoreSubject>;

/** The PresenceStore contract (presence-store.ts TSDoc): batches in order, forward-only times, expiry after the TTL. */
export function presenceStoreContract(name: string, factory: PresenceStoreFactory): void {
  describe(`${name} (PresenceStore contract)`, () => {
    const subjects: PresenceStoreSubject[] = [];
    const make = async (opts: PresenceStoreOptions = {}): Promise<PresenceStore> => {
      const s = await factory(opts);
      subjects.push(s);
      return s.store;
    };
    const [alice, bob, carol] = ['alice', 'bob', 'carol'].map(asUserId) as [ReturnType<typeof asUserId>, ReturnType<typeof asUserId>, ReturnType<typeof asUserId>];

    afterEach(async () => {
      for (const s of subjects.splice(0)) {
        await s.store.close();
        await s.cleanup();
      }
    });

    it('lastSeen - null for users never seen; the times of a batch in the order asked', async () => {
      const store = await make();
      const now = Date.now();
      expect(await store.lastSeen([alice, bob])).toEqual([null, null]);
      await store.seen([alice, carol], now);
      await store.seen([bob], now + 5);
      expect(await store.lastSeen([carol, bob, alice, asUserId('nobody')])).toEqual([now, now + 5, now, null]);
      expect(await store.lastSeen([])).toEqual([]);
    });

    it('seen - moves forward only: an older time does not replace a newer one', async () => {
      const store = await make();
      const now = Date.now();
      await store.seen([alice], now);
      await store.seen([alice], now - 1_000);
      expect(await store.lastSeen([alice])).toEqual([now]);
      await store.seen([alice], now + 1_000);
      expect(await store.lastSeen([alice])).toEqual([now + 1_000]);
    });

    it('ttl - a time is forgotten once the TTL passed', async () => {
      const store = await make({ ttlMs: 150 });
      await store.seen([alice], Date.now());
      expect((await store.lastSeen([alice]))[0]).not.toBeNull();
      const deadline = Date.now() + 5_000;
      while ((await store.lastSeen([alice]))[0] !== null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      expect(await store.lastSeen([alice])).toEqual([null]);
    });

    it('batches - many users in one call', async () => {
      const store = await make();
      const users = Array.from({ length: 500 }, (_, i) => asUserId(`u${i}`));
      const now = Date.now();
      await store.seen(users, now);
      const times = await store.lastSeen(users);
      expect(times).toHaveLength(500);
      expect(times.every((t) => t === now)).toBe(true);
    });
  });
}
