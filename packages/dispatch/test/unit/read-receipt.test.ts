import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asNodeId, asUserId, newNodeId, silentLogger, waitFor } from '@switchboard/core';
import { LocalBridge, LocalBus, MemoryHistoryStore, MemoryNodeRegistry, MemoryOfflineStore, MemoryRouteStore } from '@switchboard/cluster';
import { ExtensionPacketType, PacketType } from '@switchboard/protocol';
import { connectClient, type TestClient } from '@switchboard/testkit';
import { buildDispatch } from '@switchboard/dispatch';
import { Gateway, adminGuard, createLoginVerifier, createUserAuthenticator } from '@switchboard/gateway';

/**
 * Read receipts end to end in one process, the way standalone wires it: a real gateway and dispatch
 * sharing the memory backends, one history store and a LocalBus; SDK-like TestClients over WebSocket.
 */
describe('POST /api/conversations/read - read receipt through a real gateway', () => {
  const log = silentLogger();
  const routes = new MemoryRouteStore();
  const offline = new MemoryOfflineStore();
  const nodes = new MemoryNodeRegistry();
  const history = new MemoryHistoryStore();
  const bus = new LocalBus();
  const nodeId = newNodeId('gw');
  const gw = new Gateway({ nodeId, log, routes, offline, nodes, history, bridge: new LocalBridge(bus, nodeId), verifyLogin: createLoginVerifier({ mode: 'none', log }), wsPort: 0, tcpPort: 0, senseMode: '15S' });
  const dBridge = new LocalBridge(bus, asNodeId('dispatch-test'));
  const { app } = buildDispatch({ nodes, routes, offline, history, bridge: dBridge, log, senseMode: '15S', guard: adminGuard(undefined), userAuth: createUserAuthenticator({ mode: 'none', log }) });
  const clients: TestClient[] = [];
  let ws = '';

  beforeAll(async () => {
    await dBridge.start(() => {});
    ws = `ws://127.0.0.1:${(await gw.start()).ws}/websocket`;
    await app.ready();
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close({ abrupt: true }).catch(() => {})));
    await app.close();
    await dBridge.close();
    await gw.close();
  });

  const login = async (uid: string, features?: string[]) => {
    const c = await connectClient({ url: ws, uid, login: features ? { features } : {} });
    clients.push(c);
    return c;
  };
  const read = (user: string, peer: string, seq: number) =>
    app.inject({ method: 'POST', url: '/api/conversations/read', headers: { authorization: `Bearer ${user}` }, payload: { peer, seq } });

  it('the sender, online with the notices feature, gets a NOTICE {kind:"read", reader, seq}; a MobileIMSDK client gets none', async () => {
    const alice = await login('rr-alice', ['notices']);
    const bob = await login('rr-bob');
    for (const text of ['one', 'two']) {
      const fp = await alice.send('rr-bob', text);
      await alice.waitForAck(fp);
    }
    const got = await bob.waitForMessage((p) => p.dataContent === 'two');
    expect(got.seq).toBe(2);
    const unread = (await app.inject({ url: '/api/conversations', headers: { authorization: 'Bearer rr-bob' } })).json().conversations;
    expect(unread).toEqual([expect.objectContaining({ peer: 'rr-alice', unread: 2, lastSeq: 2, readSeq: 0 })]);

    const r = await read('rr-bob', 'rr-alice', got.seq!);
    expect(r.json()).toEqual({ peer: 'rr-alice', readSeq: 2 });
    const notice = await alice.waitForPacket(ExtensionPacketType.NOTICE);
    expect(notice).toMatchObject({ from: '0', to: 'rr-alice' });
    expect(JSON.parse(notice.dataContent!)).toEqual({ kind: 'read', reader: 'rr-bob', seq: 2 });

    // Alice reads bob's reply: bob (no features) gets no notice. A push sent after the read answer
    // arrives after any notice would have, so its arrival closes the window without a sleep.
    const fp = await bob.send('rr-alice', 'three');
    await bob.waitForAck(fp);
    await alice.waitForMessage((p) => p.fp === fp);
    expect((await read('rr-alice', 'rr-bob', 3)).json()).toEqual({ peer: 'rr-bob', readSeq: 3 });
    const push = await app.inject({ method: 'POST', url: '/api/messages', payload: { to: 'rr-bob', dataContent: 'sentinel' } });
    expect(push.json().status).toBe('relayed');
    const sentinel = await bob.waitForMessage((p) => p.dataContent === 'sentinel');
    expect(bob.packets.filter((p) => p.type === ExtensionPacketType.NOTICE)).toEqual([]);
    // The relayed push got its seq from dispatch's write; the gateway's own append found the same entry.
    expect(sentinel).toMatchObject({ type: PacketType.DATA, from: '0', seq: 1 });
    const pushes = (await app.inject({ url: '/api/history?peer=0', headers: { authorization: 'Bearer rr-bob' } })).json().messages;
    expect(pushes).toEqual([expect.objectContaining({ seq: 1, fp: push.json().fp, dataContent: 'sentinel', sentAt: sentinel.sentAt })]);
  });

  it('a peer that is offline gets no receipt (none is stored) but the marker moves; marking read again once it is back sends one', async () => {
    const carol = await login('rr-carol', ['notices']);
    const fp = await carol.send('rr-dan', 'are you there?');
    await carol.waitForAck(fp); // stored offline for dan
    await carol.close();
    await waitFor(async () => (await routes.lookup(asUserId('rr-carol'))) === null, { what: "carol's route removed" });
    expect((await read('rr-dan', 'rr-carol', 1)).json()).toEqual({ peer: 'rr-carol', readSeq: 1 });
    expect(await offline.count(asUserId('rr-carol'))).toBe(0);
    const back = await login('rr-carol', ['notices']);
    expect((await read('rr-dan', 'rr-carol', 1)).json()).toEqual({ peer: 'rr-carol', readSeq: 1 });
    const notice = await back.waitForPacket(ExtensionPacketType.NOTICE);
    expect(JSON.parse(notice.dataContent!)).toEqual({ kind: 'read', reader: 'rr-dan', seq: 1 });
  });
});
