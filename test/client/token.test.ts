import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientErrorCode, type TokenContext } from '@switchboard/client';
import { waitFor } from '@switchboard/core';
import { startNode } from '@switchboard/testkit';
import { mintToken } from '../../packages/cli/src/token.js';
import { chatSession } from './chat-session.js';
import { Standalone } from './standalone.js';
import { ofType, Users } from './users.js';

// Tokens against the real standalone with IM_AUTH=jwt: the SDK's getToken refreshing a JWT that
// expired while the client was online, `switchboard token` minting one the gateway accepts, and
// the terminal chat explaining a refused login and showing the server's pushes.

const SECRET = 'token-test-secret-0123456789';
let server: Standalone;
const users = new Users(() => ({ dispatchUrl: server.dispatchUrl, reconnect: { initialDelayMs: 100, maxDelayMs: 1_000 } }));

beforeAll(async () => {
  server = await Standalone.start({ IM_AUTH: 'jwt', IM_JWT_SECRET: SECRET });
});
afterAll(async () => {
  await users.closeAll();
  await server?.stop();
});

/** Run `switchboard <args>` to its end; its stdout lines. */
async function cli(args: string[], env: Record<string, string | undefined>) {
  const p = startNode({ args, env, name: `switchboard ${args[0]}` });
  const { code } = await p.waitForExit(20_000);
  const lines = p.output().split('\n');
  const stdout = lines.filter((l) => l.startsWith('[stdout] ')).map((l) => l.slice(9));
  const stderr = lines.filter((l) => l.startsWith('[stderr] ')).map((l) => l.slice(9));
  return { code, stdout, stderr };
}

const chat = (uid: string, token: string | null) => chatSession({ uid, token, peer: null, dispatchUrl: server.dispatchUrl });

describe('login tokens against the standalone (IM_AUTH=jwt)', () => {
  it('getToken - a JWT that expired while online is refused at reconnect (1025); the client asks getToken to refresh and is back online; a fixed token stays rejected', async () => {
    const calls: TokenContext[] = [];
    let cached: string | null = null;
    // An app's token cache: hands out the token it has until told to refresh (the first one lives 3 s).
    const getToken = async (ctx: TokenContext): Promise<string> => {
      calls.push(ctx);
      if (cached === null || ctx.reason === 'refresh') cached = await mintToken({ uid: ctx.uid, secret: SECRET, ttlS: cached === null ? 3 : 300 });
      return cached;
    };
    const alice = users.add('tok-alice', { getToken });
    const fixed = users.add('tok-fixed', { token: await mintToken({ uid: 'tok-fixed', secret: SECRET, ttlS: 3 }) });
    await Promise.all([alice.c.connect(), fixed.c.connect()]);
    const firstLogin = alice.c.firstLoginTime;
    await alice.c.send('tok-fixed', 'before the restart');
    const first = cached;
    await new Promise((r) => setTimeout(r, 3_200)); // both tokens expire while online
    await server.kill();
    await server.startAgain();

    await waitFor(() => alice.c.state === 'online' && ofType(alice.events, 'login').length === 2, { timeoutMs: 20_000, what: 'alice back online' });
    expect(calls).toEqual([
      { uid: 'tok-alice', reason: 'connect' },
      { uid: 'tok-alice', reason: 'reconnect' },
      { uid: 'tok-alice', reason: 'refresh' },
    ]);
    expect(cached).not.toBe(first);
    expect(ofType(alice.events, 'reconnect').some((e) => e.error?.serverCode === 1025)).toBe(true);
    expect(ofType(alice.events, 'login').at(-1)).toMatchObject({ relogin: true, firstLoginTime: firstLogin });
    // The user API takes the current (refreshed) token: accepted without asking getToken again.
    await alice.c.send('tok-fixed', 'after the refresh');
    expect((await alice.c.history('tok-fixed')).map((m) => m.content)).toEqual(['after the refresh']); // the standalone restarted empty
    expect(calls).toHaveLength(3);

    await waitFor(() => fixed.c.state === 'rejected', { timeoutMs: 20_000, what: 'the fixed-token client rejected' });
    const err = ofType(fixed.events, 'state').at(-1)!;
    expect(err.reason).toBe('login refused (1025)');
    await expect(fixed.c.send('tok-alice', 'x')).rejects.toMatchObject({ code: ClientErrorCode.LOGIN_REJECTED, serverCode: 1025 });
  });

  it('switchboard token - mints a token the gateway accepts; without IM_JWT_SECRET it exits 2 with one line', async () => {
    const [minted, unset] = await Promise.all([
      cli(['token', '--uid', 'tok-carol', '--ttl', '5m'], { IM_JWT_SECRET: SECRET }),
      cli(['token', '--uid', 'tok-carol'], { IM_JWT_SECRET: undefined }),
    ]);
    expect(minted.code).toBe(0);
    expect(minted.stdout.filter((l) => l !== '')).toHaveLength(1);
    expect(unset.code).toBe(2);
    expect(unset.stdout.filter((l) => l !== '')).toEqual([]);
    expect(unset.stderr.filter((l) => l !== '')).toEqual([
      'switchboard token: IM_JWT_SECRET is not set: export the secret the gateways check tokens with (IM_AUTH=jwt) and run again',
    ]);
    const carol = users.add('tok-carol', { token: minted.stdout[0]! });
    await carol.c.connect();
    expect(carol.c.state).toBe('online');
  });

  it('chat - a refused login is explained in words (exit 2); with a minted token it logs in and shows server pushes as from "server"', async () => {
    const refused = chat('tok-dave', 'not-a-jwt');
    await expect(refused.exit).resolves.toBe(2);
    expect(refused.lines.some((l) => l.includes('* login refused (1025 AUTH_FAILED: the token is missing, invalid or expired, or the auth service refused it). Start again with a valid token'))).toBe(true);

    const t = chat('tok-dave', await mintToken({ uid: 'tok-dave', secret: SECRET, ttlS: 300 }));
    await t.waitLine(/\* online on \S+ as tok-dave/, 10_000);
    const res = await fetch(`${server.dispatchUrl}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ to: 'tok-dave', dataContent: 'maintenance at 22:00' }),
    });
    expect(res.status).toBe(202);
    await t.waitLine(/← server: maintenance at 22:00$/);
    t.input.write('/to 0\n');
    t.input.write('/history 5\n');
    await t.waitLine(/seq 1 ← server: maintenance at 22:00$/);
    t.input.write('/quit\n');
    await expect(t.exit).resolves.toBe(0);
  });

  it('chat - without --dispatch it asks dispatch on IM_DISPATCH_PORT', async () => {
    const token = await mintToken({ uid: 'tok-erin', secret: SECRET, ttlS: 300 });
    const r = await cli(['chat', '--uid', 'tok-erin', '--token', token], { IM_DISPATCH_PORT: String(server.ports.dispatch) });
    expect(r.stdout.some((l) => l.endsWith(`* connecting to http://127.0.0.1:${server.ports.dispatch} …`)), r.stdout.join('\n')).toBe(true);
    expect(r.code).toBe(0); // stdin is empty: it leaves at once
  });
});
