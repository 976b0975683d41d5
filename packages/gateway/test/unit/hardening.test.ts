// Smaller hardening points: no TCP frame over the client's body limit (the echo of a 6,144-byte
// body, the 301 echo of a large packet), /metrics behind a token while one is set, and login
// codes a client can read whatever the auth webhook or hook answers.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '@switchboard/core';
import { ErrorCode, PacketType, createPacket, dataPacket, encodePacket } from '@switchboard/protocol';
import { buildGatewayAdmin, createGateway, createLoginVerifier, type Gateway } from '../../src/index.js';
import { cleanup, onCleanup, quietWindow, startGateway, testLogger, uid } from '../fixtures.js';

afterEach(cleanup);

function echoOfSize(bytes: number): string {
  const base = encodePacket(createPacket({ type: PacketType.ECHO, dataContent: '', from: 'x', to: '0' }));
  const text = encodePacket(createPacket({ type: PacketType.ECHO, dataContent: 'a'.repeat(bytes - base.length), from: 'x', to: '0' }));
  expect(Buffer.byteLength(text)).toBe(bytes);
  return text;
}

describe('TCP frames never exceed the body limit (6,144 bytes)', () => {
  it('echo - a 6,144-byte echo gets error 1031 instead of a 6,213-byte reply; a smaller one is echoed; the connection stays', async () => {
    const f = await startGateway();
    const c = await f.connect('tcp');
    await c.sendRaw(echoOfSize(6_144));
    const e = await c.waitForPacket(PacketType.ERROR);
    expect(e).toBeDefined();
    expect(c.errors).toEqual([{ errorCode: ErrorCode.MESSAGE_TOO_LARGE, errorMsg: 'echo reply too large for this transport' }]);
    await c.sendRaw(echoOfSize(5_000));
    const r = await c.waitForPacket(PacketType.ECHO_RESPONSE);
    expect(r.dataContent!.length).toBeGreaterThan(4_900);
    expect(c.closed).toBe(false);
    for (const frame of c.frames) expect(Buffer.byteLength(frame)).toBeLessThanOrEqual(6_144);
    // Over WebSocket there is no such limit: the same echo comes back.
    const w = await f.connect('ws');
    await w.sendRaw(echoOfSize(6_144));
    await w.waitForPacket(PacketType.ECHO_RESPONSE);
  });

  it('301 - the echo of a 6,144-byte packet sent before login is cut to fit the frame; the code survives', async () => {
    const f = await startGateway();
    const c = await f.connect('tcp');
    const base = encodePacket(dataPacket({ from: 'x', to: 'y', dataContent: '', fp: 'f', QoS: true }));
    const rem = 6_144 - Buffer.byteLength(base);
    const content = '"'.repeat(Math.floor(rem / 2)) + 'z'.repeat(rem % 2); // each quote is 2 bytes on the wire, 3 in a 301's errorMsg
    const big = encodePacket(dataPacket({ from: 'x', to: 'y', dataContent: content, fp: 'f', QoS: true }));
    expect(Buffer.byteLength(big)).toBe(6_144);
    await c.sendRaw(big);
    await c.waitForPacket(PacketType.ERROR);
    expect(c.errors[0]?.errorCode).toBe(ErrorCode.UNLOGIN);
    expect(big.startsWith(c.errors[0]!.errorMsg!)).toBe(true);
    for (const frame of c.frames) expect(Buffer.byteLength(frame)).toBeLessThanOrEqual(6_144);
  });
});

describe('/metrics access', () => {
  let gw: Gateway | undefined;
  afterEach(async () => {
    await gw?.close();
    gw = undefined;
  });

  async function admin(opts: { adminToken?: string; metricsToken?: string }) {
    const log = silentLogger();
    gw = createGateway({ log, wsPort: 0, tcpPort: 0 });
    await gw.start();
    const app = buildGatewayAdmin(gw, { log, ...opts });
    await app.ready();
    onCleanup(() => app.close());
    return async (remoteAddress: string, token?: string) =>
      (await app.inject({ url: '/metrics', remoteAddress, ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}) })).statusCode;
  }

  it('IM_ADMIN_TOKEN set - from another host /metrics needs it (401 without); loopback (a scraper on the same host) needs nothing', async () => {
    const get = await admin({ adminToken: 'admin-token-0123456789' });
    expect(await get('203.0.113.9')).toBe(401);
    expect(await get('203.0.113.9', 'wrong')).toBe(401);
    expect(await get('203.0.113.9', 'admin-token-0123456789')).toBe(200);
    expect(await get('127.0.0.1')).toBe(200);
  });

  it('IM_METRICS_TOKEN set - required from everyone, loopback included; the admin token works too', async () => {
    const get = await admin({ adminToken: 'admin-token-0123456789', metricsToken: 'metrics-token-0123456789' });
    expect(await get('127.0.0.1')).toBe(401);
    expect(await get('203.0.113.9', 'metrics-token-0123456789')).toBe(200);
    expect(await get('127.0.0.1', 'metrics-token-0123456789')).toBe(200);
    expect(await get('203.0.113.9', 'admin-token-0123456789')).toBe(200);
  });

  it('no token set - loopback only, like the admin routes', async () => {
    const get = await admin({});
    expect(await get('127.0.0.1')).toBe(200);
    expect(await get('::1')).toBe(200);
    expect(await get('203.0.113.9')).toBe(403);
  });
});

describe('login codes from the application', () => {
  async function webhook(code: unknown): Promise<string> {
    const server: Server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ code })));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    onCleanup(() => new Promise<void>((r) => server.close(() => r())));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/auth`;
  }

  it.each([
    [-5, 1025],
    [1, 1025],
    [301, 1025],
    [1024, 1025],
    [2 ** 31, 1025],
    [1025, 1025],
    [1030, 1030],
    [4001, 4001],
  ])('the webhook answers %i - the client gets %i', async (answer, expected) => {
    const f = await startGateway({ verifyLogin: createLoginVerifier({ mode: 'http', httpUrl: await webhook(answer), log: testLogger() }) });
    const c = await f.connect('tcp');
    expect(await c.login(uid('u'), { token: 't' })).toEqual({ code: expected, firstLoginTime: -1 });
  });

  it('a verifyLogin hook answering garbage - the client gets 1025, never the garbage', async () => {
    const answers: unknown[] = [-5, 0.5, Number.NaN, '0'];
    const f = await startGateway({ hooks: { verifyLogin: () => answers.shift() as number } });
    for (let i = 0; i < 4; i++) {
      const c = await f.connect('ws');
      expect((await c.login(uid('h'))).code).toBe(ErrorCode.AUTH_FAILED);
    }
    await quietWindow(10);
  });
});
