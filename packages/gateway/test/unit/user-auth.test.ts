import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SignJWT, UnsecuredJWT } from 'jose';
import { createUserAuthenticator } from '../../src/index.js';
import { cleanup, onCleanup, testLogger } from '../fixtures.js';

afterEach(cleanup);

const SECRET = 'a-test-secret-of-32-characters!!';
const remote = 'http 127.0.0.1';

async function jwt(sub: string, opts: { secret?: string; expiresAt?: number; noExp?: boolean } = {}): Promise<string> {
  let b = new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt();
  if (!opts.noExp) b = b.setExpirationTime(opts.expiresAt ?? Math.floor(Date.now() / 1000) + 600);
  return b.sign(new TextEncoder().encode(opts.secret ?? SECRET));
}

/** A local auth webhook: `answer` decides each call; `hold` (when set) delays answers until released. */
async function webhook(answer: (b: { userId: string; token: string }) => { status?: number; body: string }) {
  const calls: Array<{ userId: string; token: string; extra: unknown }> = [];
  let hold: Promise<void> | null = null;
  const server: Server = createServer(async (req, res) => {
    let raw = '';
    for await (const chunk of req) raw += String(chunk);
    const body = JSON.parse(raw) as { userId: string; token: string; extra: unknown };
    calls.push(body);
    if (hold) await hold;
    const a = answer(body);
    res.writeHead(a.status ?? 200, { 'content-type': 'application/json' }).end(a.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  onCleanup(() => new Promise<void>((r) => server.close(() => r())));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/auth`,
    calls,
    /** Hold answers until the returned function is called. */
    holdAnswers(): () => void {
      let release!: () => void;
      hold = new Promise<void>((r) => (release = r));
      return () => {
        hold = null;
        release();
      };
    },
  };
}

describe('createUserAuthenticator', () => {
  it('none - the token is the user id; the header, when sent, must match; reserved and long ids are refused', async () => {
    const auth = createUserAuthenticator({ mode: 'none', log: testLogger() });
    expect(await auth({ token: 'alice', user: null, remote })).toEqual({ ok: true, user: 'alice' });
    expect(await auth({ token: 'alice', user: 'alice', remote })).toEqual({ ok: true, user: 'alice' });
    for (const c of [
      { token: null, user: null },
      { token: '', user: null },
      { token: 'alice', user: 'bob' },
      { token: '0', user: null },
      { token: '-1', user: null },
      { token: 'x'.repeat(129), user: null },
    ]) {
      expect(await auth({ ...c, remote })).toMatchObject({ ok: false, status: 401 });
    }
  });

  it('jwt - the user is the verified sub; expired, foreign-signed, unsigned (alg none), sub-less and mismatched tokens are 401', async () => {
    const auth = createUserAuthenticator({ mode: 'jwt', jwtSecret: SECRET, log: testLogger() });
    expect(await auth({ token: await jwt('alice'), user: null, remote })).toEqual({ ok: true, user: 'alice' });
    expect(await auth({ token: await jwt('alice'), user: 'alice', remote })).toEqual({ ok: true, user: 'alice' });
    const unsigned = new UnsecuredJWT({}).setSubject('alice').setExpirationTime('10m').encode();
    for (const token of [
      await jwt('alice', { expiresAt: Math.floor(Date.now() / 1000) - 120 }),
      await jwt('alice', { secret: 'another-secret-of-32-characters!' }),
      await jwt('alice', { noExp: true }),
      await jwt('0'),
      unsigned,
      'not-a-jwt',
      await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('10m').sign(new TextEncoder().encode(SECRET)),
    ]) {
      expect(await auth({ token, user: null, remote })).toMatchObject({ ok: false, status: 401 });
    }
    expect(await auth({ token: await jwt('alice'), user: 'bob', remote })).toMatchObject({ ok: false, status: 401 });
    expect(() => createUserAuthenticator({ mode: 'jwt', log: testLogger() })).toThrow(/secret/);
  });

  it('http - asks the webhook with {userId, token, extra: null}; needs X-Switchboard-User; another code is 401, an unreachable hook 503', async () => {
    const hook = await webhook((b) => ({ body: JSON.stringify({ code: b.token === `good-${b.userId}` ? 0 : 4001 }) }));
    const auth = createUserAuthenticator({ mode: 'http', httpUrl: hook.url, log: testLogger() });
    expect(await auth({ token: 'good-alice', user: 'alice', remote })).toEqual({ ok: true, user: 'alice' });
    expect(hook.calls).toEqual([{ userId: 'alice', token: 'good-alice', extra: null }]);
    expect(await auth({ token: 'good-alice', user: null, remote })).toMatchObject({ ok: false, status: 401 });
    expect(await auth({ token: 'good-alice', user: 'bob', remote })).toMatchObject({ ok: false, status: 401 });
    expect(await auth({ token: null, user: 'alice', remote })).toMatchObject({ ok: false, status: 401 });
    const down = await webhook(() => ({ status: 500, body: '{}' }));
    const authDown = createUserAuthenticator({ mode: 'http', httpUrl: down.url, log: testLogger() });
    expect(await authDown({ token: 't', user: 'alice', remote })).toMatchObject({ ok: false, status: 503 });
  });

  it('group prefix - a user id that is a group\'s address is refused in every mode, as at login; without a prefix it is a user like any other', async () => {
    const none = createUserAuthenticator({ mode: 'none', log: testLogger(), groupPrefix: 'g:' });
    expect(await none({ token: 'g:team', user: null, remote })).toMatchObject({ ok: false, status: 401, message: expect.stringContaining('group') });
    expect(await none({ token: 'gteam', user: null, remote })).toEqual({ ok: true, user: 'gteam' });
    const jwtAuth = createUserAuthenticator({ mode: 'jwt', jwtSecret: SECRET, log: testLogger(), groupPrefix: 'g:' });
    expect(await jwtAuth({ token: await jwt('g:team'), user: null, remote })).toMatchObject({ ok: false, status: 401 });
    const hook = await webhook(() => ({ body: JSON.stringify({ code: 0 }) }));
    const http = createUserAuthenticator({ mode: 'http', httpUrl: hook.url, log: testLogger(), groupPrefix: 'g:' });
    expect(await http({ token: 't', user: 'g:team', remote })).toMatchObject({ ok: false, status: 401 });
    expect(hook.calls).toEqual([]);
    expect(await createUserAuthenticator({ mode: 'none', log: testLogger() })({ token: 'g:team', user: null, remote })).toEqual({ ok: true, user: 'g:team' });
  });

  it('http - a positive answer is reused for at most 30 s per (user, token); refusals are never cached', async () => {
    let t = 1_000_000;
    let accept = true;
    const hook = await webhook(() => ({ body: JSON.stringify({ code: accept ? 0 : 4001 }) }));
    const auth = createUserAuthenticator({ mode: 'http', httpUrl: hook.url, log: testLogger(), cacheMs: 60_000, now: () => t });
    expect((await auth({ token: 'tok', user: 'alice', remote })).ok).toBe(true);
    accept = false;
    t += 29_999;
    expect((await auth({ token: 'tok', user: 'alice', remote })).ok).toBe(true);
    expect(hook.calls).toHaveLength(1);
    // Another token, or the same token for another user, asks again.
    expect((await auth({ token: 'tok2', user: 'alice', remote })).ok).toBe(false);
    expect((await auth({ token: 'tok', user: 'bob', remote })).ok).toBe(false);
    expect((await auth({ token: 'tok', user: 'bob', remote })).ok).toBe(false);
    expect(hook.calls).toHaveLength(4);
    // cacheMs above 30 s is cut to 30 s.
    t += 1;
    expect((await auth({ token: 'tok', user: 'alice', remote })).ok).toBe(false);
    expect(hook.calls).toHaveLength(5);
  });

  it('http - the cache is bounded; concurrent identical checks share one call; at most maxPending calls at once', async () => {
    const hook = await webhook(() => ({ body: '{"code":0}' }));
    const auth = createUserAuthenticator({ mode: 'http', httpUrl: hook.url, log: testLogger(), cacheSize: 2, maxPending: 2 });
    for (const u of ['a', 'b', 'c']) await auth({ token: 't', user: u, remote });
    await auth({ token: 't', user: 'c', remote }); // cached
    await auth({ token: 't', user: 'a', remote }); // evicted: asked again
    expect(hook.calls.map((c) => c.userId)).toEqual(['a', 'b', 'c', 'a']);

    const release = hook.holdAnswers();
    const same = [auth({ token: 'x', user: 'u1', remote }), auth({ token: 'x', user: 'u1', remote }), auth({ token: 'y', user: 'u2', remote })];
    const over = await auth({ token: 'z', user: 'u3', remote });
    expect(over).toMatchObject({ ok: false, status: 503 });
    release();
    expect((await Promise.all(same)).map((r) => r.ok)).toEqual([true, true, true]);
    expect(hook.calls.slice(4).map((c) => c.userId).sort()).toEqual(['u1', 'u2']);
    expect(hook.calls).toHaveLength(6);
  });
});
