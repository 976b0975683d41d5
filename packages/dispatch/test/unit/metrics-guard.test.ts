// Dispatch's /metrics behind the gateway's metrics rule (IM_METRICS_TOKEN, else loopback or the admin
// token), as the CLI's roles wire it. A request from another host is simulated as the gateway's own
// /metrics tests do (packages/gateway/test/unit/hardening.test.ts): inject with a remoteAddress.
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '@switchboard/core';
import { MemoryNodeRegistry, MemoryOfflineStore, MemoryRouteStore } from '@switchboard/cluster';
import { buildDispatch, type DispatchOptions } from '@switchboard/dispatch';
import { adminGuard, buildGatewayAdmin, createGateway, metricsGuard, type Gateway } from '@switchboard/gateway';

const ADMIN = 'admin-token-0123456789';
const METRICS = 'metrics-token-0123456789';
const OTHER_HOST = '203.0.113.9';

type Get = (remoteAddress: string, token?: string) => Promise<number>;

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!();
});

const headers = (token?: string) => (token ? { headers: { authorization: `Bearer ${token}` } } : {});

/** Dispatch on memory backends with the admin token `adminToken`, `/metrics` behind `guard` (none: open); closed after the test. */
function buildWith(adminToken: string | undefined, guard?: DispatchOptions['metricsGuard']) {
  const { app } = buildDispatch({
    nodes: new MemoryNodeRegistry(),
    routes: new MemoryRouteStore(),
    offline: new MemoryOfflineStore(),
    log: silentLogger(),
    senseMode: '15S',
    guard: adminGuard(adminToken),
    ...(guard ? { metricsGuard: guard } : {}),
    ...(adminToken ? { adminToken } : {}),
  });
  closers.push(() => app.close());
  return app;
}

/** Dispatch as `switchboard dispatch` / `standalone` build it; `get(remote, token)` is the status of GET `path`. */
async function dispatch(opts: { adminToken?: string; metricsToken?: string }, path = '/metrics'): Promise<Get> {
  const app = buildWith(opts.adminToken, metricsGuard(opts.metricsToken, opts.adminToken));
  await app.ready();
  return async (remoteAddress, token) => (await app.inject({ url: path, remoteAddress, ...headers(token) })).statusCode;
}

/** A gateway's admin port with the same tokens. */
async function gatewayAdmin(opts: { adminToken?: string; metricsToken?: string }): Promise<Get> {
  const log = silentLogger();
  const gw: Gateway = createGateway({ log, wsPort: 0, tcpPort: 0 });
  await gw.start();
  closers.push(() => gw.close());
  const app = buildGatewayAdmin(gw, { log, ...opts });
  await app.ready();
  closers.push(() => app.close());
  return async (remoteAddress, token) => (await app.inject({ url: '/metrics', remoteAddress, ...headers(token) })).statusCode;
}

describe('dispatch GET /metrics access', () => {
  it('IM_ADMIN_TOKEN and IM_METRICS_TOKEN set (the audited case) - another host without a token gets 401, not the metrics', async () => {
    const get = await dispatch({ adminToken: ADMIN, metricsToken: METRICS });
    expect(await get(OTHER_HOST)).toBe(401);
    expect(await get(OTHER_HOST, 'wrong')).toBe(401);
    expect(await get(OTHER_HOST, METRICS)).toBe(200);
    expect(await get(OTHER_HOST, ADMIN)).toBe(200);
    // The metrics token is required from everyone, loopback included.
    expect(await get('127.0.0.1')).toBe(401);
    expect(await get('127.0.0.1', METRICS)).toBe(200);
  });

  it('the answer is the Prometheus text of dispatch metrics, with the 401 asking for a bearer token', async () => {
    const app = buildWith(ADMIN, metricsGuard(METRICS, ADMIN));
    const denied = await app.inject({ url: '/metrics', remoteAddress: OTHER_HOST });
    expect(denied.statusCode).toBe(401);
    expect(denied.headers['www-authenticate']).toBe('Bearer');
    expect(denied.body).not.toContain('switchboard_dispatches_total');
    const ok = await app.inject({ url: '/metrics', remoteAddress: OTHER_HOST, ...headers(METRICS) });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['content-type']).toMatch(/^text\/plain/);
    expect(ok.body).toContain('switchboard_dispatches_total');
  });

  it('IM_ADMIN_TOKEN only - another host needs it; loopback (a Prometheus on the same host) needs nothing', async () => {
    const get = await dispatch({ adminToken: ADMIN });
    expect(await get(OTHER_HOST)).toBe(401);
    expect(await get(OTHER_HOST, ADMIN)).toBe(200);
    expect(await get('127.0.0.1')).toBe(200);
    expect(await get('::1')).toBe(200);
  });

  it('no token set - loopback only (403 for others)', async () => {
    const get = await dispatch({});
    expect(await get('127.0.0.1')).toBe(200);
    expect(await get('::ffff:127.0.0.1')).toBe(200);
    expect(await get(OTHER_HOST)).toBe(403);
  });

  it.each([
    ['no token', {}],
    ['admin token', { adminToken: ADMIN }],
    ['metrics token', { metricsToken: METRICS }],
    ['both tokens', { adminToken: ADMIN, metricsToken: METRICS }],
  ] as const)('%s - dispatch and a gateway answer every request alike', async (_name, opts) => {
    const d = await dispatch(opts);
    const g = await gatewayAdmin(opts);
    for (const remote of ['127.0.0.1', '::1', OTHER_HOST]) {
      for (const token of [undefined, 'wrong', ADMIN, METRICS]) {
        expect(await d(remote, token), `${remote} ${token ?? 'no token'}`).toBe(await g(remote, token));
      }
    }
  });

  it('/healthz and /readyz stay open; /admin/sd takes the admin token, not the metrics token', async () => {
    const opts = { adminToken: ADMIN, metricsToken: METRICS };
    const healthz = await dispatch(opts, '/healthz');
    expect(await healthz(OTHER_HOST)).toBe(200);
    const readyz = await dispatch(opts, '/readyz');
    expect(await readyz(OTHER_HOST)).toBe(503); // no gateway: not ready, but answered without a token
    const sd = await dispatch(opts, '/admin/sd');
    expect(await sd('127.0.0.1')).toBe(401);
    expect(await sd('127.0.0.1', METRICS)).toBe(401);
    expect(await sd('127.0.0.1', ADMIN)).toBe(200);
  });

  it('an embedder that passes no metricsGuard keeps /metrics as it was (open)', async () => {
    const app = buildWith(ADMIN);
    expect((await app.inject({ url: '/metrics', remoteAddress: OTHER_HOST })).statusCode).toBe(200);
  });
});
