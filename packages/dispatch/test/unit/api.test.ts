import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, waitFor, type NodeId } from '@switchboard/core';
import { LocalBus, LocalBridge, MemoryNodeRegistry, MemoryOfflineStore, MemoryRouteStore, type BridgeMessage } from '@switchboard/cluster';
import { buildDispatch } from '@switchboard/dispatch';
import { adminGuard } from '@switchboard/gateway';

describe('dispatch HTTP API', () => {
  const log = silentLogger();
  const nodes = new MemoryNodeRegistry();
  const routes = new MemoryRouteStore();
  const offline = new MemoryOfflineStore();
  const bus = new LocalBus();
  const gatewayInbox: BridgeMessage[] = [];
  const gwBridge = new LocalBridge(bus, 'gw-1' as NodeId);
  const dBridge = new LocalBridge(bus, 'dispatch-1' as NodeId);
  const { app } = buildDispatch({ nodes, routes, offline, log, senseMode: '15S', guard: adminGuard(undefined), bridge: dBridge });
  const secured = buildDispatch({ nodes, routes, offline, log, senseMode: '15S', guard: adminGuard('s3cret-token'), adminToken: 's3cret-token' }).app;

  beforeAll(async () => {
    await gwBridge.start((m) => gatewayInbox.push(m));
    await dBridge.start(() => {});
    await nodes.report(
      { id: 'gw-1' as NodeId, host: '127.0.0.1', ports: { ws: 3001, tcp: 8902, udp: 7902, admin: 9101 }, state: 'active', connections: 3, loopLagMs: 1, cpu: 0.1, msgRate: 40, startedAt: 1 },
      60_000,
    );
    await routes.claim({ userId: 'alice' as never, nodeId: 'gw-1' as NodeId, connId: 'c1' as never, firstLoginTime: 5, since: 5 }, 0);
    await app.ready();
    await secured.ready();
  });
  afterAll(async () => {
    await app.close();
    await secured.close();
  });

  it('GET /api/dispatch - answers the live gateway, 400 without uid, 503 without gateways', async () => {
    const ok = await app.inject({ url: '/api/dispatch?uid=bob' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ node: 'gw-1', ws: 'ws://127.0.0.1:3001/websocket', tcp: { host: '127.0.0.1', port: 8902 }, senseMode: '15S' });
    expect(ok.json().reconnect.initialDelayMs).toBeGreaterThan(0);
    expect((await app.inject({ url: '/api/dispatch' })).statusCode).toBe(400);
    const empty = buildDispatch({ nodes: new MemoryNodeRegistry(), routes, offline, log, senseMode: '15S', guard: adminGuard(undefined) }).app;
    const r = await empty.inject({ url: '/api/dispatch?uid=bob' });
    expect(r.statusCode).toBe(503);
    expect(r.json().reason).toBe('no live gateway');
    await empty.close();
  });

  it('GET /admin/nodes - every live gateway with its ports, state and load score', async () => {
    const [n] = (await app.inject({ url: '/admin/nodes' })).json().nodes;
    expect(n).toMatchObject({ id: 'gw-1', state: 'active', host: '127.0.0.1', ports: { ws: 3001, tcp: 8902, udp: 7902, admin: 9101 }, connections: 3, loopLagMs: 1, cpu: 0.1, startedAt: 1 });
    expect(n.load).toBeGreaterThan(3);
  });

  it('GET /admin/stats - totals and the sampled history', async () => {
    const r = await app.inject({ url: '/admin/stats' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ gateways: 1, connections: 3, msgRate: 40, draining: 0 });
    expect(Array.isArray(r.json().history)).toBe(true);
  });

  it('GET /admin/users/:uid - route, online state and offline queue length', async () => {
    await offline.store('carol' as never, { fp: 'f1', packet: '{}' });
    expect((await app.inject({ url: '/admin/users/alice' })).json()).toMatchObject({ userId: 'alice', online: true, route: { nodeId: 'gw-1', connId: 'c1' }, offlineQueue: 0 });
    expect((await app.inject({ url: '/admin/users/carol' })).json()).toMatchObject({ online: false, route: null, offlineQueue: 1 });
  });

  it('POST /admin/users/:uid/kick - sends a code-2 kick to the gateway holding the user; 404 for offline users', async () => {
    const r = await app.inject({ method: 'POST', url: '/admin/users/alice/kick', payload: { reason: 'spam' } });
    expect(r.statusCode).toBe(200);
    await waitFor(() => gatewayInbox.find((m) => m.type === 'kick'));
    expect(gatewayInbox.find((m) => m.type === 'kick')).toMatchObject({ type: 'kick', userId: 'alice', connId: 'c1', code: 2, reason: 'spam' });
    expect((await app.inject({ method: 'POST', url: '/admin/users/nobody/kick' })).statusCode).toBe(404);
  });

  it('POST /api/messages - relays to the live gateway, stores for offline users, validates the body', async () => {
    const live = await app.inject({ method: 'POST', url: '/api/messages', payload: { to: 'alice', dataContent: 'hello', typeu: 9 } });
    expect(live.statusCode).toBe(202);
    expect(live.json().status).toBe('relayed');
    await waitFor(() => gatewayInbox.find((m) => m.type === 'push'));
    expect(gatewayInbox.find((m) => m.type === 'push')).toMatchObject({ to: 'alice', fp: live.json().fp, dataContent: 'hello', typeu: 9, qos: true });

    const off = await app.inject({ method: 'POST', url: '/api/messages', payload: { to: 'dave', dataContent: 'later' } });
    expect(off.statusCode).toBe(202);
    expect(off.json().status).toBe('stored');
    const [m] = await offline.peek('dave' as never, 10);
    expect(JSON.parse(m!.packet)).toMatchObject({ type: 2, from: '0', to: 'dave', fp: off.json().fp, QoS: true, dataContent: 'later' });

    const dropped = await app.inject({ method: 'POST', url: '/api/messages', payload: { to: 'dave', dataContent: 'x', qos: false } });
    expect(dropped.json().status).toBe('dropped');
    for (const bad of [{}, { to: 'a' }, { to: '', dataContent: 'x' }, { to: '0', dataContent: 'x' }, { to: 'a', dataContent: 1 }, { to: 'a', dataContent: 'x', extra: 1 }]) {
      expect((await app.inject({ method: 'POST', url: '/api/messages', payload: bad })).statusCode).toBe(400);
    }
  });

  it('POST /admin/nodes/:id/drain - flags the node and tells it over the bridge; 404 for unknown nodes', async () => {
    const r = await app.inject({ method: 'POST', url: '/admin/nodes/gw-1/drain' });
    expect(r.statusCode).toBe(202);
    expect(await nodes.drainRequested('gw-1' as NodeId)).toBe(true);
    await waitFor(() => gatewayInbox.find((m) => m.type === 'control'));
    expect((await app.inject({ method: 'POST', url: '/admin/nodes/gw-9/drain' })).statusCode).toBe(404);
  });

  it('auth - with IM_ADMIN_TOKEN set, admin and push need the bearer token; public routes do not', async () => {
    expect((await secured.inject({ url: '/admin/nodes' })).statusCode).toBe(401);
    expect((await secured.inject({ url: '/admin/nodes', headers: { authorization: 'Bearer wrong' } })).statusCode).toBe(401);
    expect((await secured.inject({ url: '/admin/nodes', headers: { authorization: 'Bearer s3cret-token' } })).statusCode).toBe(200);
    expect((await secured.inject({ method: 'POST', url: '/api/messages', payload: { to: 'a', dataContent: 'x' } })).statusCode).toBe(401);
    expect((await secured.inject({ url: '/api/dispatch?uid=x' })).statusCode).toBe(200);
    expect((await secured.inject({ url: '/healthz' })).statusCode).toBe(200);
  });

  it('auth - without a token, admin routes refuse non-loopback clients', async () => {
    const r = await app.inject({ url: '/admin/nodes', remoteAddress: '10.1.2.3' });
    expect(r.statusCode).toBe(403);
    expect((await app.inject({ url: '/admin/nodes', remoteAddress: '127.0.0.1' })).statusCode).toBe(200);
  });

  it('GET /docs/openapi.json - documents every public and admin route', async () => {
    const doc = (await app.inject({ url: '/docs/openapi.json' })).json();
    expect(doc.openapi).toMatch(/^3\./);
    for (const path of ['/api/dispatch', '/api/messages', '/api/presence', '/admin/nodes', '/admin/stats', '/admin/users', '/admin/users/{uid}', '/admin/users/{uid}/kick', '/admin/nodes/{id}/drain', '/healthz', '/readyz']) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
    expect(doc.paths['/api/presence'].get.responses['200']).toBeDefined();
    expect(doc.paths['/admin/users'].get.parameters.map((p: { name: string }) => p.name).sort()).toEqual(['cursor', 'limit', 'online']);
    expect(doc.paths['/api/messages'].post.requestBody.content['application/json'].schema.properties.from).toBeDefined();
  });

  it('GET /docs/ - the Swagger UI page for the document, its assets served locally', async () => {
    const page = await app.inject({ url: '/docs/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toContain('swagger-ui');
    expect(page.body).not.toMatch(/https?:\/\/(cdn|unpkg)/);
    const css = await app.inject({ url: '/docs/static/swagger-ui.css' });
    expect(css.statusCode).toBe(200);
    expect(css.body.length).toBeGreaterThan(1_000);
    const json = await app.inject({ url: '/docs/json' });
    expect(json.json().paths['/api/presence']).toBeDefined();
  });
});
