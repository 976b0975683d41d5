import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { ImErrorCode, asConnId, asNodeId, asUserId, waitFor, type NodeId } from '@switchboard/core';
import type { Bridge, BridgeMessage, BridgeState } from '../../src/bridge.js';

/** Two bridges on the same bus / broker, neither started yet. */
export interface BridgePair {
  a: Bridge;
  b: Bridge;
  /** Release what the pair shares (runs after both bridges are closed). */
  dispose?: () => Promise<void>;
}

/** How long an UnroutableError may take: "comes back at once" (architecture §4). */
const UNROUTABLE_WITHIN_MS = 1_000;

function deliver(origin: NodeId, i: number, packet = `{"type":2,"dataContent":"m${i}","from":"u1","to":"u2","fp":"f${i}","QoS":true}`): BridgeMessage {
  return { type: 'deliver', origin, from: asUserId('u1'), to: asUserId('u2'), fp: `f${i}`, packet };
}

/** Every variant of every message type, with the awkward values a codec can get wrong. */
function everyMessage(origin: NodeId): BridgeMessage[] {
  return [
    {
      type: 'deliver',
      origin,
      from: asUserId('a'),
      to: asUserId('user-ü-1'),
      fp: randomUUID(),
      packet: '{"type":2,"dataContent":"héllo \\"wörld\\" 😀\\nline","from":"a","to":"b","fp":"x","QoS":true}',
    },
    // A packet as a client may send it: raw line feeds and tabs between tokens.
    { type: 'deliver', origin, from: asUserId('u1'), to: asUserId('u2'), fp: null, packet: '{\n\t"type": 2,\n\t"dataContent": "a\\nb"\n}\n' },
    { type: 'deliver', origin, from: asUserId('u1'), to: asUserId('u3'), fp: null, packet: '' },
    { type: 'ack', origin, fp: randomUUID(), from: asUserId('receiver'), to: asUserId('sender') },
    { type: 'miss', origin, fp: randomUUID(), from: asUserId('sender'), to: asUserId('gone-ü') },
    { type: 'kick', origin, userId: asUserId('u1'), connId: asConnId('c-1'), code: 4501, reason: 'duplicate login' },
    { type: 'kick', origin, userId: asUserId('u1'), connId: asConnId('c-2'), code: 4000, reason: null },
    { type: 'push', origin, to: asUserId('u4'), fp: randomUUID(), dataContent: 'server says "hi" 😀', typeu: 77, qos: true },
    { type: 'control', origin, action: 'drain' },
    { type: 'presence', origin, changes: [{ uid: asUserId('ü-1'), online: true, at: 1_796_000_000_000 }, { uid: asUserId('b'), online: false, at: 0 }] },
  ];
}

/**
 * The behaviour every Bridge must show (bridge.ts). `makePair` returns two fresh, unstarted
 * bridges on one shared bus or broker; the suite starts and closes them.
 */
export function bridgeContract(name: string, makePair: () => Promise<BridgePair>): void {
  describe(`${name} (Bridge contract)`, () => {
    let pair: BridgePair | undefined;

    afterEach(async () => {
      if (pair === undefined) return;
      await pair.a.close();
      await pair.b.close();
      await pair.dispose?.();
      pair = undefined;
    });

    async function startedPair(): Promise<{ a: Bridge; b: Bridge; inA: BridgeMessage[]; inB: BridgeMessage[] }> {
      pair = await makePair();
      const inA: BridgeMessage[] = [];
      const inB: BridgeMessage[] = [];
      await pair.a.start((m) => inA.push(m));
      await pair.b.start((m) => inB.push(m));
      return { a: pair.a, b: pair.b, inA, inB };
    }

    it('send - every message type round-trips intact, both ways', async () => {
      const { a, b, inA, inB } = await startedPair();
      const toB = everyMessage(a.nodeId);
      for (const m of toB) await a.send(b.nodeId, m);
      const toA = everyMessage(b.nodeId);
      for (const m of toA) await b.send(a.nodeId, m);
      await waitFor(() => inB.length >= toB.length && inA.length >= toA.length, { what: 'all messages' });
      expect(inB).toEqual(toB);
      expect(inA).toEqual(toA);
    });

    it('broadcast - one message reaches every node, the sender too; a closed bridge rejects it', async () => {
      const { a, b, inA, inB } = await startedPair();
      const msg: BridgeMessage = { type: 'presence', origin: a.nodeId, changes: [{ uid: asUserId('alice'), online: true, at: 5 }] };
      await a.broadcast(msg);
      await waitFor(() => inA.length === 1 && inB.length === 1, { what: 'the broadcast on both nodes' });
      expect(inA).toEqual([msg]);
      expect(inB).toEqual([msg]);
      await a.close();
      await expect(a.broadcast(msg)).rejects.toMatchObject({ code: ImErrorCode.UNAVAILABLE });
    });

    it('send - an unknown node rejects with UnroutableError at once', async () => {
      const { a } = await startedPair();
      const t0 = performance.now();
      await expect(a.send(asNodeId(`nobody-${randomUUID()}`), deliver(a.nodeId, 1))).rejects.toMatchObject({
        code: ImErrorCode.UNROUTABLE,
      });
      expect(performance.now() - t0).toBeLessThan(UNROUTABLE_WITHIN_MS);
    });

    it('send - keeps order from one sender to one target', async () => {
      const { a, b, inB } = await startedPair();
      const n = 1_000;
      const sends: Array<Promise<void>> = [];
      for (let i = 0; i < n; i++) sends.push(a.send(b.nodeId, deliver(a.nodeId, i)));
      await Promise.all(sends);
      await waitFor(() => inB.length >= n, { what: `${n} messages` });
      expect(inB.map((m) => (m.type === 'deliver' ? m.fp : null))).toEqual(Array.from({ length: n }, (_, i) => `f${i}`));
    });

    it('close - the closed node becomes unroutable and the closed bridge unavailable', async () => {
      const { a, b, inB } = await startedPair();
      await a.send(b.nodeId, deliver(a.nodeId, 1));
      await waitFor(() => inB.length === 1, { what: 'first message' });
      await b.close();
      const t0 = performance.now();
      await expect(a.send(b.nodeId, deliver(a.nodeId, 2))).rejects.toMatchObject({ code: ImErrorCode.UNROUTABLE });
      expect(performance.now() - t0).toBeLessThan(UNROUTABLE_WITHIN_MS);
      await expect(b.send(a.nodeId, deliver(b.nodeId, 3))).rejects.toMatchObject({ code: ImErrorCode.UNAVAILABLE });
      expect(inB).toHaveLength(1);
    });

    it('state - connecting, then up after start, then closed; listeners see each change once', async () => {
      pair = await makePair();
      const { a } = pair;
      const seen: BridgeState[] = [];
      a.onStateChange((s) => seen.push(s));
      expect(a.state).toBe('connecting');
      await a.start(() => undefined);
      expect(a.state).toBe('up');
      await a.close();
      await a.close(); // idempotent
      expect(a.state).toBe('closed');
      expect(seen).toEqual(['up', 'closed']);
    });

    it('send - a burst of 5000 messages all arrive', async () => {
      const { a, b, inB } = await startedPair();
      const n = 5_000;
      const sends: Array<Promise<void>> = [];
      for (let i = 0; i < n; i++) sends.push(a.send(b.nodeId, deliver(a.nodeId, i)));
      await Promise.all(sends);
      await waitFor(() => inB.length >= n, { timeoutMs: 15_000, what: `${n} messages` });
      expect(inB).toHaveLength(n);
      expect(new Set(inB.map((m) => (m.type === 'deliver' ? m.fp : null))).size).toBe(n);
    });
  });
}
