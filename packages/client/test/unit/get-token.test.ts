import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '@switchboard/protocol';
import { ClientError, ClientErrorCode, type TokenContext, type TokenReason } from '../../src/index.js';
import { FakeDispatch, FakeGateway } from './fake-gateway.js';
import { FakeUserApi } from './fake-user-api.js';
import { client, closeAllAndStop, ofType, sleep, stops, until } from './helpers.js';

// getToken: asked before each login (connect, reconnect), and for a new token after a 1025 or a 401.

afterEach(closeAllAndStop);

/** A gateway that accepts only the tokens in `valid`, behind a dispatch serving a user API that does the same. */
async function setup() {
  const valid = new Set<string>();
  const g = await FakeGateway.start();
  g.loginCodeFor = (info) => (info.loginToken !== null && valid.has(info.loginToken) ? 0 : ErrorCode.AUTH_FAILED);
  const d = await FakeDispatch.start(g);
  stops.push(g, d);
  const api = new FakeUserApi('alice');
  api.acceptToken = (t) => valid.has(t);
  d.other = api.handler;
  return { g, d, api, valid };
}

/** A token source like an app's: mints `t1`, `t2` … and keeps the last one until asked to refresh (or always mints with `fresh`). */
function tokenSource(valid: Set<string>, opts: { fresh?: boolean } = {}) {
  const calls: TokenContext[] = [];
  let n = 0;
  let cached: string | null = null;
  const getToken = async (ctx: TokenContext): Promise<string> => {
    calls.push(ctx);
    if (cached === null || ctx.reason === 'refresh' || opts.fresh) {
      cached = `t${++n}`;
      valid.add(cached);
    }
    return cached;
  };
  return { getToken, calls, reasons: (): TokenReason[] => calls.map((c) => c.reason) };
}

describe('getToken', () => {
  it('is called before each login: connect, then reconnect after a link loss; the login carries its token; attempts that reach no gateway do not call it', async () => {
    const { g, d, valid } = await setup();
    const src = tokenSource(valid, { fresh: true });
    const { c, events } = client({ uid: 'alice', getToken: src.getToken, dispatchUrl: d.url });
    await c.connect();
    expect(src.calls).toEqual([{ uid: 'alice', reason: 'connect' }]);
    expect(g.logins[0]!.loginToken).toBe('t1');
    g.live[0]!.terminate();
    await until(() => g.logins.length === 2 && c.state === 'online', 're-login');
    expect(src.reasons()).toEqual(['connect', 'reconnect']);
    expect(g.logins[1]!.loginToken).toBe('t2');
    // No gateway for a while (dispatch has none): the failed attempts ask for no token; the next login does.
    d.target = null;
    g.live[0]!.terminate();
    await until(() => ofType(events, 'reconnect').filter((e) => e.error?.code === ClientErrorCode.DISPATCH_FAILED).length >= 3, 'failed attempts');
    expect(src.reasons()).toEqual(['connect', 'reconnect']);
    d.target = g;
    await until(() => g.logins.length === 3 && c.state === 'online', 'online again');
    expect(src.reasons()).toEqual(['connect', 'reconnect', 'reconnect']);
    expect(g.logins[2]!.loginToken).toBe('t3');
  });

  it('an expired token at reconnect (1025): asks again with reason refresh and logs in with the new token', async () => {
    const { g, valid } = await setup();
    const src = tokenSource(valid);
    const { c, events } = client({ uid: 'alice', getToken: src.getToken, server: { ws: g.wsUrl } });
    await c.connect();
    valid.delete('t1'); // t1 expires while online
    g.live[0]!.terminate();
    await until(() => g.logins.length === 3 && c.state === 'online', 'online with a refreshed token');
    expect(src.reasons()).toEqual(['connect', 'reconnect', 'refresh']);
    expect(g.logins.map((l) => l.loginToken)).toEqual(['t1', 't1', 't2']);
    const refused = ofType(events, 'reconnect').find((e) => e.error?.serverCode === 1025);
    expect(refused?.error?.message).toMatch(/login refused with code 1025 \(token refused\); retrying with a new token from getToken/);
    expect(ofType(events, 'state').map((e) => e.state)).not.toContain('rejected');
    // A later expiry is refreshed again: the one-retry budget starts over after each login.
    valid.delete('t2');
    g.live.at(-1)!.terminate();
    await until(() => g.logins.length === 5 && c.state === 'online', 'online again');
    expect(g.logins.at(-1)!.loginToken).toBe('t3');
  });

  it('bounded: a refreshed token refused too ends in the terminal rejected state, as without getToken', async () => {
    const { g } = await setup(); // accepts nothing
    const reasons: string[] = [];
    const { c } = client({ uid: 'alice', getToken: ({ reason }) => (reasons.push(reason), `bad-${reasons.length}`), server: { ws: g.wsUrl } });
    const err = (await c.connect().catch((e: unknown) => e)) as ClientError;
    expect(err.code).toBe(ClientErrorCode.LOGIN_REJECTED);
    expect(err.serverCode).toBe(1025);
    expect(c.state).toBe('rejected');
    expect(reasons).toEqual(['connect', 'refresh']);
    await sleep(150);
    expect(g.logins.map((l) => l.loginToken)).toEqual(['bad-1', 'bad-2']);
  });

  it('a throwing getToken is a TOKEN_FAILED error event and a retry with backoff, not a crash; so are a non-string answer and no answer in time', async () => {
    const { g, valid } = await setup();
    valid.add('good');
    const answers: Array<() => unknown> = [
      () => {
        throw new Error('auth server down');
      },
      () => 42,
      () => new Promise(() => {}), // never answers
      () => 'good',
    ];
    const { c, events } = client({ uid: 'alice', getToken: (() => answers.shift()!()) as never, tokenTimeoutMs: 100, server: { ws: g.wsUrl } });
    await c.connect();
    const errors = ofType(events, 'error').map((e) => e.error);
    expect(errors.map((e) => e.code)).toEqual([ClientErrorCode.TOKEN_FAILED, ClientErrorCode.TOKEN_FAILED, ClientErrorCode.TOKEN_FAILED]);
    expect(errors.map((e) => e.message)).toEqual([
      'getToken (connect) failed: auth server down',
      'getToken (connect) answered number, not a token',
      'getToken (connect) did not answer within 100 ms',
    ]);
    expect(errors.every((e) => e.retryable)).toBe(true);
    expect(ofType(events, 'reconnect').map((e) => e.error?.code)).toEqual(errors.map((e) => e.code));
    // Each failed token cost its connection, not a login.
    expect(g.conns.length).toBe(4);
    expect(g.logins.map((l) => l.loginToken)).toEqual(['good']);
  });

  it('the user API sends the current token; after a 401 it asks getToken (refresh) and sends the request once more', async () => {
    const { d, api, valid } = await setup();
    const src = tokenSource(valid);
    const { c } = client({ uid: 'alice', getToken: src.getToken, dispatchUrl: d.url });
    await c.connect();
    api.add('bob', 'bob', 'hi');
    await expect(c.history('bob')).resolves.toHaveLength(1);
    expect(api.to('/api/history').map((r) => r.authorization)).toEqual(['Bearer t1']);
    valid.delete('t1');
    await expect(c.history('bob')).resolves.toHaveLength(1);
    expect(api.to('/api/history').map((r) => r.authorization)).toEqual(['Bearer t1', 'Bearer t1', 'Bearer t2']);
    expect(src.reasons()).toEqual(['connect', 'refresh']);
    // The new token refused too: the 401 stands (one retry per request).
    api.acceptToken = () => false;
    await expect(c.history('bob')).rejects.toMatchObject({ code: ClientErrorCode.API_UNAUTHORIZED });
    expect(api.to('/api/history').map((r) => r.authorization).slice(3)).toEqual(['Bearer t2', 'Bearer t3']);
  });

  it('options - token and getToken together, or a getToken that is no function, are refused', () => {
    expect(() => client({ uid: 'a', token: 't', getToken: () => 't', server: { ws: 'ws://x' } })).toThrow(/token or getToken, not both/);
    expect(() => client({ uid: 'a', getToken: 'nope' as never, server: { ws: 'ws://x' } })).toThrow(ClientError);
  });
});
