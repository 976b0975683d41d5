import { randomUUID } from 'node:crypto';
import { connect, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ImErrorCode, asUserId, createLogger, newNodeId, waitFor, type Logger, type NodeId } from '@switchboard/core';
import { TcpProxy, resolveAmqpUrl, uniquePrefix } from '@switchboard/testkit';
import type { BridgeMessage } from '../../src/bridge.js';
import {
  AmqpBridge,
  DEFAULT_BRIDGE_BATCH_MAX_ITEMS,
  bridgeExchange,
  encodeBridgeMessage,
  nodeRoutingKey,
  splitBridgeBody,
  type AmqpBridgeOptions,
} from '../../src/amqp/index.js';

// Coalescing of sends into batches (one AMQP message per target and event-loop turn) against the
// real broker: counts, order, per-send outcomes, connection drops, size threshold, old-format peers.

let url = '';
const prefix = uniquePrefix('amqp-batching');
let admin: ChannelModel | undefined;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  url = await resolveAmqpUrl();
  admin = await connect(url);
});

afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

afterAll(async () => {
  if (admin === undefined) return;
  const ch = await admin.createChannel();
  await ch.deleteExchange(bridgeExchange(prefix)).catch(() => undefined);
  await admin.close();
});

interface Node {
  bridge: AmqpBridge;
  inbox: BridgeMessage[];
}

async function node(opts: Partial<AmqpBridgeOptions> = {}, handler?: (m: BridgeMessage) => void): Promise<Node> {
  const bridge = new AmqpBridge({ url, prefix, nodeId: newNodeId('bt'), reconnectBaseMs: 50, reconnectMaxMs: 400, ...opts });
  const inbox: BridgeMessage[] = [];
  cleanups.push(() => bridge.close());
  await bridge.start((m) => {
    inbox.push(m);
    handler?.(m);
  });
  return { bridge, inbox };
}

function deliver(origin: NodeId, i: number, packet = `{"type":2,"dataContent":"m${i}","from":"u1","to":"u2","fp":"f${i}","QoS":true}`): BridgeMessage {
  return { type: 'deliver', origin, from: asUserId('u1'), to: asUserId('u2'), fp: `f${i}`, packet };
}

const fpOf = (m: BridgeMessage): string | null => (m.type === 'deliver' ? m.fp : null);

/** A pino logger whose JSON lines land in `lines`. */
function memoryLogger(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const destination = {
    write(chunk: string): void {
      for (const l of chunk.split('\n')) if (l.length > 0) lines.push(JSON.parse(l) as Record<string, unknown>);
    },
  };
  return { log: createLogger({ level: 'debug', destination }), lines };
}

/** A queue of our own bound like `target`'s: it receives a copy of every AMQP body sent to that node. */
async function spyOn(target: NodeId): Promise<Buffer[]> {
  if (admin === undefined) throw new Error('no admin connection');
  const ch = await admin.createChannel();
  const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true });
  await ch.bindQueue(queue, bridgeExchange(prefix), nodeRoutingKey(target));
  const bodies: Buffer[] = [];
  await ch.consume(queue, (m: ConsumeMessage | null) => {
    if (m !== null) bodies.push(m.content);
  }, { noAck: true });
  cleanups.push(() => ch.close().catch(() => undefined));
  return bodies;
}

async function proxy(): Promise<{ p: TcpProxy; url: string }> {
  const p = await TcpProxy.toward(url, 5672);
  cleanups.push(() => p.close());
  return { p, url: p.url(url) };
}

describe('AmqpBridge batching', () => {
  it('send - 500 sends to one node in one turn arrive all, in order, once each, in fewer than 20 AMQP messages', async () => {
    const a = await node();
    const b = await node();
    const before = a.bridge.stats();
    const bBefore = b.bridge.stats();
    const n = 500;
    const sends = Array.from({ length: n }, (_, i) => a.bridge.send(b.bridge.nodeId, deliver(a.bridge.nodeId, i)));
    // Every send has its own promise.
    expect(new Set(sends).size).toBe(n);
    await Promise.all(sends);
    await waitFor(() => b.inbox.length >= n, { what: `${n} messages` });
    await new Promise((r) => setTimeout(r, 100)); // nothing more trickles in
    expect(b.inbox.map(fpOf)).toEqual(Array.from({ length: n }, (_, i) => `f${i}`));
    const after = a.bridge.stats();
    const published = after.amqpMessagesPublished - before.amqpMessagesPublished;
    expect(after.itemsPublished - before.itemsPublished).toBe(n);
    expect(published).toBeLessThan(20);
    expect(published).toBe(Math.ceil(n / DEFAULT_BRIDGE_BATCH_MAX_ITEMS));
    const bAfter = b.bridge.stats();
    expect(bAfter.amqpMessagesReceived - bBefore.amqpMessagesReceived).toBe(published);
    expect(bAfter.itemsReceived - bBefore.itemsReceived).toBe(n);
  });

  it('send - every send of a batch to a node without a queue rejects with UnroutableError; other nodes in the same turn are unaffected', async () => {
    const a = await node();
    const b = await node();
    const nobody = `nobody-${randomUUID()}` as NodeId;
    const before = a.bridge.stats();
    const t0 = performance.now();
    const lost: Array<Promise<void>> = [];
    const fine: Array<Promise<void>> = [];
    for (let i = 0; i < 150; i++) {
      lost.push(a.bridge.send(nobody, deliver(a.bridge.nodeId, i)));
      if (i % 3 === 0) fine.push(a.bridge.send(b.bridge.nodeId, deliver(a.bridge.nodeId, i)));
    }
    const results = await Promise.allSettled(lost);
    expect(performance.now() - t0).toBeLessThan(1_000);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: ImErrorCode.UNROUTABLE });
    }
    await Promise.all(fine);
    await waitFor(() => b.inbox.length >= fine.length, { what: 'the routable ones' });
    expect(b.inbox).toHaveLength(fine.length);
    // 150 to nobody in 3 batches (64 + 64 + 22), 50 to b in 1.
    expect(a.bridge.stats().amqpMessagesPublished - before.amqpMessagesPublished).toBe(4);
  });

  it('connection drop - every send of an interrupted batch settles once; confirmed ones arrive exactly once, failed ones at most once; retried, all arrive', async () => {
    const { p, url: proxied } = await proxy();
    const a = await node({ url: proxied, sendTimeoutMs: 10_000 });
    const b = await node();
    const n = 20_000;
    const window = 1_000;
    const settled = new Map<number, 'ok' | 'failed'>();
    const failures: unknown[] = [];
    let doubleSettled = 0;
    let issued = 0;
    let severed = false;
    let settle: () => void = () => undefined;
    const allSettled = new Promise<void>((r) => (settle = r));
    const done = (i: number, how: 'ok' | 'failed'): void => {
      if (settled.has(i)) doubleSettled += 1;
      settled.set(i, how);
      if (!severed && settled.size >= 3_000) {
        severed = true;
        p.sever(); // mid-flood: batches in flight, unconfirmed, and maybe one not yet flushed
      }
      if (!severed) issue();
      if (severed && settled.size === issued) settle();
    };
    function issue(): void {
      if (issued >= n) return;
      const i = issued++;
      a.bridge.send(b.bridge.nodeId, deliver(a.bridge.nodeId, i)).then(
        () => done(i, 'ok'),
        (err: unknown) => {
          failures.push(err);
          done(i, 'failed');
        },
      );
    }
    for (let k = 0; k < window; k++) issue();
    await allSettled;
    expect(doubleSettled).toBe(0);
    const failed = [...settled].filter(([, how]) => how === 'failed').map(([i]) => i);
    const confirmed = [...settled].filter(([, how]) => how === 'ok').map(([i]) => i);
    expect(failed.length).toBeGreaterThan(0);
    for (const err of failures) expect(err).toMatchObject({ code: ImErrorCode.UNAVAILABLE });
    // Confirmed sends were taken by the broker: they all arrive.
    await waitFor(
      () => {
        const got = new Set(b.inbox.map(fpOf));
        return confirmed.every((i) => got.has(`f${i}`));
      },
      { timeoutMs: 10_000, what: 'confirmed ones' },
    );

    // The caller keeps custody: it sends the failed ones again once the bridge is back.
    await waitFor(() => a.bridge.state === 'up', { timeoutMs: 10_000, what: 'a up again' });
    await Promise.all(failed.map((i) => a.bridge.send(b.bridge.nodeId, deliver(a.bridge.nodeId, i))));
    await waitFor(() => new Set(b.inbox.map(fpOf)).size === issued, { timeoutMs: 10_000, what: 'every issued message' });
    await new Promise((r) => setTimeout(r, 200));

    const seen = new Map<string, number>();
    for (const m of b.inbox) seen.set(fpOf(m) as string, (seen.get(fpOf(m) as string) ?? 0) + 1);
    expect(seen.size).toBe(issued); // none lost
    for (const i of confirmed) expect(seen.get(`f${i}`), `confirmed f${i}`).toBe(1); // never doubled
    // A failed send may have reached the broker before the drop: at most one extra copy (the retry),
    // which the receiver drops by fingerprint (architecture §5).
    for (const i of failed) expect(seen.get(`f${i}`), `failed f${i}`).toBeLessThanOrEqual(2);
    for (const fp of seen.keys()) expect(Number(fp.slice(1))).toBeLessThan(issued);
  });

  it('connection drop - a turn of sends batched into a frozen link all reject, and none arrives', async () => {
    const { p, url: proxied } = await proxy();
    const a = await node({ url: proxied, sendTimeoutMs: 10_000 });
    const b = await node();
    const before = a.bridge.stats();
    p.freeze();
    const sends = Array.from({ length: 500 }, (_, i) => a.bridge.send(b.bridge.nodeId, deliver(a.bridge.nodeId, i)));
    const outcome = Promise.allSettled(sends);
    await new Promise((r) => setTimeout(r, 50));
    expect(a.bridge.stats().amqpMessagesPublished - before.amqpMessagesPublished).toBe(Math.ceil(500 / DEFAULT_BRIDGE_BATCH_MAX_ITEMS));
    p.sever();
    p.resume(); // let the reconnect through
    const results = await outcome;
    for (const r of results) {
      expect(r.status).toBe('rejected');
      if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: ImErrorCode.UNAVAILABLE });
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(b.inbox).toHaveLength(0);
  });

  it('send - mixed sizes: batches close before they would pass maxBatchBytes, an oversize item travels alone, order kept', async () => {
    const maxBatchBytes = 16_384;
    const a = await node({ maxBatchBytes });
    const b = await node();
    const bodies = await spyOn(b.bridge.nodeId);
    const sizes = [100, 3_000, 7_000, 200, 6_000, 50, 20_000, 5_000, 16_000, 300, 300, 9_000, 8_000, 400, 1, 12_000, 4_000, 100];
    const msgs = sizes.map((n, i) => deliver(a.bridge.nodeId, i, 'x'.repeat(n)));
    // 70 small ones on top: the item limit applies too.
    for (let i = sizes.length; i < sizes.length + 70; i++) msgs.push(deliver(a.bridge.nodeId, i, 'y'.repeat(10)));
    await Promise.all(msgs.map((m) => a.bridge.send(b.bridge.nodeId, m)));
    await waitFor(() => b.inbox.length >= msgs.length, { what: 'all messages' });
    expect(b.inbox).toEqual(msgs);

    // What the batcher must have done: greedy, in order.
    const expected: number[][] = [];
    let cur: number[] = [];
    let bytes = 0;
    for (const m of msgs) {
      const len = encodeBridgeMessage(m).length;
      if (cur.length > 0 && bytes + len > maxBatchBytes) {
        expected.push(cur);
        cur = [];
        bytes = 0;
      }
      cur.push(len);
      bytes += len;
      if (cur.length >= DEFAULT_BRIDGE_BATCH_MAX_ITEMS || bytes >= maxBatchBytes) {
        expected.push(cur);
        cur = [];
        bytes = 0;
      }
    }
    if (cur.length > 0) expected.push(cur);
    await waitFor(() => bodies.length >= expected.length, { what: 'spied bodies' });
    const actual = bodies.map((body) => splitBridgeBody(body).map((item) => item.length));
    expect(actual).toEqual(expected);
    for (const batch of actual) {
      const total = batch.reduce((s, n) => s + n, 0);
      if (batch.length > 1) expect(total).toBeLessThanOrEqual(maxBatchBytes);
      expect(batch.length).toBeLessThanOrEqual(DEFAULT_BRIDGE_BATCH_MAX_ITEMS);
    }
    // The 20 000-byte item alone, and the limits were actually hit.
    expect(actual.some((batch) => batch.length === 1 && (batch[0] as number) > maxBatchBytes)).toBe(true);
    expect(actual.some((batch) => batch.length === DEFAULT_BRIDGE_BATCH_MAX_ITEMS)).toBe(true);
  });

  it('consume - a handler that throws on one item of a batch still gets the rest; the batch is acked', async () => {
    const { log, lines } = memoryLogger();
    const a = await node();
    let calls = 0;
    const b = await node({ log, prefetch: 1 }, () => {
      calls += 1;
      if (calls === 2) throw new Error('handler bug');
    });
    await Promise.all(Array.from({ length: 5 }, (_, i) => a.bridge.send(b.bridge.nodeId, deliver(a.bridge.nodeId, i))));
    await waitFor(() => b.inbox.length === 5, { what: 'five items' });
    expect(lines.filter((l) => l['msg'] === 'bridge message handler threw; message dropped')).toHaveLength(1);
    // prefetch 1: the next batch arrives only if the first one was acked.
    await Promise.all(Array.from({ length: 5 }, (_, i) => a.bridge.send(b.bridge.nodeId, deliver(a.bridge.nodeId, 5 + i))));
    await waitFor(() => b.inbox.length === 10, { what: 'the next batch' });
    expect(b.inbox.map(fpOf)).toEqual(Array.from({ length: 10 }, (_, i) => `f${i}`));
  });

  it('consume - a malformed item inside a batch is dropped alone, its neighbours are handled', async () => {
    const { log, lines } = memoryLogger();
    const b = await node({ log });
    if (admin === undefined) throw new Error('no admin connection');
    const good = (i: number): Buffer => encodeBridgeMessage(deliver(b.bridge.nodeId, i));
    const items = [good(1), Buffer.from('{"type":"nope"}'), good(2)];
    const head = `{"type":"batch","sizes":[${items.map((x) => x.length).join(',')}]}\n`;
    const ch = await admin.createConfirmChannel();
    ch.publish(bridgeExchange(prefix), nodeRoutingKey(b.bridge.nodeId), Buffer.concat([Buffer.from(head), ...items]));
    ch.publish(bridgeExchange(prefix), nodeRoutingKey(b.bridge.nodeId), Buffer.from('{"type":"batch","sizes":[5,5]}\nshort'));
    await ch.waitForConfirms();
    await ch.close();
    await waitFor(() => b.inbox.length === 2, { what: 'the two good items' });
    await waitFor(() => lines.filter((l) => l['msg'] === 'malformed bridge message dropped').length === 2, { what: 'two warnings' });
    expect(b.inbox.map(fpOf)).toEqual(['f1', 'f2']);
    expect(b.bridge.state).toBe('up');
  });

  it('compatibility - maxBatchItems 1 sends plain version-1 bodies only, and both kinds of sender reach one node', async () => {
    const old = await node({ maxBatchItems: 1 });
    const a = await node();
    const b = await node();
    const bodies = await spyOn(b.bridge.nodeId);
    await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => old.bridge.send(b.bridge.nodeId, deliver(old.bridge.nodeId, i))),
      ...Array.from({ length: 10 }, (_, i) => a.bridge.send(b.bridge.nodeId, deliver(a.bridge.nodeId, 10 + i))),
    ]);
    await waitFor(() => b.inbox.length === 20, { what: '20 messages' });
    expect(old.bridge.stats()).toMatchObject({ amqpMessagesPublished: 10, itemsPublished: 10 });
    expect(a.bridge.stats()).toMatchObject({ amqpMessagesPublished: 1, itemsPublished: 10 });
    await waitFor(() => bodies.length === 11, { what: 'spied bodies' });
    expect(bodies.filter((x) => splitBridgeBody(x).length === 1)).toHaveLength(10);
    expect(b.inbox.filter((m) => m.origin === old.bridge.nodeId).map(fpOf)).toEqual(Array.from({ length: 10 }, (_, i) => `f${i}`));
    expect(b.inbox.filter((m) => m.origin === a.bridge.nodeId).map(fpOf)).toEqual(Array.from({ length: 10 }, (_, i) => `f${10 + i}`));
  });

  it('close - sends of the current turn are published and confirmed before the connection closes', async () => {
    const a = await node();
    const b = await node();
    const sends = Array.from({ length: 10 }, (_, i) => a.bridge.send(b.bridge.nodeId, deliver(a.bridge.nodeId, i)));
    const closing = a.bridge.close(); // same turn: nothing was flushed yet
    const results = await Promise.allSettled(sends);
    await closing;
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    await waitFor(() => b.inbox.length === 10, { what: 'all 10' });
  });

  it('options - rejects invalid batch limits', () => {
    const mk = (o: Partial<AmqpBridgeOptions>): AmqpBridge => new AmqpBridge({ url, prefix, nodeId: newNodeId('bt'), ...o });
    expect(() => mk({ maxBatchItems: 0 })).toThrow();
    expect(() => mk({ maxBatchBytes: 1.5 })).toThrow();
  });
});
