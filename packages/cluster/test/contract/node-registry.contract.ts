import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { asNodeId, waitFor, type NodeId } from '@switchboard/core';
import type { NodeRecord, NodeRegistry } from '../../src/node-registry.js';

/** A fresh, isolated registry and how to dispose of it. */
export interface NodeRegistrySubject {
  registry: NodeRegistry;
  cleanup(): Promise<void>;
}

function record(id: string, over: Partial<Omit<NodeRecord, 'reportedAt'>> = {}): Omit<NodeRecord, 'reportedAt'> {
  return {
    id: asNodeId(id),
    host: '127.0.0.1',
    ports: { ws: 3000, tcp: 8901, udp: 7901, admin: 9100 },
    state: 'active',
    connections: 10,
    loopLagMs: 1.5,
    cpu: 0.25,
    msgRate: 120,
    startedAt: 1_700_000_000_000,
    ...over,
  };
}

const ids = (recs: NodeRecord[]): string[] => recs.map((r) => r.id).sort();
const LONG_TTL_MS = 60_000;

/**
 * The NodeRegistry contract (node-registry.ts TSDoc, architecture §3): records expire ttlMs after
 * the last report, crashed nodes are listed by listExpired until forget, drain requests, remove.
 */
export function nodeRegistryContract(name: string, factory: () => Promise<NodeRegistrySubject>): void {
  describe(`${name} (NodeRegistry contract)`, () => {
    let subject: NodeRegistrySubject;
    let reg: NodeRegistry;

    beforeEach(async () => {
      subject = await factory();
      reg = subject.registry;
    });
    afterEach(async () => {
      await subject.registry.close();
      await subject.cleanup();
    });

    it('list / get - empty registry', async () => {
      expect(await reg.list()).toEqual([]);
      expect(await reg.get(asNodeId('gw-x'))).toBeNull();
      expect(await reg.listExpired()).toEqual([]);
    });

    it('report - the record is listed and readable, with reportedAt set', async () => {
      const before = Date.now();
      await reg.report(record('gw-1'), LONG_TTL_MS);
      const after = Date.now();
      const got = await reg.get(asNodeId('gw-1'));
      expect(got).toMatchObject(record('gw-1'));
      expect(got?.reportedAt).toBeGreaterThanOrEqual(before);
      expect(got?.reportedAt).toBeLessThanOrEqual(after);
      expect(await reg.list()).toEqual([got]);
    });

    it('report - upserts: the latest report wins, one entry per node', async () => {
      await reg.report(record('gw-1', { connections: 1 }), LONG_TTL_MS);
      await reg.report(record('gw-2'), LONG_TTL_MS);
      await reg.report(record('gw-1', { connections: 42, state: 'draining' }), LONG_TTL_MS);
      expect(ids(await reg.list())).toEqual(['gw-1', 'gw-2']);
      expect(await reg.get(asNodeId('gw-1'))).toMatchObject({ connections: 42, state: 'draining' });
    });

    it('report - a record expires ttlMs after its last report and is then listed as expired', async () => {
      await reg.report(record('gw-crash'), 200);
      await reg.report(record('gw-live'), LONG_TTL_MS);
      expect(ids(await reg.list())).toEqual(['gw-crash', 'gw-live']);
      await waitFor(async () => (await reg.get(asNodeId('gw-crash'))) === null, { timeoutMs: 3_000, what: 'node expiry' });
      expect(ids(await reg.list())).toEqual(['gw-live']);
      expect(await reg.listExpired()).toEqual(['gw-crash']);
      // Each expired id is returned until forget.
      expect(await reg.listExpired()).toEqual(['gw-crash']);
      await reg.forget(asNodeId('gw-crash'));
      expect(await reg.listExpired()).toEqual([]);
      expect(ids(await reg.list())).toEqual(['gw-live']);
    });

    it('report - a node that reports again after expiring is live again', async () => {
      await reg.report(record('gw-late'), 100);
      await waitFor(async () => (await reg.listExpired()).includes(asNodeId('gw-late')), { timeoutMs: 3_000, what: 'node expiry' });
      await reg.report(record('gw-late'), LONG_TTL_MS);
      expect(ids(await reg.list())).toEqual(['gw-late']);
      expect(await reg.listExpired()).toEqual([]);
    });

    it('forget - keeps a live node', async () => {
      await reg.report(record('gw-1'), LONG_TTL_MS);
      await reg.forget(asNodeId('gw-1'));
      expect(ids(await reg.list())).toEqual(['gw-1']);
    });

    it('remove - a leaving node is gone at once and is not a crashed node', async () => {
      await reg.report(record('gw-1'), LONG_TTL_MS);
      await reg.report(record('gw-2'), LONG_TTL_MS);
      await reg.remove(asNodeId('gw-1'));
      expect(ids(await reg.list())).toEqual(['gw-2']);
      expect(await reg.get(asNodeId('gw-1'))).toBeNull();
      expect(await reg.listExpired()).toEqual([]);
      await reg.remove(asNodeId('gw-unknown'));
    });

    it('drain - requested per node, cleared by remove and by forget', async () => {
      const a: NodeId = asNodeId('gw-a');
      const b: NodeId = asNodeId('gw-b');
      await reg.report(record('gw-a'), LONG_TTL_MS);
      expect(await reg.drainRequested(a)).toBe(false);
      await reg.requestDrain(a);
      expect(await reg.drainRequested(a)).toBe(true);
      expect(await reg.drainRequested(b)).toBe(false);
      await reg.remove(a);
      expect(await reg.drainRequested(a)).toBe(false);

      await reg.report(record('gw-b'), 100);
      await reg.requestDrain(b);
      await waitFor(async () => (await reg.listExpired()).includes(b), { timeoutMs: 3_000, what: 'node expiry' });
      expect(await reg.drainRequested(b)).toBe(true);
      await reg.forget(b);
      expect(await reg.drainRequested(b)).toBe(false);
    });
  });
}
