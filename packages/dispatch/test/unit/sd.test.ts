import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, type NodeId } from '@switchboard/core';
import { MemoryNodeRegistry, MemoryOfflineStore, MemoryRouteStore, type NodeRecord } from '@switchboard/cluster';
import { buildDispatch } from '@switchboard/dispatch';
import { adminGuard } from '@switchboard/gateway';
import { sdTargetGroups } from '../../src/routes/sd.js';

const node = (id: string, host: string, admin: number, state: 'active' | 'draining' = 'active'): Omit<NodeRecord, 'reportedAt'> => ({
  id: id as NodeId,
  host,
  ports: { ws: 3001, tcp: 8902, udp: 7902, admin },
  state,
  connections: 0,
  loopLagMs: 0,
  cpu: 0,
  msgRate: 0,
  startedAt: 1,
});

describe('GET /admin/sd - Prometheus HTTP service discovery of the gateways', () => {
  const log = silentLogger();
  const nodes = new MemoryNodeRegistry();
  const deps = { nodes, routes: new MemoryRouteStore(), offline: new MemoryOfflineStore(), log, senseMode: '15S' as const };
  const { app } = buildDispatch({ ...deps, guard: adminGuard(undefined) });
  const secured = buildDispatch({ ...deps, guard: adminGuard('s3cret-token'), adminToken: 's3cret-token' }).app;

  beforeAll(async () => {
    await nodes.report(node('gw-b', '127.0.0.1', 41001, 'draining'), 60_000);
    await nodes.report(node('gw-a', 'im.example.com', 41000), 60_000);
    await nodes.report(node('gw-c', '127.0.0.1', 0), 60_000); // no admin listener: nothing to scrape
    await app.ready();
    await secured.ready();
  });
  afterAll(async () => {
    await app.close();
    await secured.close();
  });

  it('one target group per gateway with an admin port, sorted by node id, in http_sd format', async () => {
    const r = await app.inject({ url: '/admin/sd' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    expect(r.json()).toEqual([
      {
        targets: ['im.example.com:41000'],
        labels: { role: 'gateway', node: 'gw-a', __meta_switchboard_public_host: 'im.example.com', __meta_switchboard_admin_port: '41000', __meta_switchboard_state: 'active' },
      },
      {
        targets: ['127.0.0.1:41001'],
        labels: { role: 'gateway', node: 'gw-b', __meta_switchboard_public_host: '127.0.0.1', __meta_switchboard_admin_port: '41001', __meta_switchboard_state: 'draining' },
      },
    ]);
  });

  it('an empty list without gateways; IPv6 hosts in brackets', () => {
    expect(sdTargetGroups([])).toEqual([]);
    expect(sdTargetGroups([{ ...node('gw-6', '::1', 9100), reportedAt: 1 }])[0]!.targets).toEqual(['[::1]:9100']);
  });

  it('behind the admin guard, like /admin/nodes; in the OpenAPI document', async () => {
    expect((await secured.inject({ url: '/admin/sd', remoteAddress: '10.0.0.9' })).statusCode).toBe(401);
    expect((await secured.inject({ url: '/admin/sd', remoteAddress: '10.0.0.9', headers: { authorization: 'Bearer s3cret-token' } })).statusCode).toBe(200);
    const doc = (await app.inject({ url: '/docs/openapi.json' })).json() as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toContain('/admin/sd');
  });
});
