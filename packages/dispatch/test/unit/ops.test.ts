// Operating dispatch: HTTP request metrics by route pattern, every known dispatch and push outcome at 0
// from the start, and a log line for each admin action (kick, drain, push, group changes).
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, type NodeId } from '@switchboard/core';
import { LocalBus, LocalBridge, MemoryGroupStore, MemoryNodeRegistry, MemoryOfflineStore, MemoryRouteStore } from '@switchboard/cluster';
import { buildDispatch } from '@switchboard/dispatch';
import { adminGuard } from '@switchboard/gateway';

function memoryLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines };
}

describe('dispatch operations', () => {
  const { log, lines } = memoryLogger();
  const nodes = new MemoryNodeRegistry();
  const routes = new MemoryRouteStore();
  const offline = new MemoryOfflineStore();
  const bus = new LocalBus();
  const gwBridge = new LocalBridge(bus, 'gw-1' as NodeId);
  const dBridge = new LocalBridge(bus, 'dispatch-1' as NodeId);
  const { app } = buildDispatch({ nodes, routes, offline, log, senseMode: '15S', guard: adminGuard(undefined), bridge: dBridge, groups: new MemoryGroupStore() });
  const admin = () => lines.filter((l) => typeof l['admin'] === 'string');

  beforeAll(async () => {
    await gwBridge.start(() => {});
    await dBridge.start(() => {});
    await nodes.report(
      { id: 'gw-1' as NodeId, host: '127.0.0.1', ports: { ws: 3001, tcp: 8902, udp: 7902, admin: 9101 }, state: 'active', connections: 0, loopLagMs: 1, cpu: 0.1, msgRate: 0, startedAt: 1 },
      60_000,
    );
    await routes.claim({ userId: 'alice' as never, nodeId: 'gw-1' as NodeId, connId: 'c1' as never, firstLoginTime: 5, since: 5 }, 0);
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
  });

  it('an idle dispatch shows every dispatch and push outcome at 0', async () => {
    const text = (await app.inject({ url: '/metrics' })).body;
    for (const result of ['ok', 'no_gateway', 'unavailable']) expect(text).toMatch(new RegExp(`^switchboard_dispatches_total\\{result="${result}"\\} 0$`, 'm'));
    for (const status of ['relayed', 'stored', 'dropped', 'full']) expect(text).toMatch(new RegExp(`^switchboard_pushes_total\\{status="${status}"\\} 0$`, 'm'));
  });

  it('HTTP requests are counted and timed by method, route pattern (never the id in the path) and status', async () => {
    await app.inject({ url: '/api/dispatch?uid=bob' });
    await app.inject({ url: '/api/dispatch?uid=carol' });
    await app.inject({ url: '/api/dispatch' });
    await app.inject({ url: '/admin/users/dave' });
    await app.inject({ url: '/no/such/path' });
    const text = (await app.inject({ url: '/metrics' })).body;
    expect(text).toMatch(/^switchboard_http_requests_total\{method="GET",route="\/api\/dispatch",status="200"\} 2$/m);
    expect(text).toMatch(/^switchboard_http_requests_total\{method="GET",route="\/api\/dispatch",status="400"\} 1$/m);
    expect(text).toMatch(/^switchboard_http_requests_total\{method="GET",route="\/admin\/users\/:uid",status="200"\} 1$/m);
    expect(text).toMatch(/^switchboard_http_requests_total\{method="GET",route="unmatched",status="404"\} 1$/m);
    expect(text).toMatch(/^switchboard_http_request_duration_seconds_count\{method="GET",route="\/api\/dispatch"\} 3$/m);
    expect(text).not.toContain('dave');
  });

  it('each admin action is logged with what was done and who asked; a push without its content', async () => {
    await app.inject({ method: 'POST', url: '/admin/users/alice/kick', payload: { reason: 'spam' } });
    await app.inject({ method: 'POST', url: '/admin/users/nobody/kick' });
    await app.inject({ method: 'POST', url: '/admin/nodes/gw-1/drain' });
    const push = (await app.inject({ method: 'POST', url: '/api/messages', payload: { to: 'erin', dataContent: 'a secret text', typeu: 7 } })).json() as { fp: string };
    await app.inject({ method: 'PUT', url: '/admin/groups/team', payload: { name: 'Team', members: ['alice', 'bob'] } });
    await app.inject({ method: 'DELETE', url: '/admin/groups/team/members/bob' });
    await app.inject({ method: 'DELETE', url: '/admin/groups/team' });
    await waitFor(() => admin().length >= 7, { what: 'seven admin log lines' });
    const got = admin().map(({ admin: a, msg, remote, ...rest }) => ({ admin: a, msg, remote, ...rest }));
    expect(got[0]).toMatchObject({ admin: 'kick', msg: 'admin kick', userId: 'alice', reason: 'spam', nodeId: 'gw-1', connId: 'c1', result: 'kicked', remote: '127.0.0.1' });
    expect(got[1]).toMatchObject({ admin: 'kick', userId: 'nobody', result: 'not_online' });
    expect(got[2]).toMatchObject({ admin: 'drain', nodeId: 'gw-1', result: 'requested' });
    expect(got[3]).toMatchObject({ admin: 'push', to: 'erin', fp: push.fp, typeu: 7, qos: true, bytes: 13, status: 'stored' });
    expect(got[4]).toMatchObject({ admin: 'group.put', group: 'team', members: 2, result: 'ok' });
    expect(got[5]).toMatchObject({ admin: 'group.remove', group: 'team', userId: 'bob', result: 'ok' });
    expect(got[6]).toMatchObject({ admin: 'group.delete', group: 'team', result: 'ok' });
    expect(JSON.stringify(lines)).not.toContain('a secret text');
  });
});
