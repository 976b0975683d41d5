import { afterEach, describe, expect, it, vi } from 'vitest';
import { LocalBridge, LocalBus, MemoryNodeRegistry, MemoryOfflineStore, MemoryPresenceStore, MemoryRouteStore, type Route } from '@switchboard/cluster';
import { asUserId, newNodeId, type ConnId, type NodeId, type UserId } from '@switchboard/core';
import { connectClient, type TestClient } from '@switchboard/testkit';
import { Gateway, createGatewayMetrics, createLoginVerifier, type GatewayMetrics } from '../../src/index.js';
import { RouteResolver } from '../../src/delivery/route-resolver.js';
import { ExtensionPacketType, WATCH_TYPEU } from '@switchboard/protocol';
import { cleanup, metricValue, testLogger, track, uid, until } from '../fixtures.js';

const u = (s: string) => s as UserId;
const n = (s: string) => s as NodeId;

/** A route store that counts lookups per user. */
class CountingRoutes extends MemoryRouteStore {
  readonly lookups = new Map<string, number>();
  override lookup(userId: UserId): Promise<Route | null> {
    this.lookups.set(userId, (this.lookups.get(userId) ?? 0) + 1);
    return super.lookup(userId);
  }
  count(userId: string): number {
    return this.lookups.get(userId) ?? 0;
  }
}

const claim = async (routes: MemoryRouteStore, uid: string, node: string, at: number) => {
  const r = await routes.claim({ userId: u(uid), nodeId: n(node), connId: `${node}-${uid}-${at}` as ConnId, firstLoginTime: at, since: at }, at);
  expect(r.outcome).toBe('claimed');
};

describe('RouteResolver.cachedRemote', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const setup = (ttlMs = 1_000, maxEntries = 100) => {
    const routes = new CountingRoutes();
    const counts = { hit: 0, miss: 0 };
    const resolver = new RouteResolver(n('self'), routes, new MemoryNodeRegistry(), () => true, { ttlMs, maxEntries, count: (r) => counts[r]++ });
    resolver.setLiveNodes([n('self'), n('b'), n('c')]);
    return { routes, resolver, counts };
  };

  it('reuses a remote route synchronously within the TTL, asks again after it', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { routes, resolver, counts } = setup(1_000);
    await claim(routes, 'bob', 'b', 1);
    expect((await resolver.cachedRemote(u('bob')))?.nodeId).toBe('b');
    const again = resolver.cachedRemote(u('bob'));
    expect(again instanceof Promise).toBe(false);
    expect((again as Route).nodeId).toBe('b');
    expect(routes.count('bob')).toBe(1);
    expect(counts).toEqual({ hit: 1, miss: 1 });
    vi.advanceTimersByTime(1_001);
    await claim(routes, 'bob', 'c', 2);
    expect((await resolver.cachedRemote(u('bob')))?.nodeId).toBe('c');
    expect(routes.count('bob')).toBe(2);
  });

  it('never caches "no route" nor a route to this node', async () => {
    const { routes, resolver } = setup();
    expect(await resolver.cachedRemote(u('nobody'))).toBeNull();
    expect(await resolver.cachedRemote(u('nobody'))).toBeNull();
    expect(routes.count('nobody')).toBe(2);
    await claim(routes, 'me', 'self', 1);
    expect(await resolver.cachedRemote(u('me'))).toBeNull();
    expect(await resolver.cachedRemote(u('me'))).toBeNull();
    expect(routes.count('me')).toBe(2);
    expect(resolver.cachedSize).toBe(0);
  });

  it('forget and forgetAll drop cached routes; a route to a node that left the live set is not used', async () => {
    const { routes, resolver } = setup();
    await claim(routes, 'bob', 'b', 1);
    await claim(routes, 'carol', 'c', 1);
    await resolver.cachedRemote(u('bob'));
    await resolver.cachedRemote(u('carol'));
    resolver.forget(u('bob'));
    await resolver.cachedRemote(u('bob'));
    expect(routes.count('bob')).toBe(2);
    resolver.forgetAll();
    expect(resolver.cachedSize).toBe(0);
    await resolver.cachedRemote(u('bob'));
    await resolver.cachedRemote(u('carol'));
    expect([routes.count('bob'), routes.count('carol')]).toEqual([3, 2]);
    // Node b dies (not in the next live set, not in the registry): its route is neither used nor answered.
    resolver.setLiveNodes([n('self'), n('c')]);
    expect(await resolver.cachedRemote(u('bob'))).toBeNull();
    expect(routes.count('bob')).toBe(4);
    expect((resolver.cachedRemote(u('carol')) as Route).nodeId).toBe('c');
  });

  it('keeps at most maxEntries routes, forgetting the oldest; TTL 0 turns the cache off', async () => {
    const { routes, resolver } = setup(60_000, 2);
    for (const x of ['x1', 'x2', 'x3']) await claim(routes, x, 'b', 1);
    for (const x of ['x1', 'x2', 'x3']) await resolver.cachedRemote(u(x));
    expect(resolver.cachedSize).toBe(2);
    await resolver.cachedRemote(u('x1'));
    expect(routes.count('x1')).toBe(2);
    const off = setup(0);
    await claim(off.routes, 'bob', 'b', 1);
    await off.resolver.cachedRemote(u('bob'));
    await off.resolver.cachedRemote(u('bob'));
    expect(off.routes.count('bob')).toBe(2);
    expect(off.counts).toEqual({ hit: 0, miss: 0 });
  });
});

// Three gateways in one process on memory backends and one LocalBus: the relay's cache in use, a stale
// route answered with `miss` and delivered at once, the presence broadcast dropping a route, a resend
// asking the route store.
describe('Gateway route cache', () => {
  const started: Gateway[] = [];
  afterEach(async () => {
    await cleanup();
    await Promise.all(started.splice(0).map((g) => g.close()));
  });

  async function cluster(opts: { presenceIntervalMs: number; custodyResendMs: number; custodyGiveUpMs: number }) {
    const log = testLogger();
    const bus = new LocalBus();
    const routes = new CountingRoutes();
    const shared = { routes, offline: new MemoryOfflineStore(), nodes: new MemoryNodeRegistry(), presence: new MemoryPresenceStore() };
    const gws: Array<{ gw: Gateway; metrics: GatewayMetrics; port: number }> = [];
    for (let i = 0; i < 3; i++) {
      const nodeId = newNodeId('gwroute');
      const metrics = createGatewayMetrics({ defaultMetrics: false });
      const gw = new Gateway({
        ...shared,
        ...opts,
        nodeId,
        log,
        bridge: new LocalBridge(bus, nodeId),
        metrics,
        verifyLogin: createLoginVerifier({ mode: 'none', log }),
        wsPort: 0,
        tcpPort: 0,
      });
      started.push(gw);
      gws.push({ gw, metrics, port: (await gw.start()).ws });
    }
    const login = async (i: number, user: string, extra: { autoAck?: boolean; features?: string[] } = {}): Promise<TestClient> => {
      const c = track(await connectClient({ url: `ws://127.0.0.1:${gws[i]!.port}/websocket`, ...(extra.autoAck === undefined ? {} : { autoAck: extra.autoAck }) }));
      const r = await c.login(user, extra.features ? { features: extra.features } : {});
      if (r.code !== 0) throw new Error(`login ${user}: ${r.code}`);
      return c;
    };
    const metric = (i: number, name: string, labels?: Record<string, string>) => metricValue(gws[i]!.metrics, name, labels);
    return { gws, routes, shared, login, metric };
  }

  const received = (c: TestClient, fp: string) => c.packets.some((p) => p.type === 2 && p.fp === fp);
  const sendAcked = async (c: TestClient, to: string, text: string, timeoutMs = 5_000): Promise<string> => {
    const fp = await c.send(to, text);
    await c.waitForAck(fp, { timeoutMs });
    return fp;
  };

  it('one route lookup for a stream of messages to a user on another gateway', async () => {
    const c = await cluster({ presenceIntervalMs: 1_000, custodyResendMs: 2_000, custodyGiveUpMs: 4_000 });
    const [alice, bob] = [uid('alice'), uid('bob')];
    const ca = await c.login(0, alice);
    const cb = await c.login(1, bob);
    const before = c.routes.count(bob);
    for (let i = 0; i < 5; i++) {
      const fp = await sendAcked(ca, bob, `m${i}`);
      expect(received(cb, fp)).toBe(true);
    }
    expect(c.routes.count(bob) - before).toBe(1);
    expect(await c.metric(0, 'switchboard_route_cache_total', { result: 'hit' })).toBe(4);
    expect(await c.metric(0, 'switchboard_route_cache_total', { result: 'miss' })).toBe(1);
  });

  it('a stale route (the user moved, no broadcast yet) gets a miss and is delivered at once, not at the resend', async () => {
    // Presence broadcasts once a minute and the resend after 30 s: only `miss` can make this fast.
    const c = await cluster({ presenceIntervalMs: 60_000, custodyResendMs: 30_000, custodyGiveUpMs: 60_000 });
    const [alice, bob] = [uid('alice'), uid('bob')];
    const ca = await c.login(0, alice);
    const cb1 = await c.login(1, bob);
    const fp1 = await sendAcked(ca, bob, 'before the move');
    expect(received(cb1, fp1)).toBe(true);
    // Bob moves to gateway 2 (the same device reconnecting: gateway 1's session closes).
    await cb1.close({ abrupt: true });
    const cb2 = await c.login(2, bob);
    const t0 = Date.now();
    const fp2 = await sendAcked(ca, bob, 'after the move', 15_000);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(received(cb2, fp2)).toBe(true);
    expect(await c.metric(0, 'switchboard_route_misses_total')).toBe(1);
    expect(cb2.duplicates).toBe(0);
    // The fresh route is cached now: the next message goes straight to gateway 2.
    const fp3 = await sendAcked(ca, bob, 'settled');
    expect(received(cb2, fp3)).toBe(true);
    expect(await c.metric(0, 'switchboard_route_misses_total')).toBe(1);
  });

  it('a presence broadcast drops the cached route: a message to a user who left goes offline without a miss', async () => {
    const c = await cluster({ presenceIntervalMs: 50, custodyResendMs: 30_000, custodyGiveUpMs: 60_000 });
    const [alice, bob] = [uid('alice'), uid('bob')];
    const ca = await c.login(0, alice, { features: ['notices', 'presence'] });
    const cb = await c.login(1, bob);
    await sendAcked(ca, bob, 'cached now');
    // Alice watches Bob: the notice of his logout comes with the broadcast that drops his route on gateway 0.
    await ca.send('0', JSON.stringify([bob]), { qos: false, typeu: WATCH_TYPEU });
    await cb.logout();
    await until(
      () => ca.packets.some((p) => p.type === ExtensionPacketType.NOTICE && (p.dataContent ?? '').includes('"online":false') && (p.dataContent ?? '').includes(bob)),
      'bob offline notice',
    );
    const hits = await c.metric(0, 'switchboard_route_cache_total', { result: 'hit' });
    await sendAcked(ca, bob, 'while away', 10_000);
    // Looked up (a cache miss), found no route, stored offline at once: no hit, no `miss` from gateway 1.
    expect(await c.metric(0, 'switchboard_route_cache_total', { result: 'hit' })).toBe(hits);
    expect(await c.metric(0, 'switchboard_route_misses_total')).toBe(0);
    expect(await c.shared.offline.count(asUserId(bob))).toBe(1);
  });

  it('a resend asks the route store, not the cache', async () => {
    const c = await cluster({ presenceIntervalMs: 1_000, custodyResendMs: 300, custodyGiveUpMs: 60_000 });
    const [alice, bob] = [uid('alice'), uid('bob')];
    const ca = await c.login(0, alice);
    const cb = await c.login(1, bob, { autoAck: false });
    const before = c.routes.count(bob);
    const fp = await ca.send(bob, 'never acked');
    await until(() => cb.packets.filter((p) => p.type === 2 && p.fp === fp).length >= 2, 'the resend');
    expect(c.routes.count(bob) - before).toBe(2);
  });
});
