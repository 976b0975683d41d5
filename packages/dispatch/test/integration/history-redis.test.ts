import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asUserId, newNodeId, silentLogger } from '@switchboard/core';
import { LocalBridge, LocalBus, peerConversation } from '@switchboard/cluster';
import { createRedisBackends, type RedisBackends } from '@switchboard/cluster/redis';
import { ExtensionPacketType } from '@switchboard/protocol';
import { cleanupRedisPrefix, connectClient, resolveRedisUrl, uniquePrefix, type TestClient } from '@switchboard/testkit';
import { buildDispatch } from '@switchboard/dispatch';
import { Gateway, adminGuard, createLoginVerifier, createUserAuthenticator } from '@switchboard/gateway';

const SECRET = 'a-test-secret-of-32-characters!!';
const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
/** An HS256 JWT for `sub`, valid ten minutes (made by hand: dispatch does not depend on jose). */
function jwt(sub: string): string {
  const body = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ sub, exp: Math.floor(Date.now() / 1000) + 600 })}`;
  return `${body}.${createHmac('sha256', SECRET).update(body).digest('base64url')}`;
}

/**
 * The user API on the cluster's storage: a gateway and dispatch built as the CLI builds them (one
 * `createRedisBackends` each, so the RedisHistoryStore shares their connection and prefix), IM_AUTH=jwt,
 * real HTTP on port 0, TestClients over WebSocket. The bridge is a LocalBus: AMQP is not under test.
 */
describe('user history API on Redis (RedisHistoryStore)', () => {
  const log = silentLogger();
  const prefix = uniquePrefix('dispatch-history');
  const MAX = 30;
  let url: string;
  let gwBackends: RedisBackends;
  let dBackends: RedisBackends;
  let gw: Gateway;
  let app: ReturnType<typeof buildDispatch>['app'];
  let base: string;
  let ws: string;
  const bus = new LocalBus();
  const dBridge = new LocalBridge(bus, newNodeId('dispatch'));
  const clients: TestClient[] = [];

  beforeAll(async () => {
    url = await resolveRedisUrl();
    const backendOpts = { url, prefix, log, historyMaxPerConversation: MAX, historyTtlMs: 24 * 3600 * 1000 };
    gwBackends = createRedisBackends({ ...backendOpts, name: 'gw' });
    dBackends = createRedisBackends({ ...backendOpts, name: 'dispatch' });
    const nodeId = newNodeId('gw');
    gw = new Gateway({
      nodeId,
      log,
      routes: gwBackends.routes,
      offline: gwBackends.offline,
      nodes: gwBackends.nodes,
      history: gwBackends.history,
      bridge: new LocalBridge(bus, nodeId),
      verifyLogin: createLoginVerifier({ mode: 'jwt', jwtSecret: SECRET, log }),
      wsPort: 0,
      tcpPort: 0,
      senseMode: '15S',
    });
    ws = `ws://127.0.0.1:${(await gw.start()).ws}/websocket`;
    await dBridge.start(() => {});
    app = buildDispatch({
      nodes: dBackends.nodes,
      routes: dBackends.routes,
      offline: dBackends.offline,
      history: dBackends.history,
      userAuth: createUserAuthenticator({ mode: 'jwt', jwtSecret: SECRET, log }),
      bridge: dBridge,
      log,
      senseMode: '15S',
      guard: adminGuard(undefined),
    }).app;
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close({ abrupt: true }).catch(() => {})));
    await app?.close();
    await dBridge.close();
    await gw?.close();
    await gwBackends?.close();
    await dBackends?.close();
    if (url) await cleanupRedisPrefix(url, prefix);
  });

  const login = async (uid: string, features?: string[]) => {
    const c = await connectClient({ url: ws, uid, login: { token: jwt(uid), ...(features ? { features } : {}) } });
    clients.push(c);
    return c;
  };
  const get = async (user: string, path: string) => {
    const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${jwt(user)}` } });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const post = async (user: string, path: string, body: unknown) => {
    const res = await fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${jwt(user)}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  it('pages what the gateway wrote, keeps the newest IM_HISTORY_MAX_PER_CONVERSATION, counts unread, moves the marker and sends the receipt', async () => {
    const alice = await login('hr-alice', ['notices']);
    const bob = await login('hr-bob');
    const fps: string[] = [];
    for (let i = 1; i <= MAX + 10; i++) {
      const fp = await alice.send('hr-bob', `msg ${i}`);
      await alice.waitForAck(fp);
      fps.push(fp);
    }
    await bob.waitForMessage((p) => p.fp === fps.at(-1));

    const page = await get('hr-bob', '/api/history?peer=hr-alice&limit=200');
    expect(page.status).toBe(200);
    // Only the newest MAX are kept; seqs stay those assigned (11..40).
    expect(page.body['messages'].map((m: { seq: number }) => m.seq)).toEqual(Array.from({ length: MAX }, (_, i) => 11 + i));
    expect(page.body['messages'][0]).toMatchObject({ fp: fps[10], from: 'hr-alice', to: 'hr-bob', dataContent: 'msg 11', typeu: -1 });
    const older = await get('hr-bob', '/api/history?peer=hr-alice&before=21&limit=5');
    expect(older.body['messages'].map((m: { seq: number }) => m.seq)).toEqual([16, 17, 18, 19, 20]);
    expect((await get('hr-alice', '/api/history?peer=hr-bob&before=12')).body['messages'].map((m: { seq: number }) => m.seq)).toEqual([11]);

    const convs = await get('hr-bob', '/api/conversations');
    // Unread counts trimmed messages too: 40 received, none read.
    expect(convs.body['conversations']).toEqual([expect.objectContaining({ peer: 'hr-alice', unread: MAX + 10, lastSeq: MAX + 10, readSeq: 0 })]);
    expect((await get('hr-alice', '/api/conversations')).body['conversations']).toEqual([expect.objectContaining({ peer: 'hr-bob', unread: 0 })]);

    const read = await post('hr-bob', '/api/conversations/read', { peer: 'hr-alice', seq: 35 });
    expect(read).toEqual({ status: 200, body: { peer: 'hr-alice', readSeq: 35 } });
    const notice = await alice.waitForPacket(ExtensionPacketType.NOTICE);
    expect(JSON.parse(notice.dataContent!)).toEqual({ kind: 'read', reader: 'hr-bob', seq: 35 });
    expect((await get('hr-bob', '/api/conversations')).body['conversations'][0]).toMatchObject({ unread: 5, readSeq: 35 });
    expect((await post('hr-bob', '/api/conversations/read', { peer: 'hr-alice', seq: 10 })).body).toEqual({ peer: 'hr-alice', readSeq: 35 });
    expect((await post('hr-bob', '/api/conversations/read', { peer: 'hr-alice', seq: 10_000 })).body).toEqual({ peer: 'hr-alice', readSeq: MAX + 10 });
    // Someone else's conversation: carol naming alice reads carol|alice, which is empty.
    expect((await get('hr-carol', '/api/history?peer=hr-alice')).body).toEqual({ messages: [] });
    expect((await get('hr-carol', '/api/conversations')).body).toEqual({ conversations: [] });
  });

  it('a push written by dispatch and relayed keeps one seq: the gateway append is a duplicate of dispatch\'s', async () => {
    const dan = await login('hr-dan');
    const r = await fetch(`${base}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ to: 'hr-dan', dataContent: 'from the server' }) });
    const { fp, status } = (await r.json()) as { fp: string; status: string };
    expect(status).toBe('relayed');
    const got = await dan.waitForMessage((p) => p.fp === fp);
    const stored = await dBackends.history.before(peerConversation(asUserId('0'), asUserId('hr-dan')), { limit: 10 });
    expect(stored).toEqual([expect.objectContaining({ seq: 1, fp, from: '0', to: 'hr-dan', dataContent: 'from the server' })]);
    expect([got.seq, got.sentAt]).toEqual([1, stored[0]!.sentAt]);
    expect((await get('hr-dan', '/api/history?peer=0')).body['messages']).toHaveLength(1);
  });
});
