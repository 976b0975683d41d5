import { afterEach, describe, expect, it } from 'vitest';
import { ackPacket, dataPacket, noticePacket, PacketType, type Packet } from '@switchboard/protocol';
import { ClientErrorCode, type ClientEvent, type ClientError } from '../../src/index.js';
import { FakeDispatch, FakeGateway } from './fake-gateway.js';
import { FakeUserApi, type FakeStored } from './fake-user-api.js';
import { client, closeAllAndStop, ofType, stops, until } from './helpers.js';

// The SDK's history side against an in-process gateway and dispatch with the user API: seq and
// sentAt on events, read notices, history()/conversations()/markRead(), and holes filled from history.

afterEach(closeAllAndStop);

const contents = (events: ClientEvent[]) => ofType(events, 'message').map((e) => e.message.content);

/** Alice on a fake gateway, with dispatch serving the user API from `api`. */
async function setup(opts: { token?: string; graceMs?: number } = {}) {
  const g = await FakeGateway.start();
  const d = await FakeDispatch.start(g);
  stops.push(g, d);
  const api = new FakeUserApi('alice');
  d.other = api.handler;
  const { c, events } = client({ uid: 'alice', token: opts.token ?? 'tok', dispatchUrl: d.url, gaps: { graceMs: opts.graceMs ?? 20 } });
  await c.connect();
  /** Deliver a stored message live, as the gateway would (with seq and sentAt). */
  const push = (m: FakeStored) => {
    const p: Packet = { ...dataPacket({ from: m.from, to: m.to, dataContent: m.dataContent, fp: m.fp, QoS: true, typeu: m.typeu }), seq: m.seq, sentAt: m.sentAt };
    g.live.at(-1)!.send(p);
  };
  return { g, d, api, c, events, push };
}

describe('history seq in the client', () => {
  it('seq - messages carry seq and sentAt; an own message resolves with the seq of its ack; notices that move the marker become read events; login announces notices', async () => {
    const { g, api, c, events, push } = await setup();
    expect(g.logins[0]!.features).toEqual(['notices', 'presence', 'typing']);
    push(api.add('bob', 'bob', 'hi alice'));
    await until(() => contents(events).length === 1, 'the message');
    expect(ofType(events, 'message')[0]!.message).toMatchObject({ from: 'bob', content: 'hi alice', seq: 1, sentAt: 1_001 });

    g.ackData = false;
    const sending = c.send('bob', 'hi bob');
    const data = await until(() => g.received(PacketType.DATA)[0], 'the data packet');
    const mine = api.add('bob', 'alice', 'hi bob', data.fp!);
    g.live[0]!.send({ ...ackPacket('bob', 'alice', data.fp!), seq: mine.seq });
    await expect(sending).resolves.toEqual({ fp: data.fp, acked: true, seq: 2 });
    expect(ofType(events, 'acked')).toEqual([{ type: 'acked', fp: data.fp, to: 'bob', seq: 2 }]);
    expect(c.lastSeq('bob')).toBe(2);

    // Notices repeat (every marker call sends one): only those that move the marker become events.
    for (const seq of [2, 2, 1]) g.live[0]!.send(noticePacket('alice', { kind: 'read', reader: 'bob', seq }));
    g.live[0]!.send({ ...noticePacket('alice', { kind: 'read', reader: 'bob', seq: 9 }), dataContent: '{"kind":"typing"}' });
    g.live[0]!.send(noticePacket('alice', { kind: 'read', reader: 'bob', seq: 3 }));
    await until(() => ofType(events, 'read').length === 2, 'the read events');
    expect(ofType(events, 'read')).toEqual([{ type: 'read', peer: 'bob', seq: 2 }, { type: 'read', peer: 'bob', seq: 3 }]);
    expect(api.requests).toEqual([]);
  });

  it('gap - a message whose seq skips ahead: the missing ones are fetched with the token and delivered first; own ones count silently; a late live copy is dropped', async () => {
    const { g, api, events, push } = await setup();
    push(api.add('bob', 'bob', 'one'));
    const missed = api.add('bob', 'bob', 'two');
    api.add('bob', 'alice', 'three (mine)');
    push(api.add('bob', 'bob', 'four'));
    await until(() => contents(events).length === 3, 'all three of bob\'s');
    expect(contents(events)).toEqual(['one', 'two', 'four']);
    expect(ofType(events, 'message').map((e) => e.message.seq)).toEqual([1, 2, 4]);
    expect(api.to('/api/history')).toEqual([
      { method: 'GET', path: '/api/history', query: { peer: 'bob', before: '4', limit: '2' }, authorization: 'Bearer tok', user: 'alice', body: null },
    ]);
    // The gateway delivers the missed one after all (its offline queue): acked, not shown twice.
    push(missed);
    await until(() => g.received(PacketType.ACK).filter((a) => a.dataContent === missed.fp).length === 1, 'the ack of the late copy');
    push(api.add('bob', 'bob', 'five'));
    await until(() => contents(events).length === 4, 'the next one');
    expect(contents(events)).toEqual(['one', 'two', 'four', 'five']);
    expect(ofType(events, 'gap')).toEqual([]);
  });

  it('reconnect - after a re-login the known conversations are caught up to their lastSeq, in order, once', async () => {
    const { g, api, c, events, push } = await setup();
    push(api.add('bob', 'bob', 'b1'));
    push(api.add('carol', 'carol', 'c1'));
    await until(() => contents(events).length === 2, 'the first two');
    g.live[0]!.terminate();
    await until(() => c.state === 'reconnecting', 'reconnecting');
    const whileAway = [api.add('bob', 'bob', 'b2'), api.add('bob', 'bob', 'b3'), api.add('carol', 'carol', 'c2')];
    api.add('dave', 'dave', 'from a stranger'); // not seen this session: left to the app (conversations())
    await until(() => c.state === 'online' && contents(events).length === 5, 'caught up');
    expect(api.to('/api/conversations')).toHaveLength(1);
    expect(contents(events).slice(2).sort()).toEqual(['b2', 'b3', 'c2']);
    expect(contents(events).filter((t) => t.startsWith('b'))).toEqual(['b1', 'b2', 'b3']);
    // The gateway's offline queue then delivers the same messages: acked, not shown again.
    for (const m of whileAway) push(m);
    await until(() => g.received(PacketType.ACK).filter((a) => whileAway.some((m) => m.fp === a.dataContent)).length === 3, 'acks');
    push(api.add('bob', 'bob', 'b4'));
    await until(() => contents(events).includes('b4'), 'b4');
    expect(contents(events)).toHaveLength(6);
    expect(c.lastSeq('bob')).toBe(4);
  });

  it('api - history(), conversations() and markRead() over the user API with the client\'s credentials', async () => {
    const { api, c } = await setup();
    api.add('bob', 'bob', 'hello');
    api.add('bob', 'alice', 'hi');
    api.add('bob', 'bob', 'bye');
    expect(await c.history('bob', { before: 3, limit: 1 })).toEqual([{ seq: 2, fp: 'fp-bob-2', from: 'alice', to: 'bob', content: 'hi', typeu: -1, sentAt: 1_002 }]);
    expect((await c.history('bob')).map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(await c.conversations()).toEqual([
      { peer: 'bob', last: { seq: 3, fp: 'fp-bob-3', from: 'bob', to: 'alice', content: 'bye', typeu: -1, sentAt: 1_003 }, unread: 2, lastSeq: 3, readSeq: 0 },
    ]);
    expect(await c.markRead('bob', 3)).toEqual({ peer: 'bob', readSeq: 3 });
    expect(api.to('/api/conversations/read')[0]).toMatchObject({ method: 'POST', body: { peer: 'bob', seq: 3 }, authorization: 'Bearer tok', user: 'alice' });
    expect((await c.conversations())[0]!.unread).toBe(0);
    await expect(c.history('bob', { limit: 201 })).rejects.toMatchObject({ code: ClientErrorCode.INVALID_ARGUMENT });
    await expect(c.markRead('', 1)).rejects.toMatchObject({ code: ClientErrorCode.INVALID_ARGUMENT });
  });

  it('api errors - 401, 503 and history off are told apart; a fixed server without apiUrl has no API; no token sends the user id', async () => {
    const { api, c } = await setup();
    api.failWith = 401;
    const e401 = (await c.conversations().catch((e: unknown) => e)) as ClientError;
    expect(e401).toMatchObject({ code: ClientErrorCode.API_UNAUTHORIZED, serverCode: 401, retryable: false });
    expect(e401.message).toMatch(/GET \/api\/conversations refused the credentials \(401\): forced 401; check the token/);
    api.failWith = 503;
    await expect(c.history('bob')).rejects.toMatchObject({ code: ClientErrorCode.API_UNAVAILABLE, serverCode: 503, retryable: true });
    api.failWith = 500;
    await expect(c.markRead('bob', 1)).rejects.toMatchObject({ code: ClientErrorCode.API_FAILED, serverCode: 500 });
    api.failWith = 404;
    api.failError = 'history_off';
    await expect(c.history('bob')).rejects.toMatchObject({ code: ClientErrorCode.API_UNAVAILABLE, serverCode: 404, retryable: false, message: /keeps no history/ });

    const fixed = client({ uid: 'zed', server: { ws: 'ws://127.0.0.1:1/websocket' } }).c;
    await expect(fixed.history('bob')).rejects.toMatchObject({ code: ClientErrorCode.INVALID_ARGUMENT, message: /give dispatchUrl or apiUrl/ });

    const d = await FakeDispatch.start(null);
    stops.push(d);
    const noToken = new FakeUserApi('nobody');
    d.other = noToken.handler;
    await client({ uid: 'nobody', apiUrl: d.url, server: { ws: 'ws://127.0.0.1:1/websocket' } }).c.conversations();
    expect(noToken.requests[0]).toMatchObject({ authorization: 'Bearer nobody', user: 'nobody' });
  });

  it('failed fill - the hole is reported (gap event with the error, error event) and the held messages are delivered', async () => {
    const { api, events, push } = await setup();
    push(api.add('bob', 'bob', 'one'));
    api.add('bob', 'bob', 'two');
    await until(() => contents(events).length === 1, 'the first');
    api.failWith = 503;
    push(api.add('bob', 'bob', 'three'));
    await until(() => contents(events).length === 2, 'the held one released');
    expect(contents(events)).toEqual(['one', 'three']);
    const gap = ofType(events, 'gap');
    expect(gap).toMatchObject([{ type: 'gap', peer: 'bob', firstSeq: 2, lastSeq: 2, reason: 'failed', error: { code: ClientErrorCode.API_UNAVAILABLE } }]);
    expect(ofType(events, 'error').map((e) => e.error.code)).toContain(ClientErrorCode.API_UNAVAILABLE);
  });

  it('no history - messages without seq are delivered as they come, without a request', async () => {
    const { g, api, events } = await setup();
    g.live[0]!.send(dataPacket({ from: 'bob', to: 'alice', dataContent: 'x', fp: 'f1', QoS: true }));
    g.live[0]!.send(dataPacket({ from: 'bob', to: 'alice', dataContent: 'y', fp: 'f2', QoS: true }));
    await until(() => contents(events).length === 2, 'both');
    expect(ofType(events, 'message').map((e) => [e.message.seq, e.message.sentAt])).toEqual([[null, null], [null, null]]);
    expect(api.requests).toEqual([]);
  });
});
