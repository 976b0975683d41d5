import { afterEach, describe, expect, it } from 'vitest';
import { LocalBridge, LocalBus, MemoryGroupStore, MemoryNodeRegistry, MemoryOfflineStore, MemoryPresenceStore, MemoryRouteStore } from '@switchboard/cluster';
import { asUserId, newNodeId } from '@switchboard/core';
import { ExtensionPacketType, PacketType, TYPING_TYPEU, WATCH_TYPEU, type Packet } from '@switchboard/protocol';
import { connectClient, type TestClient } from '@switchboard/testkit';
import { Gateway, createGatewayMetrics, createLoginVerifier } from '../../src/index.js';
import { quietWindow, testLogger, track, uid, until } from '../fixtures.js';

// Presence and typing across gateways in one process (memory backends, one LocalBus): watch lists,
// batched broadcasts, typing relay and its rate limit, and that MobileIMSDK-style sessions (no
// features at login) never see a notice and keep their old behaviour.

const SDK = ['notices', 'presence', 'typing'];
const started: Gateway[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((g) => g.close()));
});

async function cluster(n: number) {
  const log = testLogger();
  const bus = new LocalBus();
  const shared = { routes: new MemoryRouteStore(), offline: new MemoryOfflineStore(), nodes: new MemoryNodeRegistry(), presence: new MemoryPresenceStore(), groups: new MemoryGroupStore() };
  const ports: number[] = [];
  const gws: Gateway[] = [];
  for (let i = 0; i < n; i++) {
    const nodeId = newNodeId('gwpres');
    const gw = new Gateway({
      ...shared,
      nodeId,
      log,
      bridge: new LocalBridge(bus, nodeId),
      metrics: createGatewayMetrics({ defaultMetrics: false }),
      verifyLogin: createLoginVerifier({ mode: 'none', log }),
      wsPort: 0,
      tcpPort: 0,
      presenceIntervalMs: 50,
      typingIntervalMs: 300,
    });
    started.push(gw);
    gws.push(gw);
    ports.push((await gw.start()).ws);
  }
  const login = async (i: number, user: string, features: string[] | null = SDK): Promise<TestClient> => {
    const c = track(await connectClient({ url: `ws://127.0.0.1:${ports[i]}/websocket` }));
    const r = await c.login(user, features ? { features } : {});
    if (r.code !== 0) throw new Error(`login ${user}: ${r.code}`);
    return c;
  };
  return { gws, shared, login };
}

const notices = (c: TestClient, kind: string) =>
  c.packets.filter((p) => p.type === ExtensionPacketType.NOTICE).map((p) => JSON.parse(p.dataContent!) as Record<string, unknown>).filter((n) => n['kind'] === kind);
const presenceOf = (c: TestClient, who: string) =>
  notices(c, 'presence').flatMap((n) => (n['users'] as Array<{ uid: string; online: boolean; lastSeen?: number }>).filter((u) => u.uid === who));
const watch = (c: TestClient, uids: string[] | string) => c.send('0', typeof uids === 'string' ? uids : JSON.stringify(uids), { qos: false, typeu: WATCH_TYPEU });
const typing = (c: TestClient, to: string) => c.send(to, '', { qos: false, typeu: TYPING_TYPEU });

describe('Gateway presence', () => {
  it('watch - answers with the current state, then pushes changes from another gateway; last seen after a logout', async () => {
    const c = await cluster(2);
    const [w, bob, carol] = [uid('w'), uid('bob'), uid('carol')];
    const cw = await c.login(0, w);
    const cb = await c.login(1, bob);
    await watch(cw, [bob, carol]);
    await until(() => presenceOf(cw, bob).length === 1 && presenceOf(cw, carol).length === 1, 'the current state');
    expect(presenceOf(cw, bob)[0]).toEqual({ uid: bob, online: true });
    expect(presenceOf(cw, carol)[0]).toEqual({ uid: carol, online: false });
    const before = Date.now();
    await cb.logout();
    await until(() => presenceOf(cw, bob).length === 2, 'bob offline');
    const off = presenceOf(cw, bob)[1]!;
    expect(off.online).toBe(false);
    expect(off.lastSeen).toBeGreaterThanOrEqual(before - 5);
    await c.login(1, carol);
    await until(() => presenceOf(cw, carol).length === 2, 'carol online');
    expect(presenceOf(cw, carol)[1]).toEqual({ uid: carol, online: true });
    await until(async () => (await c.shared.presence.lastSeen([asUserId(bob)]))[0] === off.lastSeen, 'the last-seen time stored');
    // A new list replaces the old: bob is no longer watched.
    await watch(cw, [carol]);
    await until(() => presenceOf(cw, carol).length === 3, 'the answer to the new list');
    await c.login(0, bob);
    await quietWindow(200);
    expect(presenceOf(cw, bob)).toHaveLength(2);
  });

  it('node death - the users of a purged node go offline for watchers', async () => {
    const c = await cluster(2);
    const [w, bob] = [uid('w'), uid('bob')];
    const cw = await c.login(0, w);
    await c.login(1, bob);
    await watch(cw, [bob]);
    await until(() => presenceOf(cw, bob).length === 1, 'bob online');
    // What the sweeper does for a crashed node: purge its routes, and report their users.
    const users = await c.shared.routes.purgeNode(c.gws[1]!.nodeId);
    expect(users).toEqual([bob]);
    c.gws[0]!.presence.purged(users);
    await until(() => presenceOf(cw, bob).length === 2, 'bob offline');
    expect(presenceOf(cw, bob)[1]!.online).toBe(false);
  });

  it('MobileIMSDK sessions - never get notices; their typeu -102/-103 packets stay ordinary messages', async () => {
    const c = await cluster(1);
    const [java, bob] = [uid('java'), uid('bob')];
    const cj = await c.login(0, java, null);
    const cb = await c.login(0, bob);
    await typing(cb, java);
    await watch(cj, [bob]);
    await cb.logout();
    await quietWindow(300);
    expect(cj.packets.filter((p) => p.type === ExtensionPacketType.NOTICE)).toEqual([]);
    // The Java client's "watch list" went to the server as a plain C2S message, as before.
    const cb2 = await c.login(0, bob);
    const fp = await cj.send(bob, 'x', { qos: false, typeu: TYPING_TYPEU });
    expect(fp).toBeNull();
    const m = await cb2.waitForMessage((p: Packet) => p.from === java);
    expect(m).toMatchObject({ typeu: TYPING_TYPEU, dataContent: 'x' });
    expect(notices(cb2, 'typing')).toEqual([]);
  });

  it('abuse - a huge or garbled watch list is capped or ignored, never an error or a close', async () => {
    const c = await cluster(1);
    const w = uid('w');
    const cw = await c.login(0, w);
    await watch(cw, 'not json');
    await watch(cw, '{"a":1}');
    await watch(cw, Array.from({ length: 3_000 }, (_, i) => `u${i}`));
    await until(() => notices(cw, 'presence').length === 1, 'one answer');
    expect((notices(cw, 'presence')[0]!['users'] as unknown[]).length).toBe(500);
    expect(c.gws[0]!.presence.size).toEqual({ sessions: 1, users: 500 });
    // A flood of lists: answered at most once per interval.
    for (let i = 0; i < 50; i++) await watch(cw, [`x${i}`]);
    await until(() => notices(cw, 'presence').some((n) => JSON.stringify(n).includes('"x49"')), 'the last list answered');
    expect(notices(cw, 'presence').length).toBeLessThan(10);
    expect(cw.packets.filter((p) => p.type === PacketType.ERROR)).toEqual([]);
    expect(cw.connected).toBe(true);
    await cw.close();
    await until(() => c.gws[0]!.presence.size.sessions === 0, 'the watch forgotten');
  });
});

describe('Gateway typing', () => {
  it('peer - reaches the peer on another gateway once per interval; never stored, never acked', async () => {
    const c = await cluster(2);
    const [a, b, off] = [uid('a'), uid('b'), uid('off')];
    const ca = await c.login(0, a);
    const cb = await c.login(1, b);
    for (let i = 0; i < 20; i++) await typing(ca, b);
    await until(() => notices(cb, 'typing').length === 1, 'one typing notice');
    expect(notices(cb, 'typing')[0]).toEqual({ kind: 'typing', from: a });
    await quietWindow(100);
    expect(notices(cb, 'typing')).toHaveLength(1);
    await until(async () => {
      await typing(ca, b);
      return notices(cb, 'typing').length === 2;
    }, 'a second one after the interval');
    await typing(ca, off);
    await quietWindow(100);
    expect(await c.shared.offline.count(asUserId(off))).toBe(0);
    expect(ca.packets.filter((p) => p.type === PacketType.ACK || p.type === PacketType.ERROR)).toEqual([]);
  });

  it('group - every online member but the sender, on both gateways; a non-member is dropped silently', async () => {
    const c = await cluster(2);
    const [a, b, d, x] = [uid('a'), uid('b'), uid('d'), uid('x')];
    await c.shared.groups.put('team', { name: 'Team', members: [a, b, d].map(asUserId) }, 0);
    const ca = await c.login(0, a);
    const cb = await c.login(0, b);
    const cd = await c.login(1, d);
    const cx = await c.login(1, x);
    await typing(ca, 'g:team');
    for (const r of [cb, cd]) await until(() => notices(r, 'typing').length === 1, 'the group typing notice');
    expect(notices(cd, 'typing')[0]).toEqual({ kind: 'typing', from: a, group: 'team' });
    await typing(cx, 'g:team');
    await typing(cx, 'g:nosuch');
    await quietWindow(150);
    expect(notices(ca, 'typing')).toEqual([]);
    expect(notices(cb, 'typing')).toHaveLength(1);
    expect(cx.packets.filter((p) => p.type === PacketType.ERROR)).toEqual([]);
  });
});
