import type * as http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { dataPacket, noticePacket, PacketType, TYPING_TYPEU, WATCH_TYPEU } from '@switchboard/protocol';
import { ClientErrorCode } from '../../src/index.js';
import { FakeDispatch, FakeGateway } from './fake-gateway.js';
import { client, closeAllAndStop, ofType, stops, until } from './helpers.js';

// The SDK's presence and typing (docs/presence.md): the watch list and its resend after a login,
// typing signals and their throttle, the notices as events, GET /api/presence, and resume().

afterEach(closeAllAndStop);

async function setup(presenceAnswer: (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => void = () => undefined) {
  const g = await FakeGateway.start();
  const d = await FakeDispatch.start(g);
  stops.push(g, d);
  d.other = presenceAnswer;
  const { c, events } = client({ uid: 'alice', token: 'tok', dispatchUrl: d.url, typingThrottleMs: 200 });
  await c.connect();
  return { g, d, c, events };
}

const watchLists = (g: FakeGateway) => g.received(PacketType.DATA).filter((p) => p.typeu === WATCH_TYPEU);

describe('presence in the client', () => {
  it('watchPresence - sends the set without QoS to the server, replaces it, and sends it again after a re-login', async () => {
    const { g, c } = await setup();
    c.watchPresence(['bob', 'carol', 'bob']);
    await until(() => watchLists(g).length === 1, 'the watch list');
    expect(watchLists(g)[0]).toMatchObject({ from: 'alice', to: '0', QoS: false, dataContent: '["bob","carol"]' });
    c.watchPresence(['dave']);
    await until(() => watchLists(g).length === 2, 'the new list');
    expect(watchLists(g)[1]!.dataContent).toBe('["dave"]');
    g.live.at(-1)!.close();
    await until(() => g.logins.length === 2 && watchLists(g).length === 3, 'the list after the re-login');
    expect(watchLists(g)[2]!.dataContent).toBe('["dave"]');
    expect(() => c.watchPresence(Array.from({ length: 501 }, (_, i) => `u${i}`))).toThrow(expect.objectContaining({ code: ClientErrorCode.INVALID_ARGUMENT }));
    expect(() => c.watchPresence([42 as unknown as string])).toThrow(expect.objectContaining({ code: ClientErrorCode.INVALID_ARGUMENT }));
  });

  it('notices - presence and typing notices become events; garbled ones are ignored', async () => {
    const { g, events } = await setup();
    const conn = g.live.at(-1)!;
    conn.send(noticePacket('alice', { kind: 'presence', users: [{ uid: 'bob', online: true }, { uid: 'carol', online: false, lastSeen: 123 }] }));
    conn.send(noticePacket('alice', { kind: 'typing', from: 'bob' }));
    conn.send(noticePacket('alice', { kind: 'typing', from: 'carol', group: 'team' }));
    conn.send({ ...noticePacket('alice', { kind: 'typing', from: 'x' }), dataContent: '{"kind":"presence","users":[{"uid":1}]' });
    conn.send({ ...noticePacket('alice', { kind: 'typing', from: 'x' }), dataContent: '{"kind":"presence","users":[{"uid":"z"}]}' });
    await until(() => ofType(events, 'typing').length === 2, 'typing events');
    expect(ofType(events, 'presence')).toEqual([
      { type: 'presence', uid: 'bob', online: true },
      { type: 'presence', uid: 'carol', online: false, lastSeen: 123 },
    ]);
    expect(ofType(events, 'typing')).toEqual([
      { type: 'typing', from: 'bob' },
      { type: 'typing', from: 'carol', group: 'team' },
    ]);
  });

  it('sendTyping - one non-QoS packet of typeu -102 per target per throttle window, to a peer or a group address', async () => {
    const { g, c } = await setup();
    expect(c.sendTyping('bob')).toBe(true);
    expect(c.sendTyping('bob')).toBe(false);
    expect(c.sendTyping({ group: 'team' })).toBe(true);
    await until(() => g.received(PacketType.DATA).filter((p) => p.typeu === TYPING_TYPEU).length === 2, 'two signals');
    const sent = g.received(PacketType.DATA).filter((p) => p.typeu === TYPING_TYPEU);
    expect(sent.map((p) => [p.to, p.QoS, p.fp])).toEqual([
      ['bob', false, null],
      ['g:team', false, null],
    ]);
    await until(() => c.sendTyping('bob'), 'the throttle window to pass');
    expect(() => c.sendTyping({ group: '' })).toThrow(expect.objectContaining({ code: ClientErrorCode.INVALID_ARGUMENT }));
    expect(() => c.sendTyping('0')).toThrow(expect.objectContaining({ code: ClientErrorCode.INVALID_ARGUMENT }));
  });

  it('presence() - GET /api/presence?uids=… with the bearer token; bad arguments and malformed answers reject', async () => {
    const seen: string[] = [];
    const { c } = await setup((req, res, url) => {
      seen.push(`${url.pathname}?${url.searchParams.toString()} ${req.headers['authorization']}`);
      const uids = (url.searchParams.get('uids') ?? '').split(',');
      const body = uids[0] === 'broken' ? { nope: 1 } : { users: uids.map((uid) => (uid === 'bob' ? { uid, online: true } : { uid, online: false, lastSeen: 5 })) };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    expect(await c.presence(['bob', 'carol'])).toEqual([
      { uid: 'bob', online: true },
      { uid: 'carol', online: false, lastSeen: 5 },
    ]);
    expect(seen).toEqual(['/api/presence?uids=bob%2Ccarol Bearer tok']);
    await expect(c.presence([])).rejects.toMatchObject({ code: ClientErrorCode.INVALID_ARGUMENT });
    await expect(c.presence(['a,b'])).rejects.toMatchObject({ code: ClientErrorCode.INVALID_ARGUMENT });
    await expect(c.presence(['broken'])).rejects.toMatchObject({ code: ClientErrorCode.API_FAILED });
  });

  it('resume - after close() logs in again with the same options and saved firstLoginTime, and delivers messages', async () => {
    const { g, c, events } = await setup();
    c.watchPresence(['bob']);
    await c.close();
    expect(c.state).toBe('closed');
    await c.resume();
    expect(c.state).toBe('online');
    expect(g.logins).toHaveLength(2);
    expect(g.logins[1]!.firstLoginTime).toBe(c.firstLoginTime);
    await until(() => watchLists(g).length === 2, 'the watch list after resume');
    g.live.at(-1)!.send(dataPacket({ from: 'bob', to: 'alice', dataContent: 'back', fp: 'f1', QoS: true }));
    await until(() => ofType(events, 'message').length === 1, 'a message after resume');
    expect(ofType(events, 'state').map((e) => e.state)).toEqual(['connecting', 'online', 'closed', 'connecting', 'online']);
    await c.resume(); // online: resolves at once
    expect(g.logins).toHaveLength(2);
  });
});
