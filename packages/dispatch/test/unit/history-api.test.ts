import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import { asUserId, silentLogger, UnavailableError, waitFor, type NodeId, type UserId } from '@switchboard/core';
import {
  LocalBridge,
  LocalBus,
  MemoryHistoryStore,
  MemoryNodeRegistry,
  MemoryOfflineStore,
  MemoryRouteStore,
  peerConversation,
  type BridgeMessage,
  type HistoryStore,
} from '@switchboard/cluster';
import { buildDispatch, type DispatchOptions, type UserAuthenticator } from '@switchboard/dispatch';
import { adminGuard, createUserAuthenticator } from '@switchboard/gateway';

const log = silentLogger();
const SECRET = 'a-test-secret-of-32-characters!!';
/** sentAt of test messages: an hour ago and counting up by 1 ms per message (recent, so the 30-day ttl keeps them). */
const T0 = Date.now() - 3_600_000;
let clock = T0;

type App = ReturnType<typeof buildDispatch>['app'];
const apps: App[] = [];
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
  for (const c of closers.splice(0)) await c();
});

/** A dispatch on fresh memory backends, `opts` on top. */
function build(opts: Partial<DispatchOptions> = {}): App {
  return buildDispatch({
    nodes: new MemoryNodeRegistry(),
    routes: new MemoryRouteStore(),
    offline: new MemoryOfflineStore(),
    log,
    senseMode: '15S',
    guard: adminGuard(undefined),
    ...opts,
  }).app;
}

/** `build`, closed after the test. */
function dispatch(opts: Partial<DispatchOptions> = {}): App {
  const app = build(opts);
  apps.push(app);
  return app;
}

const none = (): UserAuthenticator => createUserAuthenticator({ mode: 'none', log });
const bearer = (token: string, user?: string) => ({ authorization: `Bearer ${token}`, ...(user === undefined ? {} : { 'x-switchboard-user': user }) });

/** Append `n` messages of `a` and `b` (alternating, a first, unless `from` says), text `m<seq>`, fp `<a>-<b>-<seq>`. */
async function chat(store: HistoryStore, a: string, b: string, n: number, opts: { from?: 'a' | 'b' | 'alternate' } = {}): Promise<void> {
  const conv = peerConversation(asUserId(a), asUserId(b));
  const base = (await store.lastSeq(conv)) + 1;
  for (let i = 0; i < n; i++) {
    const aSends = opts.from === 'a' || (opts.from !== 'b' && i % 2 === 0);
    const [from, to] = aSends ? [a, b] : [b, a];
    await store.append(conv, { fp: `${a}-${b}-${base + i}`, from: asUserId(from), to, dataContent: `m${base + i}`, typeu: 7, sentAt: ++clock }, { indexFor: [asUserId(a), asUserId(b)] });
  }
}

const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** A compact JWT (HS256 with `secret`, or unsigned with alg "none"), made by hand: dispatch does not depend on jose. */
function jwt(sub: string, opts: { secret?: string; expiresAt?: number; alg?: 'HS256' | 'none' } = {}): string {
  const alg = opts.alg ?? 'HS256';
  const body = `${b64url({ alg, typ: 'JWT' })}.${b64url({ sub, exp: opts.expiresAt ?? Math.floor(Date.now() / 1000) + 600 })}`;
  if (alg === 'none') return `${body}.`;
  return `${body}.${createHmac('sha256', opts.secret ?? SECRET).update(body).digest('base64url')}`;
}

describe('user API - authentication (IM_AUTH=none)', () => {
  it('no token, an empty or reserved id, a mismatched X-Switchboard-User: 401 unauthorized with WWW-Authenticate', async () => {
    const app = dispatch({ history: new MemoryHistoryStore(), userAuth: none() });
    for (const headers of [{}, { authorization: 'Basic YWxpY2U6eA==' }, { authorization: 'Bearer ' }, bearer('0'), bearer('-1'), bearer('x'.repeat(129)), bearer('alice', 'bob')]) {
      const r = await app.inject({ url: '/api/history?peer=bob', headers });
      expect(r.statusCode, JSON.stringify(headers)).toBe(401);
      expect(r.json()).toMatchObject({ error: 'unauthorized', message: expect.any(String) });
      expect(r.headers['www-authenticate']).toBe('Bearer');
    }
    expect((await app.inject({ url: '/api/conversations' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url: '/api/conversations/read', payload: { peer: 'bob', seq: 1 } })).statusCode).toBe(401);
    expect((await app.inject({ url: '/api/history?peer=bob', headers: { authorization: 'bearer alice' } })).statusCode).toBe(200);
  });

  it("a user only reads its own conversations: naming a peer always means the conversation with the caller", async () => {
    const store = new MemoryHistoryStore();
    await chat(store, 'carol', 'dave', 3);
    await chat(store, 'alice', 'bob', 2);
    const app = dispatch({ history: store, userAuth: none() });
    // alice asks for dave: that is alice|dave (empty), never carol|dave.
    expect((await app.inject({ url: '/api/history?peer=dave', headers: bearer('alice') })).json()).toEqual({ messages: [] });
    expect((await app.inject({ url: '/api/history?peer=carol', headers: bearer('alice') })).json()).toEqual({ messages: [] });
    const conv = (await app.inject({ url: '/api/conversations', headers: bearer('alice') })).json().conversations;
    expect(conv.map((c: { peer: string }) => c.peer)).toEqual(['bob']);
    // A read marker set by alice for "dave" lands in alice|dave (0: nothing there), not carol|dave.
    expect((await app.inject({ method: 'POST', url: '/api/conversations/read', headers: bearer('alice'), payload: { peer: 'dave', seq: 3 } })).json()).toEqual({ peer: 'dave', readSeq: 0 });
    expect((await store.conversations(asUserId('dave'), { limit: 10 }))[0]).toMatchObject({ readSeq: 0, unread: 2 });
  });

  it('without an authenticator the user API answers 503; with history off every route is 404 history_off', async () => {
    const noAuth = dispatch({ history: new MemoryHistoryStore() });
    const r = await noAuth.inject({ url: '/api/history?peer=bob', headers: bearer('alice') });
    expect(r.statusCode).toBe(503);
    expect(r.json().error).toBe('unavailable');
    const off = dispatch({ history: null, userAuth: none() });
    for (const req of [
      { url: '/api/history?peer=bob' },
      { url: '/api/conversations' },
      { method: 'POST' as const, url: '/api/conversations/read', payload: { peer: 'bob', seq: 1 } },
    ]) {
      const res = await off.inject({ ...req, headers: bearer('alice') });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ error: 'history_off', message: expect.any(String) });
    }
  });

  it('a failing history store is 503 unavailable', async () => {
    const store = new MemoryHistoryStore();
    const broken = Object.create(store) as HistoryStore;
    broken.before = () => Promise.reject(new UnavailableError('history down'));
    broken.conversations = () => Promise.reject(new UnavailableError('history down'));
    const app = dispatch({ history: broken, userAuth: none() });
    for (const url of ['/api/history?peer=bob', '/api/conversations']) {
      const r = await app.inject({ url, headers: bearer('alice') });
      expect(r.statusCode).toBe(503);
      expect(r.json().error).toBe('unavailable');
    }
  });
});

describe('user API - GET /api/history', () => {
  const store = new MemoryHistoryStore();
  let app: App;
  beforeAll(async () => {
    await chat(store, 'alice', 'bob', 120);
  });

  it('answers the newest 50, oldest first, in the documented shape; pages back with before', async () => {
    app = dispatch({ history: store, userAuth: none() });
    const first = (await app.inject({ url: '/api/history?peer=bob', headers: bearer('alice') })).json().messages;
    expect(first.map((m: { seq: number }) => m.seq)).toEqual(Array.from({ length: 50 }, (_, i) => 71 + i));
    expect(first[0]).toEqual({ seq: 71, fp: 'alice-bob-71', from: 'alice', to: 'bob', dataContent: 'm71', typeu: 7, sentAt: expect.any(Number) });
    expect(Object.keys(first[1]).sort()).toEqual(['dataContent', 'fp', 'from', 'sentAt', 'seq', 'to', 'typeu']);
    const second = (await app.inject({ url: '/api/history?peer=bob&before=71', headers: bearer('alice') })).json().messages;
    expect(second.map((m: { seq: number }) => m.seq)).toEqual(Array.from({ length: 50 }, (_, i) => 21 + i));
    const rest = (await app.inject({ url: '/api/history?peer=bob&before=21&limit=200', headers: bearer('alice') })).json().messages;
    expect(rest.map((m: { seq: number }) => m.seq)).toEqual(Array.from({ length: 20 }, (_, i) => 1 + i));
    expect((await app.inject({ url: '/api/history?peer=bob&before=1', headers: bearer('alice') })).json()).toEqual({ messages: [] });
    expect((await app.inject({ url: '/api/history?peer=bob&before=0', headers: bearer('alice') })).json()).toEqual({ messages: [] });
    // The same conversation from bob's side; a huge before is "everything".
    const bobs = (await app.inject({ url: `/api/history?peer=alice&limit=3&before=${Number.MAX_SAFE_INTEGER}`, headers: bearer('bob') })).json().messages;
    expect(bobs.map((m: { seq: number }) => m.seq)).toEqual([118, 119, 120]);
    expect((await app.inject({ url: '/api/history?peer=bob&limit=200', headers: bearer('alice') })).json().messages).toHaveLength(120);
  });

  it('bad numbers and long peers are 400 bad_request', async () => {
    app = dispatch({ history: store, userAuth: none() });
    const bad = [
      'peer=bob&limit=201',
      'peer=bob&limit=0',
      'peer=bob&limit=-1',
      'peer=bob&limit=NaN',
      'peer=bob&limit=abc',
      'peer=bob&limit=1.5',
      'peer=bob&limit=1e2',
      'peer=bob&limit=',
      'peer=bob&limit=%2050',
      `peer=bob&limit=${'9'.repeat(40)}`,
      'peer=bob&limit=1&limit=2',
      'peer=bob&before=-1',
      'peer=bob&before=NaN',
      'peer=bob&before=Infinity',
      'peer=bob&before=0x10',
      'peer=bob&before=99999999999999999',
      `peer=bob&before=${Number.MAX_SAFE_INTEGER + 1}`,
      `peer=${'b'.repeat(129)}`,
      'peer=',
      '',
      'limit=10',
    ];
    for (const q of bad) {
      const r = await app.inject({ url: `/api/history?${q}`, headers: bearer('alice') });
      expect(r.statusCode, q).toBe(400);
      expect(r.json().error, q).toBe('bad_request');
    }
  });

  it('peer "0" is the conversation with the server: pushes written by POST /api/messages, with their seq', async () => {
    const history = new MemoryHistoryStore();
    app = dispatch({ history, userAuth: none() });
    const fps: string[] = [];
    for (const text of ['welcome', 'news']) {
      const r = await app.inject({ method: 'POST', url: '/api/messages', payload: { to: 'erin', dataContent: text, typeu: 3 } });
      expect(r.json().status).toBe('stored');
      fps.push(r.json().fp);
    }
    const msgs = (await app.inject({ url: '/api/history?peer=0', headers: bearer('erin') })).json().messages;
    expect(msgs.map((m: Record<string, unknown>) => [m['seq'], m['fp'], m['from'], m['to'], m['dataContent'], m['typeu']])).toEqual([
      [1, fps[0], '0', 'erin', 'welcome', 3],
      [2, fps[1], '0', 'erin', 'news', 3],
    ]);
  });
});

describe('user API - conversations, unread and read markers', () => {
  it('lists conversations newest first with last, unread, lastSeq and readSeq; a read marker moves forward only, clamped', async () => {
    const store = new MemoryHistoryStore();
    await chat(store, 'alice', 'bob', 4); // seqs 1 (alice), 2 (bob), 3 (alice), 4 (bob)
    await chat(store, 'alice', 'carol', 3, { from: 'b' }); // carol → alice, newer than bob's
    const app = dispatch({ history: store, userAuth: none() });
    const list = async (user: string, q = '') => (await app.inject({ url: `/api/conversations${q}`, headers: bearer(user) })).json().conversations;
    const read = (user: string, payload: unknown) => app.inject({ method: 'POST', url: '/api/conversations/read', headers: bearer(user), payload: payload as object });

    const alice = await list('alice');
    expect(alice.map((c: { peer: string; unread: number }) => [c.peer, c.unread])).toEqual([['carol', 3], ['bob', 2]]);
    expect(alice[1]).toEqual({
      peer: 'bob',
      last: { seq: 4, fp: 'alice-bob-4', from: 'bob', to: 'alice', dataContent: 'm4', typeu: 7, sentAt: expect.any(Number) },
      unread: 2,
      lastSeq: 4,
      readSeq: 0,
    });
    expect((await list('alice', '?limit=1')).map((c: { peer: string }) => c.peer)).toEqual(['carol']);
    expect((await list('bob')).map((c: { peer: string; unread: number }) => [c.peer, c.unread])).toEqual([['alice', 2]]);

    expect((await read('alice', { peer: 'bob', seq: 2 })).json()).toEqual({ peer: 'bob', readSeq: 2 });
    expect((await list('alice'))[1]).toMatchObject({ peer: 'bob', unread: 1, readSeq: 2 });
    expect((await read('alice', { peer: 'bob', seq: 1 })).json()).toEqual({ peer: 'bob', readSeq: 2 }); // never backwards
    expect((await read('alice', { peer: 'bob', seq: Number.MAX_SAFE_INTEGER })).json()).toEqual({ peer: 'bob', readSeq: 4 }); // clamped
    expect((await list('alice'))[1]).toMatchObject({ unread: 0, readSeq: 4 });
    // Bob's side is his own: still 2 unread.
    expect((await list('bob'))[0]).toMatchObject({ peer: 'alice', unread: 2, readSeq: 0 });
    // A new message from bob is unread again.
    await chat(store, 'alice', 'bob', 1, { from: 'b' });
    expect((await list('alice'))[0]).toMatchObject({ peer: 'bob', unread: 1, lastSeq: 5, readSeq: 4 });

    for (const bad of [{}, { peer: 'bob' }, { seq: 1 }, { peer: 'bob', seq: -1 }, { peer: 'bob', seq: 1.5 }, { peer: 'bob', seq: '3' }, { peer: 'bob', seq: 1e300 }, { peer: '', seq: 1 }, { peer: 'b'.repeat(129), seq: 1 }, { peer: 'bob', seq: 1, extra: true }]) {
      const r = await read('alice', bad);
      expect(r.statusCode, JSON.stringify(bad)).toBe(400);
    }
    expect((await read('alice', { peer: 'bob', seq: 1, pad: 'x'.repeat(5_000) })).statusCode).toBe(413);
    for (const q of ['?limit=0', '?limit=201', '?limit=x', '?limit=-3']) expect((await app.inject({ url: `/api/conversations${q}`, headers: bearer('alice') })).statusCode, q).toBe(400);
  });
});

describe('user API - IM_AUTH=jwt', () => {
  const store = new MemoryHistoryStore();
  let app: App;
  beforeAll(async () => {
    await chat(store, 'alice', 'bob', 2);
    app = build({ history: store, userAuth: createUserAuthenticator({ mode: 'jwt', jwtSecret: SECRET, log }) });
  });
  afterAll(() => app.close());

  it("the user is the token's sub", async () => {
    const r = await app.inject({ url: '/api/history?peer=bob', headers: bearer(jwt('alice')) });
    expect(r.statusCode).toBe(200);
    expect(r.json().messages).toHaveLength(2);
    expect((await app.inject({ url: '/api/conversations', headers: bearer(jwt('bob'), 'bob') })).json().conversations[0].peer).toBe('alice');
  });

  it('a JWT for another user, expired, foreign-signed, alg none, or a bare user id: 401', async () => {
    const tokens = [
      { headers: bearer(jwt('mallory'), 'alice') },
      { headers: bearer(jwt('alice', { expiresAt: Math.floor(Date.now() / 1000) - 60 })) },
      { headers: bearer(jwt('alice', { secret: 'another-secret-of-32-characters!' })) },
      { headers: bearer(jwt('alice', { alg: 'none' })) },
      { headers: bearer('alice') },
      { headers: bearer(jwt('0')) },
    ];
    for (const t of tokens) {
      const r = await app.inject({ url: '/api/history?peer=bob', ...t });
      expect(r.statusCode, JSON.stringify(t.headers)).toBe(401);
      expect(r.json().error).toBe('unauthorized');
    }
    // A valid JWT for mallory reads mallory's (empty) conversation with bob, nothing of alice's.
    expect((await app.inject({ url: '/api/history?peer=bob', headers: bearer(jwt('mallory')) })).json()).toEqual({ messages: [] });
  });
});

describe('user API - IM_AUTH=http (a real local webhook)', () => {
  const calls: Array<{ userId: string; token: string; extra: unknown }> = [];
  let server: Server;
  let url: string;
  let status = 200;
  beforeAll(async () => {
    server = createServer(async (req, res) => {
      let raw = '';
      for await (const chunk of req) raw += String(chunk);
      const body = JSON.parse(raw) as { userId: string; token: string; extra: unknown };
      calls.push(body);
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ code: body.token === `secret-of-${body.userId}` ? 0 : 4001 }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/auth`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('asks the webhook with {userId from X-Switchboard-User, token, extra: null}; caches the yes; no header, wrong token: 401; webhook down: 503', async () => {
    const store = new MemoryHistoryStore();
    await chat(store, 'alice', 'bob', 1);
    const app = dispatch({ history: store, userAuth: createUserAuthenticator({ mode: 'http', httpUrl: url, httpTimeoutMs: 2_000, log }) });
    const ok = await app.inject({ url: '/api/history?peer=bob', headers: bearer('secret-of-alice', 'alice') });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().messages).toHaveLength(1);
    expect(calls).toEqual([{ userId: 'alice', token: 'secret-of-alice', extra: null }]);
    expect((await app.inject({ url: '/api/conversations', headers: bearer('secret-of-alice', 'alice') })).statusCode).toBe(200);
    expect(calls).toHaveLength(1); // the positive answer is reused

    const noHeader = await app.inject({ url: '/api/history?peer=bob', headers: bearer('secret-of-alice') });
    expect(noHeader.statusCode).toBe(401);
    expect(noHeader.json().message).toMatch(/X-Switchboard-User/);
    // Alice's token presented as bob's: the webhook says no.
    expect((await app.inject({ url: '/api/history?peer=alice', headers: bearer('secret-of-alice', 'bob') })).statusCode).toBe(401);
    expect((await app.inject({ url: '/api/history?peer=bob', headers: bearer('guess', 'alice') })).statusCode).toBe(401);
    status = 500;
    try {
      const down = await app.inject({ url: '/api/history?peer=bob', headers: bearer('another', 'alice') });
      expect(down.statusCode).toBe(503);
      expect(down.json().error).toBe('unavailable');
    } finally {
      status = 200;
    }
  });
});

describe('push API with history', () => {
  it('writes the push before relaying it with the same fp, so the gateway append is a duplicate with the same seq', async () => {
    const history = new MemoryHistoryStore();
    const nodes = new MemoryNodeRegistry();
    const routes = new MemoryRouteStore();
    const bus = new LocalBus();
    const inbox: BridgeMessage[] = [];
    const gw = new LocalBridge(bus, 'gw-1' as NodeId);
    await gw.start((m) => inbox.push(m));
    const dBridge = new LocalBridge(bus, 'dispatch-1' as NodeId);
    await dBridge.start(() => {});
    closers.push(() => gw.close(), () => dBridge.close());
    await nodes.report({ id: 'gw-1' as NodeId, host: '127.0.0.1', ports: { ws: 1, tcp: 2, udp: 3, admin: 4 }, state: 'active', connections: 1, loopLagMs: 0, cpu: 0, msgRate: 0, startedAt: 1 }, 60_000);
    await routes.claim({ userId: 'fay' as UserId, nodeId: 'gw-1' as NodeId, connId: 'c1' as never, firstLoginTime: 1, since: 1 }, 0);
    const app = dispatch({ history, nodes, routes, bridge: dBridge, userAuth: none() });

    const r = await app.inject({ method: 'POST', url: '/api/messages', payload: { to: 'fay', dataContent: 'hi', qos: false } });
    expect(r.json().status).toBe('relayed');
    const push = await waitFor(() => inbox.find((m) => m.type === 'push'));
    expect(push).toMatchObject({ fp: r.json().fp });
    const conv = peerConversation('0' as UserId, 'fay' as UserId);
    const [entry] = await history.before(conv, { limit: 10 });
    expect(entry).toMatchObject({ seq: 1, fp: r.json().fp, from: '0', to: 'fay', dataContent: 'hi', typeu: -1 });
    const again = await history.append(conv, { fp: r.json().fp, from: '0' as UserId, to: 'fay', dataContent: 'hi', typeu: -1, sentAt: Date.now() }, { indexFor: ['fay' as UserId] });
    expect(again).toEqual({ seq: 1, duplicate: true, sentAt: entry!.sentAt });
    expect((await app.inject({ url: '/api/conversations', headers: bearer('fay') })).json().conversations[0]).toMatchObject({ peer: '0', unread: 1 });
  });

  it('an offline-stored push carries seq and sentAt; a failing history store answers 503 and stores nothing', async () => {
    const history = new MemoryHistoryStore();
    const offline = new MemoryOfflineStore();
    await history.append(peerConversation('0' as UserId, 'gus' as UserId), { fp: 'older', from: '0' as UserId, to: 'gus', dataContent: 'x', typeu: -1, sentAt: T0 }, { indexFor: ['gus' as UserId] });
    const app = dispatch({ history, offline });
    const r = await app.inject({ method: 'POST', url: '/api/messages', payload: { to: 'gus', dataContent: 'later' } });
    expect(r.json().status).toBe('stored');
    const [m] = await offline.peek('gus' as UserId, 10);
    const stored = (await history.before(peerConversation('0' as UserId, 'gus' as UserId), { limit: 10 }))[1]!;
    expect(JSON.parse(m!.packet)).toMatchObject({ type: 2, from: '0', to: 'gus', fp: r.json().fp, QoS: true, dataContent: 'later', seq: 2, sentAt: stored.sentAt });

    const broken = Object.create(history) as HistoryStore;
    broken.append = () => Promise.reject(new UnavailableError('history down'));
    const offline2 = new MemoryOfflineStore();
    const app2 = dispatch({ history: broken, offline: offline2 });
    const failed = await app2.inject({ method: 'POST', url: '/api/messages', payload: { to: 'gus', dataContent: 'lost?' } });
    expect(failed.statusCode).toBe(503);
    expect(await offline2.count('gus' as UserId)).toBe(0);
  });
});

describe('OpenAPI', () => {
  it('documents the user API with bearer security', async () => {
    const app = dispatch({ history: new MemoryHistoryStore(), userAuth: none() });
    const doc = (await app.inject({ url: '/docs/openapi.json' })).json();
    expect(doc.paths['/api/history'].get.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/api/history'].get.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['peer', 'before', 'limit', 'x-switchboard-user']));
    expect(doc.paths['/api/conversations'].get.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/api/conversations/read'].post.security).toEqual([{ bearer: [] }]);
    // {peer, seq} or, for a group (issue 15), {group, seq}: the handler answers 400 unless exactly one is given.
    const body = doc.paths['/api/conversations/read'].post.requestBody.content['application/json'].schema;
    expect(body.required).toEqual(['seq']);
    expect(Object.keys(body.properties)).toEqual(expect.arrayContaining(['peer', 'group', 'seq']));
  });
});
