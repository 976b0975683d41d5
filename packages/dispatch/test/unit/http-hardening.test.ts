import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '@switchboard/core';
import { MemoryHistoryStore, MemoryNodeRegistry, MemoryOfflineStore, MemoryRouteStore } from '@switchboard/cluster';
import { buildDispatch, type DispatchOptions } from '@switchboard/dispatch';
import { adminGuard, createUserAuthenticator } from '@switchboard/gateway';

// What an abuser or a broken client gets from dispatch's HTTP side: requests that never finish arriving
// are cut off, and every error answer is JSON with an error code that says whose fault it is.

const log = silentLogger();
type App = ReturnType<typeof buildDispatch>['app'];
const apps: App[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

function build(opts: Partial<DispatchOptions> = {}): App {
  const { app } = buildDispatch({
    nodes: new MemoryNodeRegistry(),
    routes: new MemoryRouteStore(),
    offline: new MemoryOfflineStore(),
    log,
    senseMode: '10S',
    guard: adminGuard(undefined),
    history: new MemoryHistoryStore(),
    userAuth: createUserAuthenticator({ mode: 'none', log }),
    ...opts,
  });
  apps.push(app);
  return app;
}

/** Raw TCP to `port`: writes `head`, then only what the test writes; resolves what came back once the server closed. */
function rawRequest(port: number, head: string): { closed: Promise<string>; write(s: string): void } {
  const sock = connect(port, '127.0.0.1');
  let got = '';
  sock.setEncoding('utf8');
  sock.on('data', (d: string) => (got += d));
  sock.on('error', () => {}); // a write racing the server's close (EPIPE, ECONNRESET): the close tells
  sock.write(head);
  return {
    closed: new Promise((resolve) => sock.on('close', () => resolve(got))),
    write: (s) => sock.write(s),
  };
}

describe('dispatch HTTP hardening', () => {
  it('a body that trickles in is cut off with 408 after the request timeout; requests that arrive in time are served meanwhile', async () => {
    const app = build({ requestTimeoutMs: 500 });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as AddressInfo).port;
    const t0 = Date.now();
    const slow = rawRequest(port, 'POST /api/conversations/read HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer alice\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{');
    const trickle = setInterval(() => slow.write(' '), 100);
    try {
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(ok.status).toBe(200);
      const answer = await slow.closed;
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
      expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toEqual({ error: 'request_timeout', message: 'the request did not arrive in time' });
      // Node checks every min(2 s, timeout): cut off within the timeout plus one check, with slack for a busy machine.
      expect(Date.now() - t0).toBeLessThan(500 + 500 + 5_000);
    } finally {
      clearInterval(trickle);
    }
  });

  it('headers that never end are cut off too', async () => {
    const app = build({ requestTimeoutMs: 500 });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as AddressInfo).port;
    const slow = rawRequest(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n');
    const trickle = setInterval(() => slow.write('X-Slow: 1\r\n'), 100);
    try {
      expect(await slow.closed).toMatch(/^HTTP\/1\.1 408 [^]*"error":"request_timeout"/);
    } finally {
      clearInterval(trickle);
    }
    // Keep-alive as before the server had these timeouts (Fastify's default): longer than a load balancer's 60 s.
    expect(app.server.keepAliveTimeout).toBe(72_000);
  });

  it('a malformed request line or oversized headers get JSON answers too (400, 431)', async () => {
    const app = build();
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as AddressInfo).port;
    expect(await rawRequest(port, 'NOT HTTP AT ALL\r\n\r\n').closed).toMatch(/^HTTP\/1\.1 400 [^]*\{"error":"bad_request","message":"malformed HTTP request"\}$/);
    expect(await rawRequest(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'y'.repeat(20_000)}\r\n\r\n`).closed).toMatch(
      /^HTTP\/1\.1 431 [^]*"error":"headers_too_large"/,
    );
  });

  it('client errors say so: bad JSON, an empty JSON body, prototype poisoning 400 bad_request; too large 413; wrong type 415; unknown routes 404 not_found, all JSON', async () => {
    const app = build();
    const read = (payload: string, contentType = 'application/json') =>
      app.inject({ method: 'POST', url: '/api/conversations/read', headers: { authorization: 'Bearer alice', 'content-type': contentType }, payload });
    const cases: Array<[Awaited<ReturnType<typeof read>>, number, string]> = [
      [await read('{"peer":"bob",'), 400, 'bad_request'],
      [await read(''), 400, 'bad_request'],
      [await read('{"peer":"bob","seq":1,"__proto__":{"x":1}}'), 400, 'bad_request'],
      [await read(JSON.stringify({ peer: 'bob', seq: 1, pad: 'x'.repeat(50_000) })), 413, 'payload_too_large'],
      [await read('peer=bob&seq=1', 'application/x-www-form-urlencoded'), 415, 'unsupported_media_type'],
      [await app.inject({ method: 'DELETE', url: '/api/history?peer=bob' }), 404, 'not_found'],
      [await app.inject({ method: 'GET', url: '/no/such/route' }), 404, 'not_found'],
    ];
    for (const [res, status, error] of cases) {
      expect(res.statusCode, res.body).toBe(status);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      const body = res.json() as { error: string; message: string };
      expect(body.error, res.body).toBe(error);
      expect(typeof body.message).toBe('string');
      expect(body.message.length).toBeGreaterThan(0);
    }
    expect((await app.inject({ method: 'GET', url: `/${'x'.repeat(5_000)}` })).json().message.length).toBeLessThan(300);
  });

  it('a server fault stays internal', async () => {
    const failing = new MemoryHistoryStore();
    failing.before = async () => {
      throw new Error('disk on fire');
    };
    const app = build({ history: failing });
    const res = await app.inject({ method: 'GET', url: '/api/history?peer=bob', headers: { authorization: 'Bearer alice' } });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: 'internal', message: 'disk on fire' });
  });
});
