import { createServer } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { asConnId, asNodeId, asUserId, createLogger, ImErrorCode, UnavailableError, waitFor, type Logger } from '@switchboard/core';
import { TcpProxy, cleanupRedisPrefix, resolveRedisUrl, uniquePrefix, timeRejection } from '@switchboard/testkit';
import { closeRedis, connectRedis, createRedisBackends, RedisRouteStore, type RedisBackends } from '../../src/redis/index.js';
import type { Route } from '../../src/route-store.js';

function memoryLogger(): { log: Logger; lines: Array<{ level: number; msg: string }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  const log = createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(JSON.parse(s)) } });
  return { log, lines };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const addr = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

function expectUnavailable(err: unknown): void {
  expect(err).toBeInstanceOf(UnavailableError);
  expect((err as UnavailableError).code).toBe(ImErrorCode.UNAVAILABLE);
  expect((err as UnavailableError).retryable).toBe(true);
  expect((err as UnavailableError).cause).toBeInstanceOf(Error);
}

const FAIL_FAST_MS = 1_000;
const T0 = 1_700_000_000_000;
const route = (conn: string): Route => ({ userId: asUserId('alice'), nodeId: asNodeId('gw-1'), connId: asConnId(conn), firstLoginTime: T0, since: T0 });

/**
 * Redis going away must surface as UnavailableError at once, and the client must come back by
 * itself. The shared Redis is never disturbed: the outage is a TCP proxy this test starts, stops
 * and freezes, or a port where nothing listens.
 */
describe('Redis outage', () => {
  let url: string;
  const cleanups: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    url = await resolveRedisUrl();
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function startProxy(): Promise<TcpProxy> {
    const proxy = await TcpProxy.toward(url, 6379);
    cleanups.push(() => proxy.close());
    return proxy;
  }

  it('no server - every store call fails fast with UnavailableError, no unhandled error', async () => {
    const { log, lines } = memoryLogger();
    const backends = createRedisBackends({ url: `redis://127.0.0.1:${await freePort()}`, prefix: uniquePrefix('outage-dead'), log });
    cleanups.push(() => backends.close());
    const calls: Array<() => Promise<unknown>> = [
      () => backends.routes.claim(route('c1'), 0),
      () => backends.routes.lookup(asUserId('alice')),
      () => backends.offline.store(asUserId('alice'), { fp: 'f1', packet: '{}' }),
      () => backends.nodes.list(),
    ];
    for (const call of calls) {
      const { err, ms } = await timeRejection(call());
      expectUnavailable(err);
      expect(ms).toBeLessThan(FAIL_FAST_MS);
    }
    expect(backends.isUp()).toBe(false);
    expect(lines.some((l) => l.level === 40 && l.msg === 'redis connection error')).toBe(true);
  });

  it('server goes away - calls fail fast; the client reconnects when it is back', async () => {
    const proxy = await startProxy();
    const prefix = uniquePrefix('outage-proxy');
    cleanups.push(async () => void (await cleanupRedisPrefix(url, prefix)));
    const { log, lines } = memoryLogger();
    const backends: RedisBackends = createRedisBackends({ url: proxy.url(url), prefix, log, name: 'outage-test' });
    cleanups.push(() => backends.close());

    expect(await backends.routes.claim(route('c1'), 0)).toMatchObject({ outcome: 'claimed' });
    expect(backends.isUp()).toBe(true);

    await proxy.stop();
    await waitFor(() => !backends.isUp(), { timeoutMs: 2_000, what: 'redis client to notice the outage' });
    for (const call of [
      () => backends.routes.lookup(asUserId('alice')),
      () => backends.routes.claim(route('c2'), 0),
      () => backends.offline.store(asUserId('alice'), { fp: 'f1', packet: '{}' }),
      () => backends.offline.peek(asUserId('alice'), 10),
      () => backends.nodes.report({ id: asNodeId('gw-1'), host: 'h', ports: { ws: 1, tcp: 2, udp: 3, admin: 4 }, state: 'active', connections: 0, loopLagMs: 0, cpu: 0, msgRate: 0, startedAt: T0 }, 1_000),
    ]) {
      const { err, ms } = await timeRejection(call());
      expectUnavailable(err);
      expect(ms).toBeLessThan(FAIL_FAST_MS);
    }
    expect(lines.some((l) => l.level === 40 && l.msg === 'redis connection lost; reconnecting')).toBe(true);

    const downAt = performance.now();
    await proxy.start(); // same port
    await waitFor(() => backends.isUp(), { timeoutMs: 10_000, what: 'redis client to reconnect' });
    const recoveryMs = performance.now() - downAt;
    expect(recoveryMs).toBeLessThan(5_000);
    // State survived, scripts still work (EVALSHA on the new connection).
    expect(await backends.routes.lookup(asUserId('alice'))).toEqual(route('c1'));
    expect(await backends.routes.claim(route('c2'), 0)).toMatchObject({ outcome: 'claimed', kickReplaced: true });
    expect(await backends.offline.store(asUserId('alice'), { fp: 'f1', packet: '{}' })).toBe('stored');
    expect(lines.some((l) => l.level === 30 && l.msg === 'redis connection restored')).toBe(true);
  });

  it('server hangs - a call fails after the command timeout; the link is replaced and recovers', async () => {
    const proxy = await startProxy();
    const prefix = uniquePrefix('outage-hang');
    cleanups.push(async () => void (await cleanupRedisPrefix(url, prefix)));
    const redis = connectRedis({ url: proxy.url(url), commandTimeoutMs: 300, socketTimeoutMs: 600 });
    cleanups.push(() => closeRedis(redis));
    const store = new RedisRouteStore({ redis, prefix });
    expect(await store.claim(route('c1'), 0)).toMatchObject({ outcome: 'claimed' });

    proxy.freeze();
    const { err, ms } = await timeRejection(store.lookup(asUserId('alice')));
    expectUnavailable(err);
    expect(ms).toBeLessThan(FAIL_FAST_MS);
    await waitFor(() => redis.status !== 'ready', { timeoutMs: 3_000, what: 'socket timeout to drop the link' });

    proxy.resume();
    const route1 = await waitFor(() => store.lookup(asUserId('alice')), { timeoutMs: 10_000, intervalMs: 50, what: 'recovery' });
    expect(route1).toEqual(route('c1'));
  });
});
