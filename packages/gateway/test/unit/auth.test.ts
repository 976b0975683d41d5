import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { ErrorCode, PacketType } from '@switchboard/protocol';
import { createLoginVerifier } from '../../src/index.js';
import { cleanup, onCleanup, startGateway, testLogger, uid, type Transport } from '../fixtures.js';

afterEach(cleanup);

const SECRET = 'a-test-secret-of-32-characters!!';

async function jwt(sub: string, opts: { secret?: string; expiresAt?: number; noExp?: boolean } = {}): Promise<string> {
  let b = new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt();
  if (!opts.noExp) b = b.setExpirationTime(opts.expiresAt ?? Math.floor(Date.now() / 1000) + 600);
  return b.sign(new TextEncoder().encode(opts.secret ?? SECRET));
}

async function jwtGateway() {
  return startGateway({ verifyLogin: createLoginVerifier({ mode: 'jwt', jwtSecret: SECRET, log: testLogger() }) });
}

/** Log in on a fresh connection and expect a failure response with `code`, then the close. */
async function expectRejected(
  f: Awaited<ReturnType<typeof startGateway>>,
  transport: Transport,
  user: string,
  token: string | null,
  code: number,
  opts: { userElsewhere?: boolean } = {},
) {
  const c = await f.connect(transport);
  const res = await c.login(user, { token });
  expect(res).toEqual({ code, firstLoginTime: -1 });
  const resp = c.packets.find((p) => p.type === PacketType.LOGIN_RESPONSE)!;
  expect(resp).toMatchObject({ from: '0', to: '-1' });
  await c.waitForClose();
  if (!opts.userElsewhere) {
    expect(f.gw.hasUser(user)).toBe(false);
    expect(await f.routes.lookup(user as never)).toBeNull();
  }
}

describe.each(['ws', 'tcp'] as const)('Gateway login verification over %s', (transport) => {
  it('none - accepts any login, with or without a token', async () => {
    const f = await startGateway();
    const a = await f.connect(transport);
    expect((await a.login(uid('anon'))).code).toBe(0);
    const b = await f.connect(transport);
    expect((await b.login(uid('anon'), { token: 'garbage' })).code).toBe(0);
  });

  it('jwt - a valid token with sub = loginUserId logs in', async () => {
    const f = await jwtGateway();
    const me = uid('jwt-ok');
    const c = await f.connect(transport);
    const res = await c.login(me, { token: await jwt(me) });
    expect(res.code).toBe(0);
    expect(res.firstLoginTime).toBeGreaterThan(0);
    await c.keepAlive();
  });

  it('jwt - wrong sub is rejected with 1025 and closed', async () => {
    const f = await jwtGateway();
    await expectRejected(f, transport, uid('jwt-sub'), await jwt('somebody-else'), ErrorCode.AUTH_FAILED);
  });

  it('jwt - an expired token is rejected with 1025 and closed', async () => {
    const f = await jwtGateway();
    const me = uid('jwt-exp');
    await expectRejected(f, transport, me, await jwt(me, { expiresAt: Math.floor(Date.now() / 1000) - 120 }), ErrorCode.AUTH_FAILED);
  });

  it('jwt - a bad signature is rejected with 1025 and closed', async () => {
    const f = await jwtGateway();
    const me = uid('jwt-sig');
    await expectRejected(f, transport, me, await jwt(me, { secret: 'another-secret-of-32-characters!' }), ErrorCode.AUTH_FAILED);
  });

  it('jwt - a missing token, a non-JWT token and a token without exp are rejected with 1025', async () => {
    const f = await jwtGateway();
    const me = uid('jwt-misc');
    await expectRejected(f, transport, me, null, ErrorCode.AUTH_FAILED);
    await expectRejected(f, transport, me, 'not-a-jwt', ErrorCode.AUTH_FAILED);
    await expectRejected(f, transport, me, await jwt(me, { noExp: true }), ErrorCode.AUTH_FAILED);
  });

  it('jwt - a rejected login does not disturb the logged-in user it impersonates', async () => {
    const f = await jwtGateway();
    const me = uid('jwt-victim');
    const real = await f.login(me, transport, { login: { token: await jwt(me) } });
    const routeBefore = await f.routes.lookup(me as never);
    await expectRejected(f, transport, me, await jwt(me, { secret: 'another-secret-of-32-characters!' }), ErrorCode.AUTH_FAILED, {
      userElsewhere: true,
    });
    expect(await f.routes.lookup(me as never)).toEqual(routeBefore);
    expect(real.kickouts).toHaveLength(0);
    await real.keepAlive();
    expect(f.gw.hasUser(me)).toBe(true);
  });
});

describe('Gateway login verification - http webhook', () => {
  interface Call {
    body: { userId: string; token: string | null; extra: string | null };
    contentType: string | undefined;
  }

  async function webhook(answer: (body: Call['body']) => { status?: number; body: string }): Promise<{ url: string; calls: Call[] }> {
    const calls: Call[] = [];
    const server: Server = createServer(async (req: IncomingMessage, res) => {
      let raw = '';
      for await (const chunk of req) raw += String(chunk);
      const body = JSON.parse(raw) as Call['body'];
      calls.push({ body, contentType: req.headers['content-type'] });
      const a = answer(body);
      res.writeHead(a.status ?? 200, { 'content-type': 'application/json' }).end(a.body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    onCleanup(() => new Promise<void>((r) => server.close(() => r())));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/auth`, calls };
  }

  function httpGateway(url: string) {
    return startGateway({ verifyLogin: createLoginVerifier({ mode: 'http', httpUrl: url, httpTimeoutMs: 1_000, log: testLogger() }) });
  }

  it.each(['ws', 'tcp'] as const)('{code:0} accepts over %s; the hook gets userId, token and extra', async (transport) => {
    const hook = await webhook((b) => ({ body: JSON.stringify({ code: b.token === 'good' ? 0 : 4001 }) }));
    const f = await httpGateway(hook.url);
    const me = uid('http-ok');
    const c = await f.connect(transport);
    expect((await c.login(me, { token: 'good', extra: 'device-7' })).code).toBe(0);
    expect(hook.calls).toEqual([{ body: { userId: me, token: 'good', extra: 'device-7' }, contentType: 'application/json' }]);
  });

  it.each(['ws', 'tcp'] as const)('another code is returned to the client over %s, then close', async (transport) => {
    const hook = await webhook(() => ({ body: JSON.stringify({ code: 4001, message: 'banned' }) }));
    const f = await httpGateway(hook.url);
    await expectRejected(f, transport, uid('http-no'), 'tok', 4001);
    expect(hook.calls).toHaveLength(1);
  });

  it('unreachable webhook - 1033, then close', async () => {
    // A port that was just free: nothing listens there.
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    const f = await httpGateway(`http://127.0.0.1:${port}/auth`);
    await expectRejected(f, 'ws', uid('http-down'), 'tok', ErrorCode.AUTH_UNAVAILABLE);
    await expectRejected(f, 'tcp', uid('http-down'), 'tok', ErrorCode.AUTH_UNAVAILABLE);
  });

  it('an HTTP error or an answer without an integer code - 1033', async () => {
    const hook500 = await webhook(() => ({ status: 500, body: '{"code":0}' }));
    await expectRejected(await httpGateway(hook500.url), 'ws', uid('http-500'), 'tok', ErrorCode.AUTH_UNAVAILABLE);
    const hookBad = await webhook(() => ({ body: '{"code":"0"}' }));
    await expectRejected(await httpGateway(hookBad.url), 'ws', uid('http-bad'), 'tok', ErrorCode.AUTH_UNAVAILABLE);
    const hookJunk = await webhook(() => ({ body: 'not json' }));
    await expectRejected(await httpGateway(hookJunk.url), 'tcp', uid('http-junk'), 'tok', ErrorCode.AUTH_UNAVAILABLE);
  });
});
