import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '@switchboard/core';
import { buildGatewayAdmin, createGateway, type Gateway } from '@switchboard/gateway';
import { TestClient } from '@switchboard/testkit';

describe('gateway admin HTTP', () => {
  let gw: Gateway | undefined;
  const clients: TestClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.map((c) => c.close()));
    clients.length = 0;
    await gw?.close();
  });

  async function setup(adminToken?: string) {
    const log = silentLogger();
    gw = createGateway({ log, wsPort: 0, tcpPort: 0 });
    const ports = await gw.start();
    const admin = buildGatewayAdmin(gw, { log, ...(adminToken ? { adminToken } : {}) });
    await admin.ready();
    for (const uid of ['u1', 'u2', 'u3']) {
      const c = new TestClient({ url: `ws://127.0.0.1:${ports.ws}/websocket` });
      clients.push(c);
      await c.connect();
      await c.login(uid);
    }
    return { admin, gw };
  }

  it('GET /admin/connections - pages through this node connections, oldest first', async () => {
    const { admin } = await setup();
    const all = (await admin.inject({ url: '/admin/connections' })).json();
    expect(all.total).toBe(3);
    expect(all.connections.map((c: { userId: string }) => c.userId)).toEqual(['u1', 'u2', 'u3']);
    expect(all.connections[0]).toMatchObject({ transport: 'ws', state: 'online' });
    const page = (await admin.inject({ url: '/admin/connections?offset=1&limit=1' })).json();
    expect(page.connections.map((c: { userId: string }) => c.userId)).toEqual(['u2']);
    expect((await admin.inject({ url: '/admin/connections?limit=5000' })).statusCode).toBe(400);
    await admin.close();
  });

  it('readiness, OpenAPI document and the bearer token', async () => {
    const { admin } = await setup('gw-admin-token-123');
    expect((await admin.inject({ url: '/readyz' })).json()).toMatchObject({ ready: true, state: 'running' });
    expect((await admin.inject({ url: '/admin/connections' })).statusCode).toBe(401);
    const ok = await admin.inject({ url: '/admin/connections', headers: { authorization: 'Bearer gw-admin-token-123' } });
    expect(ok.statusCode).toBe(200);
    const doc = (await admin.inject({ url: '/docs/openapi.json' })).json();
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/healthz', '/readyz', '/admin/connections', '/admin/drain', '/admin/users/{uid}/kick']));
    await admin.close();
  });

  it('POST /admin/drain - readiness turns 503, clients are told to reconnect, the gateway closes', async () => {
    const { admin, gw } = await setup();
    expect((await admin.inject({ method: 'POST', url: '/admin/drain' })).statusCode).toBe(202);
    await gw.closed;
    const r = await admin.inject({ url: '/readyz' });
    expect(r.statusCode).toBe(503);
    expect(r.json().state).toBe('closed');
    for (const c of clients) expect((await c.waitForClose()).code).toBe(4000);
    await admin.close();
  });
});
