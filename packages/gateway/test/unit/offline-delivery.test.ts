// Offline delivery: the whole queue, paged and in order, however long it is; and after a bridge
// outage, each queued message reaches its receiver's connection once (not once from the receiver's
// gateway and once more from the sender's nudge).
import { afterEach, describe, expect, it } from 'vitest';
import {
  LocalBridge,
  LocalBus,
  MemoryNodeRegistry,
  MemoryOfflineStore,
  MemoryRouteStore,
  type Bridge,
  type BridgeMessage,
  type BridgeState,
} from '@switchboard/cluster';
import { asUserId, newNodeId, UnavailableError, type NodeId } from '@switchboard/core';
import { connectClient } from '@switchboard/testkit';
import { dataPacket, encodePacket } from '@switchboard/protocol';
import { Gateway, createGatewayMetrics, createLoginVerifier } from '../../src/index.js';
import { cleanup, onCleanup, quietWindow, startGateway, testLogger, track, uid, until, wireCopies } from '../fixtures.js';

afterEach(cleanup);

describe('offline delivery - the whole queue', () => {
  it('2,400 queued (capacity 2,500) - one login gets all of them, oldest first, and the acks empty the queue', async () => {
    const f = await startGateway({ offlineCapacity: 2_500 });
    const rid = uid('away');
    const sender = 'bulk-sender';
    for (let i = 0; i < 2_400; i++) {
      const fp = `fp-${String(i).padStart(4, '0')}`;
      const wire = encodePacket(dataPacket({ from: sender, to: rid, dataContent: `queued #${i}`, fp, QoS: true }));
      expect(await f.offline.store(asUserId(rid), { fp, packet: wire })).toBe('stored');
    }
    const r = await f.login(rid, 'tcp');
    await until(() => r.messages.length === 2_400, `all 2,400 messages (got ${r.messages.length})`, 30_000);
    expect(r.messages.map((m) => m.dataContent)).toEqual(Array.from({ length: 2_400 }, (_, i) => `queued #${i}`));
    await until(async () => (await f.offlineCount(rid)) === 0, 'the acks to empty the queue', 10_000);
    expect(r.duplicates).toBe(0);
    // A second connection gets nothing more.
    await r.close();
    const again = await f.login(rid, 'ws');
    await quietWindow(300);
    expect(again.messages).toEqual([]);
  }, 60_000);

  it('a receiver that does not ack gets one page, then the next once the page stalls; stored messages are never lost', async () => {
    const f = await startGateway({ offlineCapacity: 2_500 });
    const rid = uid('slow');
    for (let i = 0; i < 250; i++) {
      const fp = `s-${i}`;
      await f.offline.store(asUserId(rid), { fp, packet: encodePacket(dataPacket({ from: 'x', to: rid, dataContent: `#${i}`, fp, QoS: true })) });
    }
    const r = await f.login(rid, 'ws', { autoAck: false });
    await until(() => r.messages.length === 200, 'the first page');
    await quietWindow(500);
    expect(r.messages.length).toBe(200); // the next page waits for the acks
    for (const m of r.messages.slice(0, 200)) await r.ack(m);
    await until(() => r.messages.length === 250, 'the second page after the acks');
    expect(r.messages.map((m) => m.fp)).toEqual(Array.from({ length: 250 }, (_, i) => `s-${i}`));
    expect(await f.offlineCount(rid)).toBe(50);
  });
});

describe('offline delivery - what it reads', () => {
  it('a queue the connection cannot take (too large for TCP) is read a bounded number of times, then left for another login', async () => {
    const f = await startGateway({ offlineCapacity: 5_000 });
    const rid = uid('tcp-user');
    for (let i = 0; i < 1_200; i++) {
      const fp = `big-${i}`;
      await f.offline.store(asUserId(rid), { fp, packet: encodePacket(dataPacket({ from: 'x', to: rid, dataContent: 'b'.repeat(7_000), fp, QoS: true })) });
    }
    let read = 0;
    const peek = f.offline.peek.bind(f.offline);
    f.offline.peek = async (u, limit) => {
      const out = await peek(u, limit);
      read += out.length;
      return out;
    };
    const r = await f.login(rid, 'tcp');
    await quietWindow(500);
    expect(r.messages).toEqual([]);
    expect(read).toBeLessThanOrEqual(3_000); // pages of 200 up to 1,000 passed over, never all 1,200 again and again
    expect(r.closed).toBe(false);
    expect(await f.offlineCount(rid)).toBe(1_200);
  });
});

/**
 * A bridge on a LocalBus whose link the test cuts and restores, like a broker connection: while it
 * is cut, sends fail (UnavailableError) and the node's queue is gone (sends to it are unroutable).
 */
class FlakyBridge implements Bridge {
  async broadcast(): Promise<void> {}
  readonly nodeId: NodeId;
  state: BridgeState = 'connecting';
  private readonly inner: LocalBridge;
  private readonly listeners: Array<(s: BridgeState) => void> = [];
  private handler: (msg: BridgeMessage) => void = () => {};
  private cut = false;

  constructor(
    private readonly bus: LocalBus,
    nodeId: NodeId,
  ) {
    this.nodeId = nodeId;
    this.inner = new LocalBridge(bus, nodeId);
  }

  async start(handler: (msg: BridgeMessage) => void): Promise<void> {
    this.handler = handler;
    await this.inner.start(handler);
    this.set('up');
  }

  async send(target: NodeId, msg: BridgeMessage): Promise<void> {
    if (this.cut) throw new UnavailableError('link cut (test)');
    return this.inner.send(target, msg);
  }

  onStateChange(fn: (s: BridgeState) => void): void {
    this.listeners.push(fn);
  }

  down(): void {
    this.cut = true;
    this.bus.detach(this.nodeId);
    this.set('down');
  }

  up(): void {
    this.cut = false;
    this.bus.attach(this.nodeId, this.handler);
    this.set('up');
  }

  async close(): Promise<void> {
    await this.inner.close();
    this.set('closed');
  }

  private set(s: BridgeState): void {
    this.state = s;
    for (const fn of this.listeners) fn(s);
  }
}

/** Two gateways sharing route, offline and node stores and a bus, each with a FlakyBridge. */
async function twoGateways() {
  const log = testLogger();
  const routes = new MemoryRouteStore();
  const offline = new MemoryOfflineStore({ capacity: 10_000 });
  const nodes = new MemoryNodeRegistry();
  const bus = new LocalBus();
  const make = async () => {
    const nodeId = newNodeId('gw');
    const bridge = new FlakyBridge(bus, nodeId);
    const gw = new Gateway({
      ...{ nodeId, log, routes, offline, nodes, bridge, wsPort: 0, tcpPort: 0 },
      ...{ custodyResendMs: 300, custodyGiveUpMs: 600, metrics: createGatewayMetrics({ defaultMetrics: false }) },
      verifyLogin: createLoginVerifier({ mode: 'none', log }),
    });
    const ports = await gw.start();
    onCleanup(() => gw.close());
    return { gw, bridge, url: `ws://127.0.0.1:${ports.ws}/websocket` };
  };
  return { offline, g1: await make(), g2: await make() };
}

describe('offline redelivery after a bridge outage', () => {
  // Both links come back at once (the broker is back), in either order: the sender's gateway
  // nudges the messages it stored while the receiver's gateway redelivers its users' queues.
  it.each([
    ['the sender side first', ['g1', 'g2'] as const],
    ['the receiver side first', ['g2', 'g1'] as const],
  ])('each message stored during the outage reaches the receiver once (%s)', async (_name, order) => {
    const c = await twoGateways();
    const s = track(await connectClient({ url: c.g1.url, uid: uid('alice') }));
    const r = track(await connectClient({ url: c.g2.url, uid: uid('bob') }));
    c.g1.bridge.down();
    c.g2.bridge.down();
    const fps: string[] = [];
    for (let i = 0; i < 50; i++) fps.push((await s.send(r.uid!, `during the outage #${i}`))!);
    await until(() => fps.every((fp) => s.acks.includes(fp)), 'every message stored offline and acked');
    expect(await c.offline.count(asUserId(r.uid!))).toBe(50);
    expect(r.messages).toEqual([]);
    for (const g of order) c[g].bridge.up();
    await until(() => fps.every((fp) => r.messages.some((m) => m.fp === fp)), 'every message delivered after the outage');
    await until(async () => (await c.offline.count(asUserId(r.uid!))) === 0, 'the acks to empty the queue');
    await quietWindow(300);
    const copies = fps.map((fp) => wireCopies(r, fp));
    expect(copies.filter((n) => n !== 1)).toEqual([]);
    expect(r.duplicates).toBe(0);
  });
});
