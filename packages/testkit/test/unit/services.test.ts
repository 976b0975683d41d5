import { once } from 'node:events';
import * as net from 'node:net';
import { describe, expect, it } from 'vitest';
import { UnavailableError } from '@switchboard/core';
import { cleanupRedisPrefix, locateService, probeTcp, uniquePrefix } from '../../src/index.js';

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = net.createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

describe('uniquePrefix', () => {
  it('uniquePrefix - t-<clean name>-<random>, different every call', () => {
    const a = uniquePrefix('Route Store!');
    const b = uniquePrefix('Route Store!');
    expect(a).toMatch(/^t-route-store-[0-9a-f]{12}$/);
    expect(a).not.toBe(b);
    expect(uniquePrefix()).toMatch(/^t-test-[0-9a-f]{12}$/);
    expect(uniquePrefix('x'.repeat(100)).length).toBeLessThanOrEqual(2 + 24 + 1 + 12);
  });
});

describe('probeTcp', () => {
  it('probeTcp - resolves for a listening port, rejects for a closed one', async () => {
    const srv = net.createServer((s) => s.destroy()).listen(0, '127.0.0.1');
    await once(srv, 'listening');
    await probeTcp('127.0.0.1', (srv.address() as net.AddressInfo).port, 1000);
    srv.close();
    await expect(probeTcp('127.0.0.1', await closedPort(), 1000)).rejects.toThrow(/cannot connect to 127\.0\.0\.1:\d+/);
  });
});

describe('locateService', () => {
  it('env URL - must answer, else a clear error naming the variable', async () => {
    const port = await closedPort();
    const err = await locateService('redis', {
      env: { IM_REDIS_URL: `redis://:secret@127.0.0.1:${port}` },
      probeTimeoutMs: 1000,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    const msg = (err as Error).message;
    expect(msg).toContain(`IM_REDIS_URL=redis://:***@127.0.0.1:${port}`);
    expect(msg).toContain('is set but no Redis answers there');
    expect(msg).not.toContain('secret');
  });

  it.each([
    ['redis', 'IM_REDIS_URL', 'redis'],
    ['amqp', 'IM_AMQP_URL', 'amqp'],
  ] as const)('nothing found (%s) - names all three ways to provide it', async (kind, envVar, scheme) => {
    const port = await closedPort();
    const err = await locateService(kind, {
      env: {},
      docker: false,
      localUrl: `${scheme}://127.0.0.1:${port}`,
      probeTimeoutMs: 1000,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    const msg = (err as Error).message;
    expect(msg).toContain(`(1) set ${envVar}`);
    expect(msg).toContain('(2) make a Docker engine reachable');
    expect(msg).toContain(`(3) run a local server at ${scheme}://127.0.0.1:${port}`);
    expect(msg).toContain('no Docker engine');
  });

  it('docker - a failing container runtime falls through to the local probe', async () => {
    const port = await closedPort();
    const err = await locateService('redis', {
      env: { DOCKER_HOST: 'tcp://127.0.0.1:1' },
      docker: true,
      localUrl: `redis://127.0.0.1:${port}`,
      probeTimeoutMs: 1000,
    }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/testcontainers could not start redis:7-alpine/);
  }, 60_000);
});

describe('cleanupRedisPrefix', () => {
  it('cleanupRedisPrefix - refuses a prefix too short to be safe', async () => {
    await expect(cleanupRedisPrefix('redis://127.0.0.1:1', 'im')).rejects.toThrow(/too short/);
  });
});
