import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { asConnId, asNodeId, asUserId, type ConnId, type NodeId, type UserId } from '@switchboard/core';
import type { ClaimResult, Route, RouteStore } from '../../src/route-store.js';

/** A fresh, isolated store and how to dispose of it. */
export interface RouteStoreSubject {
  store: RouteStore;
  cleanup(): Promise<void>;
}

const T0 = 1_700_000_000_000;

function route(user: string, node: string, conn: string, firstLoginTime: number, since = T0): Route {
  return { userId: asUserId(user), nodeId: asNodeId(node), connId: asConnId(conn), firstLoginTime, since };
}

function shuffle<T>(xs: T[]): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
  return a;
}

/**
 * The RouteStore contract (route-store.ts TSDoc, architecture §6): the MobileIMSDK
 * firstLoginTime kick rule row by row, staleConnId, compare-and-delete, the per-node view
 * (purgeNode / countNode) and concurrent claims of one user.
 */
export function routeStoreContract(name: string, factory: () => Promise<RouteStoreSubject>): void {
  describe(`${name} (RouteStore contract)`, () => {
    let subject: RouteStoreSubject;
    let store: RouteStore;
    const alice = asUserId('alice');

    beforeEach(async () => {
      subject = await factory();
      store = subject.store;
    });
    afterEach(async () => {
      await subject.store.close();
      await subject.cleanup();
    });

    it('lookup - null for a user without a route', async () => {
      expect(await store.lookup(asUserId('nobody'))).toBeNull();
    });

    it('claim - first login claims, replaces nothing, and lookup returns every field', async () => {
      const r = route('alice', 'n1', 'c1', T0 + 123, T0 + 456);
      expect(await store.claim(r, 0)).toEqual({ outcome: 'claimed', replaced: null, kickReplaced: false });
      expect(await store.lookup(alice)).toEqual(r);
    });

    it('claim - a fresh login (clientFirstLoginTime <= 0) kicks the current session', async () => {
      const old = route('alice', 'n1', 'c1', T0 + 5_000);
      await store.claim(old, 0);
      const fresh = route('alice', 'n2', 'c2', T0 + 9_000);
      expect(await store.claim(fresh, 0)).toEqual({ outcome: 'claimed', replaced: old, kickReplaced: true });
      expect(await store.lookup(alice)).toEqual(fresh);
      const negative = route('alice', 'n1', 'c3', T0 + 10_000);
      expect(await store.claim(negative, -1)).toEqual({ outcome: 'claimed', replaced: fresh, kickReplaced: true });
      expect(await store.lookup(alice)).toEqual(negative);
    });

    it('claim - a newer firstLoginTime kicks the current session', async () => {
      const old = route('alice', 'n1', 'c1', T0);
      await store.claim(old, 0);
      const newer = route('alice', 'n2', 'c2', T0 + 1);
      expect(await store.claim(newer, T0 + 1)).toEqual({ outcome: 'claimed', replaced: old, kickReplaced: true });
      expect(await store.lookup(alice)).toEqual(newer);
    });

    it('claim - an equal firstLoginTime claims without a kick (same device reconnecting)', async () => {
      const old = route('alice', 'n1', 'c1', T0);
      await store.claim(old, 0);
      const again = route('alice', 'n2', 'c2', T0, T0 + 50);
      expect(await store.claim(again, T0)).toEqual({ outcome: 'claimed', replaced: old, kickReplaced: false });
      expect(await store.lookup(alice)).toEqual(again);
    });

    it('claim - an older firstLoginTime is rejected and changes nothing', async () => {
      const current = route('alice', 'n1', 'c1', T0 + 10);
      await store.claim(current, 0);
      const older = route('alice', 'n2', 'c2', T0 + 9);
      expect(await store.claim(older, T0 + 9)).toEqual({ outcome: 'rejected', current });
      expect(await store.lookup(alice)).toEqual(current);
      expect(await store.countNode(asNodeId('n2'))).toBe(0);
      expect(await store.countNode(asNodeId('n1'))).toBe(1);
    });

    it('claim - the connection that owns the route just refreshes it', async () => {
      const first = route('alice', 'n1', 'c1', T0 + 10, T0);
      await store.claim(first, 0);
      // Same connection, even with a client time that would lose against another connection.
      const refresh = route('alice', 'n1', 'c1', T0 + 10, T0 + 777);
      expect(await store.claim(refresh, T0 + 1)).toEqual({ outcome: 'claimed', replaced: null, kickReplaced: false });
      expect(await store.lookup(alice)).toEqual(refresh);
      expect(await store.countNode(asNodeId('n1'))).toBe(1);
    });

    it("claim - staleConnId lets a login through over a dead node's route", async () => {
      const dead = route('alice', 'dead', 'c-dead', T0 + 100);
      await store.claim(dead, 0);
      // Older than the dead route: without staleConnId it would be rejected.
      const next = route('alice', 'n2', 'c2', T0 + 1);
      expect(await store.claim(next, T0 + 1, { staleConnId: asConnId('c-dead') })).toEqual({
        outcome: 'claimed',
        replaced: null,
        kickReplaced: false,
      });
      expect(await store.lookup(alice)).toEqual(next);
      expect(await store.countNode(asNodeId('dead'))).toBe(0);
      expect(await store.countNode(asNodeId('n2'))).toBe(1);
      // The dead node's purge must not touch the new route.
      expect(await store.purgeNode(asNodeId('dead'))).toEqual([]);
      expect(await store.lookup(alice)).toEqual(next);
    });

    it('claim - a staleConnId that does not own the route changes nothing in the rule', async () => {
      const current = route('alice', 'n1', 'c1', T0 + 100);
      await store.claim(current, 0);
      const older = route('alice', 'n2', 'c2', T0 + 1);
      expect(await store.claim(older, T0 + 1, { staleConnId: asConnId('c-other') })).toEqual({ outcome: 'rejected', current });
      const newer = route('alice', 'n2', 'c3', T0 + 200);
      expect(await store.claim(newer, T0 + 200, { staleConnId: asConnId('c-other') })).toEqual({
        outcome: 'claimed',
        replaced: current,
        kickReplaced: true,
      });
    });

    it('claim - users are independent', async () => {
      const a = route('alice', 'n1', 'c1', T0);
      const b = route('bob', 'n1', 'c2', T0);
      await store.claim(a, 0);
      expect(await store.claim(b, 0)).toEqual({ outcome: 'claimed', replaced: null, kickReplaced: false });
      expect(await store.lookup(alice)).toEqual(a);
      expect(await store.lookup(asUserId('bob'))).toEqual(b);
    });

    it('unregister - deletes the route its connection owns, once', async () => {
      await store.claim(route('alice', 'n1', 'c1', T0), 0);
      expect(await store.unregister(alice, asConnId('c1'))).toBe(true);
      expect(await store.lookup(alice)).toBeNull();
      expect(await store.countNode(asNodeId('n1'))).toBe(0);
      expect(await store.unregister(alice, asConnId('c1'))).toBe(false);
    });

    it('unregister - keeps a newer claim', async () => {
      await store.claim(route('alice', 'n1', 'c1', T0), 0);
      const newer = route('alice', 'n2', 'c2', T0 + 1);
      await store.claim(newer, 0);
      expect(await store.unregister(alice, asConnId('c1'))).toBe(false);
      expect(await store.lookup(alice)).toEqual(newer);
      expect(await store.countNode(asNodeId('n2'))).toBe(1);
    });

    it('unregister - false for a user without a route', async () => {
      expect(await store.unregister(asUserId('nobody'), asConnId('c1'))).toBe(false);
    });

    it('countNode / purgeNode - count and delete every route of one node only', async () => {
      for (let i = 0; i < 12; i++) await store.claim(route(`u${i}`, i % 3 === 0 ? 'n2' : 'n1', `c${i}`, T0), 0);
      expect(await store.countNode(asNodeId('n1'))).toBe(8);
      expect(await store.countNode(asNodeId('n2'))).toBe(4);
      expect(await store.countNode(asNodeId('n3'))).toBe(0);
      const purged = await store.purgeNode(asNodeId('n1'));
      expect([...purged].sort()).toEqual(['u1', 'u10', 'u11', 'u2', 'u4', 'u5', 'u7', 'u8']);
      expect(await store.countNode(asNodeId('n1'))).toBe(0);
      expect(await store.countNode(asNodeId('n2'))).toBe(4);
      for (let i = 0; i < 12; i++) {
        const r = await store.lookup(asUserId(`u${i}`));
        if (i % 3 === 0) expect(r?.nodeId).toBe('n2');
        else expect(r).toBeNull();
      }
      expect(await store.purgeNode(asNodeId('n1'))).toEqual([]);
      expect(await store.purgeNode(asNodeId('n9'))).toEqual([]);
    });

    it('countNode - follows a user who moves between nodes', async () => {
      await store.claim(route('alice', 'n1', 'c1', T0), 0);
      await store.claim(route('alice', 'n2', 'c2', T0 + 1), 0);
      expect(await store.countNode(asNodeId('n1'))).toBe(0);
      expect(await store.countNode(asNodeId('n2'))).toBe(1);
      // A second session on the same node replaces the first: still one route there.
      await store.claim(route('alice', 'n2', 'c3', T0 + 2), T0 + 2);
      expect(await store.countNode(asNodeId('n2'))).toBe(1);
      expect(await store.unregister(alice, asConnId('c3'))).toBe(true);
      expect(await store.countNode(asNodeId('n2'))).toBe(0);
    });

    it('purgeNode - keeps the route of a user who moved to another node (compare-and-delete)', async () => {
      await store.claim(route('alice', 'n1', 'c1', T0), 0);
      await store.claim(route('bob', 'n1', 'c2', T0), 0);
      const moved = route('alice', 'n2', 'c3', T0 + 1);
      await store.claim(moved, 0);
      expect(await store.purgeNode(asNodeId('n1'))).toEqual(['bob']);
      expect(await store.lookup(alice)).toEqual(moved);
      expect(await store.lookup(asUserId('bob'))).toBeNull();
    });

    it('claim - 20 concurrent fresh logins of one user leave exactly one route, a consistent kick chain', async () => {
      const claims = Array.from({ length: 20 }, (_, i) => route('alice', `n${i % 4}`, `c${i}`, T0 + i));
      const results = await Promise.all(claims.map((r) => store.claim(r, 0)));
      expect(results.every((r) => r.outcome === 'claimed')).toBe(true);
      const replaced = results.map((r) => (r.outcome === 'claimed' ? r.replaced : null));
      // Exactly one claim found the user without a route; every other one replaced a distinct session.
      expect(replaced.filter((r) => r === null)).toHaveLength(1);
      const replacedConns = replaced.filter((r): r is Route => r !== null).map((r) => r.connId);
      expect(new Set(replacedConns).size).toBe(19);
      for (const r of results) if (r.outcome === 'claimed' && r.replaced) expect(r.kickReplaced).toBe(true);
      const final = await store.lookup(alice);
      expect(final).not.toBeNull();
      // The survivor is the one session nobody replaced.
      const survivors = claims.filter((c) => !replacedConns.includes(c.connId));
      expect(survivors).toEqual([final]);
      await expectOneRouteAcross(store, ['n0', 'n1', 'n2', 'n3'].map(asNodeId));
    });

    it('claim - 20 concurrent logins with distinct firstLoginTimes: the newest wins, results are consistent', async () => {
      const claims = shuffle(Array.from({ length: 20 }, (_, i) => route('alice', `n${i % 4}`, `c${i}`, T0 + 1_000 * (i + 1))));
      const results: ClaimResult[] = await Promise.all(claims.map((r) => store.claim(r, r.firstLoginTime)));
      const newest = claims.reduce((a, b) => (b.firstLoginTime > a.firstLoginTime ? b : a));
      expect(await store.lookup(alice)).toEqual(newest);
      const claimedConns: ConnId[] = [];
      const replacedConns: ConnId[] = [];
      results.forEach((res, i) => {
        const mine = claims[i] as Route;
        if (res.outcome === 'rejected') {
          expect(res.current.firstLoginTime).toBeGreaterThan(mine.firstLoginTime);
        } else {
          claimedConns.push(mine.connId);
          if (res.replaced) {
            expect(res.replaced.firstLoginTime).toBeLessThan(mine.firstLoginTime);
            expect(res.kickReplaced).toBe(true);
            replacedConns.push(res.replaced.connId);
          }
        }
      });
      // Every claimed session but the survivor was replaced exactly once.
      expect(new Set(replacedConns).size).toBe(replacedConns.length);
      expect([...replacedConns, newest.connId].sort()).toEqual([...claimedConns].sort());
      await expectOneRouteAcross(store, ['n0', 'n1', 'n2', 'n3'].map(asNodeId));
    });

    it('claim - concurrent logins of different users do not interfere', async () => {
      const users: UserId[] = Array.from({ length: 30 }, (_, i) => asUserId(`user-${i}`));
      await Promise.all(users.map((u, i) => store.claim({ userId: u, nodeId: asNodeId('n1'), connId: asConnId(`c${i}`), firstLoginTime: T0, since: T0 }, 0)));
      expect(await store.countNode(asNodeId('n1'))).toBe(30);
      await Promise.all(users.map((u, i) => store.unregister(u, asConnId(`c${i}`))));
      expect(await store.countNode(asNodeId('n1'))).toBe(0);
    });
  });
}

async function expectOneRouteAcross(store: RouteStore, nodes: NodeId[]): Promise<void> {
  let total = 0;
  for (const n of nodes) total += await store.countNode(n);
  expect(total).toBe(1);
}
