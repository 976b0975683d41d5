import { afterEach, describe, expect, it } from 'vitest';
import { asUserId, silentLogger, waitFor, type NodeId, type UserId } from '@switchboard/core';
import {
  LocalBridge,
  LocalBus,
  MemoryHistoryStore,
  MemoryNodeRegistry,
  MemoryOfflineStore,
  MemoryPresenceStore,
  MemoryRouteStore,
  peerConversation,
  type BridgeMessage,
} from '@switchboard/cluster';
import { buildDispatch, type DispatchOptions } from '@switchboard/dispatch';
import { adminGuard, createUserAuthenticator } from '@switchboard/gateway';

// GET /api/presence (user auth, caps), POST /api/messages with `from` (admin token only), and
// GET /admin/users?online=true (cursor paging).

const log = silentLogger();
type App = ReturnType<typeof buildDispatch>['app'];
const apps: App[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

async function setup(opts: Partial<DispatchOptions> = {}) {
  const nodes = new MemoryNodeRegistry();
  const routes = new MemoryRouteStore();
  const presence = new MemoryPresenceStore();
  const record = (id: string) => ({ id: id as NodeId, host: '127.0.0.1', ports: { ws: 1, tcp: 2, udp: 0, admin: 3 }, state: 'active' as const, connections: 0, loopLagMs: 0, cpu: 0, msgRate: 0, startedAt: 1 });
  await nodes.report(record('gw-a'), 60_000);
  await nodes.report(record('gw-b'), 60_000);
  const claim = (user: string, node: string) => routes.claim({ userId: user as UserId, nodeId: node as NodeId, connId: `c-${user}` as never, firstLoginTime: 1, since: 1 }, 0);
  const { app } = buildDispatch({
    nodes,
    routes,
    offline: new MemoryOfflineStore(),
    presence,
    log,
    senseMode: '15S',
    guard: adminGuard(undefined),
    userAuth: createUserAuthenticator({ mode: 'none', log }),
    ...opts,
  });
  apps.push(app);
  await app.ready();
  return { app, routes, presence, claim };
}

const asUser = (u: string) => ({ authorization: `Bearer ${u}` });

describe('GET /api/presence', () => {
  it('online from live routes, last seen from the store, in the order asked, duplicates once', async () => {
    const { app, presence, claim } = await setup();
    await claim('bob', 'gw-a');
    await claim('ghost', 'gw-dead'); // a route on a node that is not live: offline
    await presence.seen([asUserId('carol')], 1_796_000_000_000);
    const r = await app.inject({ url: '/api/presence?uids=carol,bob,ghost,bob,nobody', headers: asUser('alice') });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({
      users: [
        { uid: 'carol', online: false, lastSeen: 1_796_000_000_000 },
        { uid: 'bob', online: true },
        { uid: 'ghost', online: false },
        { uid: 'nobody', online: false },
      ],
    });
  });

  it('auth and caps - 401 without a token, 400 without uids or past 500 or with an over-long id', async () => {
    const jwt = await setup({ userAuth: createUserAuthenticator({ mode: 'jwt', jwtSecret: 'a-test-secret-of-32-characters!!', log }) });
    expect((await jwt.app.inject({ url: '/api/presence?uids=bob' })).statusCode).toBe(401);
    expect((await jwt.app.inject({ url: '/api/presence?uids=bob', headers: asUser('not-a-jwt') })).statusCode).toBe(401);
    const { app } = await setup();
    expect((await app.inject({ url: '/api/presence', headers: asUser('a') })).statusCode).toBe(400);
    expect((await app.inject({ url: '/api/presence?uids=,,,', headers: asUser('a') })).statusCode).toBe(400);
    const many = Array.from({ length: 501 }, (_, i) => `u${i}`).join(',');
    expect((await app.inject({ url: `/api/presence?uids=${many}`, headers: asUser('a') })).statusCode).toBe(400);
    const ok = Array.from({ length: 500 }, (_, i) => `u${i}`).join(',');
    expect((await app.inject({ url: `/api/presence?uids=${ok}`, headers: asUser('a') })).json().users).toHaveLength(500);
    expect((await app.inject({ url: `/api/presence?uids=${'x'.repeat(129)}`, headers: asUser('a') })).statusCode).toBe(400);
    expect((await app.inject({ url: `/api/presence?uids=${'x'.repeat(90_000)}`, headers: asUser('a') })).statusCode).toBe(400);
    const noAuth = await setup({ userAuth: undefined });
    expect((await noAuth.app.inject({ url: '/api/presence?uids=bob', headers: asUser('a') })).statusCode).toBe(503);
  });
});

describe('POST /api/messages with from', () => {
  it('needs the admin token: 403 on a loopback dispatch without one; with it, relayed as that user and kept in their conversation', async () => {
    const open = await setup();
    const r = await open.app.inject({ method: 'POST', url: '/api/messages', payload: { to: 'bob', dataContent: 'hi', from: 'alice' } });
    expect(r.statusCode).toBe(403);
    expect((await open.app.inject({ method: 'POST', url: '/api/messages', payload: { to: 'bob', dataContent: 'x', from: '-1' } })).statusCode).toBe(400);
    // Malformed bodies are 400, never a crash.
    for (const body of ['{"to":"bob","dataContent":"x","from":', '{"to":"bob","dataContent":"x","from":7}', `{"to":"bob","dataContent":"x","from":"${'a'.repeat(129)}"}`, 'null', '[]']) {
      const bad = await open.app.inject({ method: 'POST', url: '/api/messages', headers: { 'content-type': 'application/json' }, payload: body });
      expect(bad.statusCode, body).toBe(400);
    }

    const bus = new LocalBus();
    const inbox: BridgeMessage[] = [];
    const gw = new LocalBridge(bus, 'gw-a' as NodeId);
    await gw.start((m) => inbox.push(m));
    const bridge = new LocalBridge(bus, 'dispatch' as NodeId);
    await bridge.start(() => {});
    const history = new MemoryHistoryStore();
    const s = await setup({ guard: adminGuard('admin-token-1234'), adminToken: 'admin-token-1234', bridge, history });
    await s.claim('bob', 'gw-a');
    const auth = { authorization: 'Bearer admin-token-1234' };
    expect((await s.app.inject({ method: 'POST', url: '/api/messages', payload: { to: 'bob', dataContent: 'hi', from: 'alice' } })).statusCode).toBe(401);
    const ok = await s.app.inject({ method: 'POST', url: '/api/messages', headers: auth, payload: { to: 'bob', dataContent: 'hi', from: 'alice' } });
    expect(ok.statusCode).toBe(202);
    await waitFor(() => inbox.length === 1, { what: 'the relayed push' });
    expect(inbox[0]).toMatchObject({ type: 'push', to: 'bob', from: 'alice', dataContent: 'hi' });
    const kept = await history.before(peerConversation(asUserId('alice'), asUserId('bob')), { limit: 5 });
    expect(kept.map((m) => [m.from, m.to, m.dataContent])).toEqual([['alice', 'bob', 'hi']]);
    // Offline receiver: stored as alice's message.
    const stored = await s.app.inject({ method: 'POST', url: '/api/messages', headers: auth, payload: { to: 'dave', dataContent: 'later', from: 'alice' } });
    expect(stored.json().status).toBe('stored');
    // A group address is neither a sender nor a receiver of a push: 400, nothing relayed or kept.
    for (const payload of [{ to: 'bob', dataContent: 'x', from: 'g:team' }, { to: 'g:team', dataContent: 'x', from: 'alice' }, { to: 'g:team', dataContent: 'x' }]) {
      const r = await s.app.inject({ method: 'POST', url: '/api/messages', headers: auth, payload });
      expect(r.statusCode, JSON.stringify(payload)).toBe(400);
      expect(r.json().message).toMatch(/group prefix "g:"/);
    }
    expect(inbox).toHaveLength(1);
    await gw.close();
    await bridge.close();
  });
});

describe('GET /admin/users?online=true', () => {
  it('pages through every live node\'s users once with the cursor; limit defaults and bounds; bad cursors are 400', async () => {
    const { app, claim } = await setup();
    for (let i = 0; i < 23; i++) await claim(`u${String(i).padStart(2, '0')}`, i % 3 === 0 ? 'gw-b' : 'gw-a');
    await claim('dead-user', 'gw-dead');
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor === null ? '' : `&cursor=${cursor}`;
      const r = await app.inject({ url: `/admin/users?online=true&limit=5${q}` });
      expect(r.statusCode).toBe(200);
      const body = r.json() as { users: Array<{ userId: string; nodeId: string }>; cursor: string | null };
      expect(body.users.length).toBeLessThanOrEqual(5);
      seen.push(...body.users.map((u) => u.userId));
      cursor = body.cursor;
      pages++;
    } while (cursor !== null && pages < 50);
    expect(seen).toHaveLength(23);
    expect(new Set(seen).size).toBe(23);
    expect(pages).toBeGreaterThanOrEqual(5);
    const all = await app.inject({ url: '/admin/users?online=true' });
    expect(all.json().users).toHaveLength(23);
    expect(all.json().cursor).toBeNull();
    for (const bad of ['limit=0', 'limit=1001', 'limit=abc', 'cursor=%%%', 'cursor=bm9wZQ']) {
      expect((await app.inject({ url: `/admin/users?online=true&${bad}` })).statusCode, bad).toBe(400);
    }
    expect((await app.inject({ url: '/admin/users' })).statusCode).toBe(400);
    expect((await app.inject({ url: '/admin/users?online=false' })).statusCode).toBe(400);
  });
});
