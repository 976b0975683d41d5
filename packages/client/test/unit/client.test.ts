import { afterEach, describe, expect, it } from 'vitest';
import { createPacket, dataPacket, ErrorCode, errorPacket, kickoutPacket, PacketType } from '@switchboard/protocol';
import { ClientError, ClientErrorCode, DEFAULT_RECEIPT_TYPEU, MessageLostError } from '../../src/index.js';
import { FAKE_FIRST_LOGIN_TIME, FakeDispatch, FakeGateway, deadPort } from './fake-gateway.js';
import { PATIENT_QOS, closeAllAndStop, client, ofType, sleep, stops, until } from './helpers.js';

async function gateway(opts: Parameters<typeof FakeGateway.start>[0] = {}): Promise<FakeGateway> {
  const g = await FakeGateway.start(opts);
  stops.push(g);
  return g;
}
async function dispatchTo(g: FakeGateway | null): Promise<FakeDispatch> {
  const d = await FakeDispatch.start(g);
  stops.push(d);
  return d;
}

afterEach(closeAllAndStop);


describe('SwitchboardClient', () => {
  it('connect - asks dispatch, connects to the gateway it names, logs in with uid, token and firstLoginTime 0', async () => {
    const g = await gateway();
    const d = await dispatchTo(g);
    const { c, events } = client({ uid: 'alice', token: 'tok', extra: 'x', dispatchUrl: d.url });
    await c.connect();
    expect(c.state).toBe('online');
    expect(d.requests).toEqual(['alice']);
    expect(g.logins).toEqual([{ loginUserId: 'alice', loginToken: 'tok', extra: 'x', firstLoginTime: 0, features: ['notices', 'presence', 'typing'] }]);
    expect(c.node).toBe(`fake-${g.port}`);
    expect(c.firstLoginTime).toBe(FAKE_FIRST_LOGIN_TIME);
    expect(ofType(events, 'state').map((e) => e.state)).toEqual(['connecting', 'online']);
    expect(ofType(events, 'login')).toEqual([{ type: 'login', uid: 'alice', node: `fake-${g.port}`, firstLoginTime: FAKE_FIRST_LOGIN_TIME, relogin: false }]);
    // Calling connect() again while online resolves at once, without a second login.
    await c.connect();
    expect(g.logins).toHaveLength(1);
  });

  it('keepalive - sends type 1 every interval after login and reports ping and pong', async () => {
    const g = await gateway();
    const { c, events } = client({ uid: 'alice', server: { ws: g.wsUrl } });
    await c.connect();
    await until(() => g.received(PacketType.KEEPALIVE).length >= 3, 'three keepalives');
    const ka = g.received(PacketType.KEEPALIVE)[0]!;
    expect(ka).toMatchObject({ from: 'alice', to: '0', dataContent: '{}', QoS: false });
    await until(() => ofType(events, 'pong').length >= 3, 'three pongs');
    expect(ofType(events, 'ping').length).toBeGreaterThanOrEqual(3);
    expect(c.state).toBe('online');
  });

  it('link loss - no answer within the keepalive timeout: reconnects through dispatch and re-logs in with the saved firstLoginTime', async () => {
    const g = await gateway({ answerKeepAlive: false });
    const d = await dispatchTo(g);
    const { c, events } = client({ uid: 'alice', dispatchUrl: d.url });
    await c.connect();
    await until(() => ofType(events, 'state').some((e) => e.state === 'reconnecting'), 'reconnecting');
    await until(() => g.logins.length >= 2 && c.state === 'online', 're-login');
    expect(g.logins[1]!.firstLoginTime).toBe(FAKE_FIRST_LOGIN_TIME);
    expect(d.requests.length).toBeGreaterThanOrEqual(2);
    const lost = ofType(events, 'error').find((e) => e.error.code === ClientErrorCode.LINK_LOST);
    expect(lost?.error.message).toMatch(/no answer from the server for 500 ms/);
    expect(ofType(events, 'login').at(-1)?.relogin).toBe(true);
  });

  it('link loss - the node dies: asks dispatch again and moves to the node it names now (a dead node is not retried forever)', async () => {
    const a = await gateway();
    const b = await gateway();
    const d = await dispatchTo(a);
    const { c, events } = client({ uid: 'alice', dispatchUrl: d.url });
    await c.connect();
    expect(c.node).toBe(`fake-${a.port}`);
    // Kill A; for a while dispatch still names it (its record has not expired), then names B.
    await a.stop();
    await until(() => c.state === 'reconnecting', 'reconnecting');
    await until(() => ofType(events, 'reconnect').length >= 3, 'a few failed attempts on the dead node');
    d.target = b;
    await until(() => c.state === 'online', 'online again');
    expect(c.node).toBe(`fake-${b.port}`);
    expect(b.logins).toEqual([{ loginUserId: 'alice', loginToken: null, extra: null, firstLoginTime: FAKE_FIRST_LOGIN_TIME, features: ['notices', 'presence', 'typing'] }]);
    expect(d.requests.length).toBe(1 + ofType(events, 'reconnect').length);
  });

  it('reconnect - waits with exponential backoff while dispatch has no gateway, then connects', async () => {
    const g = await gateway();
    const d = await dispatchTo(null);
    const { c, events } = client({ uid: 'alice', dispatchUrl: d.url, reconnect: { initialDelayMs: 10, maxDelayMs: 80, multiplier: 2, jitter: 0 } });
    const connected = c.connect();
    await until(() => ofType(events, 'reconnect').length >= 5, 'five attempts');
    d.target = g;
    await connected;
    const delays = ofType(events, 'reconnect').map((e) => e.delayMs);
    expect(delays.slice(0, 5)).toEqual([10, 20, 40, 80, 80]);
    const first = ofType(events, 'reconnect')[0]!;
    expect(first.error?.code).toBe(ClientErrorCode.DISPATCH_FAILED);
    expect(first.error?.message).toMatch(/503: no live gateway/);
    expect(c.state).toBe('online');
  });

  it('send - resolves on the ack; the packet is a QoS type 2 with a UUID fingerprint', async () => {
    const g = await gateway();
    const { c, events } = client({ uid: 'alice', server: { ws: g.wsUrl } });
    await c.connect();
    const r = await c.send('bob', 'hello', { typeu: 7 });
    expect(r.acked).toBe(true);
    expect(r.fp).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(g.received(PacketType.DATA)).toEqual([
      { bridge: false, type: 2, dataContent: 'hello', from: 'alice', to: 'bob', fp: r.fp, QoS: true, typeu: 7, sm: -1 },
    ]);
    expect(ofType(events, 'acked')).toEqual([{ type: 'acked', fp: r.fp, to: 'bob', seq: null }]);
    expect(c.pendingCount).toBe(0);
  });

  it('send - without an ack: resends twice with the same fp, then rejects with MessageLostError and reports lost', async () => {
    const g = await gateway({ ackData: false });
    const { c, events } = client({ uid: 'alice', server: { ws: g.wsUrl } });
    await c.connect();
    const t0 = Date.now();
    const err = await c.send('bob', 'are you there?').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MessageLostError);
    const lost = err as MessageLostError;
    expect(lost.code).toBe(ClientErrorCode.MESSAGE_LOST);
    expect(lost.reason).toBe('timeout');
    expect(lost.to).toBe('bob');
    const sent = g.received(PacketType.DATA);
    expect(sent).toHaveLength(3); // original + MobileIMSDK's 2 retries
    expect(new Set(sent.map((p) => p.fp))).toEqual(new Set([lost.fp]));
    expect(ofType(events, 'lost')).toEqual([
      { type: 'lost', fp: lost.fp, to: 'bob', content: 'are you there?', typeu: -1, reason: 'timeout', error: lost },
    ]);
    // 3 ticks of 200 ms after the 150 ms "just sent" window: lost after ~600 ms, not before.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(450);
  });

  it('send - non-QoS: written once without fp, resolves unacked; rejects when not online', async () => {
    const g = await gateway();
    const { c } = client({ uid: 'alice', server: { ws: g.wsUrl } });
    await expect(c.send('bob', 'x', { qos: false })).rejects.toMatchObject({ code: ClientErrorCode.NOT_CONNECTED });
    await c.connect();
    await expect(c.send('bob', 'best effort', { qos: false })).resolves.toEqual({ fp: null, acked: false, seq: null });
    await until(() => g.received(PacketType.DATA).length === 1, 'the packet');
    expect(g.received(PacketType.DATA)[0]).toMatchObject({ fp: null, QoS: false, dataContent: 'best effort' });
  });

  it('send - pending messages are resent with the same fp after a reconnect and resolve on the new node\'s ack', async () => {
    const a = await gateway({ ackData: false });
    const b = await gateway({ ackData: true });
    const d = await dispatchTo(a);
    const { c } = client({ uid: 'alice', dispatchUrl: d.url, qos: PATIENT_QOS });
    await c.connect();
    const sends = [c.send('bob', 'one'), c.send('bob', 'two'), c.send('bob', 'three')];
    await until(() => a.received(PacketType.DATA).length === 3, 'three messages on A');
    const fps = a.received(PacketType.DATA).map((p) => p.fp);
    d.target = b;
    await a.stop();
    const results = await Promise.all(sends);
    expect(results.map((r) => r.fp)).toEqual(fps);
    expect(b.received(PacketType.DATA).map((p) => p.fp)).toEqual(fps);
    expect(c.pendingCount).toBe(0);
  });

  it('send - a message sent while reconnecting waits and goes out after the re-login', async () => {
    const a = await gateway();
    const d = await dispatchTo(a);
    const { c } = client({ uid: 'alice', dispatchUrl: d.url, qos: PATIENT_QOS });
    await c.connect();
    d.target = null;
    await a.stop();
    await until(() => c.state === 'reconnecting', 'reconnecting');
    const sending = c.send('bob', 'written offline');
    expect(c.pendingCount).toBe(1);
    const b = await gateway();
    d.target = b;
    const r = await sending;
    expect(r.acked).toBe(true);
    expect(b.received(PacketType.DATA).map((p) => p.dataContent)).toEqual(['written offline']);
  });

  it('send - while the server stays unreachable a waiting message is reported lost after the retries, not kept forever', async () => {
    const a = await gateway();
    const d = await dispatchTo(a);
    const { c, events } = client({ uid: 'alice', dispatchUrl: d.url });
    await c.connect();
    d.target = null;
    await a.stop();
    await until(() => c.state === 'reconnecting', 'reconnecting');
    const err = await c.send('bob', 'into the void').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MessageLostError);
    expect((err as MessageLostError).reason).toBe('timeout');
    expect(ofType(events, 'lost').map((e) => e.content)).toEqual(['into the void']);
    expect(c.state).toBe('reconnecting');
  });

  it('send - an error packet naming the fp (1032 rejected, 1027 queue full) fails it at once; 1026 rate limited keeps retrying', async () => {
    const g = await gateway({ ackData: false });
    const { c, events } = client({ uid: 'alice', server: { ws: g.wsUrl }, qos: { checkIntervalMs: 100, justSentMs: 60, maxRetries: 8, resendGraceMs: 150 } });
    await c.connect();
    const rejected = c.send('bob', 'spam').catch((e: unknown) => e);
    const limited = c.send('bob', 'fast');
    await until(() => g.received(PacketType.DATA).length === 2, 'both written');
    const [p1, p2] = g.received(PacketType.DATA);
    g.live[0]!.send(errorPacket(ErrorCode.REJECTED, p1!.fp));
    g.live[0]!.send(errorPacket(ErrorCode.RATE_LIMITED, p2!.fp));
    const err = (await rejected) as MessageLostError;
    expect(err).toBeInstanceOf(MessageLostError);
    expect(err.reason).toBe('rejected');
    expect(err.serverCode).toBe(ErrorCode.REJECTED);
    expect(ofType(events, 'error').map((e) => e.error.serverCode)).toEqual(expect.arrayContaining([1032, 1026]));
    // The rate-limited one is resent with the same fp and resolves once acked.
    g.ackData = true;
    await expect(limited).resolves.toEqual({ fp: p2!.fp, acked: true, seq: null });
    expect(g.received(PacketType.DATA).filter((p) => p.fp === p2!.fp).length).toBeGreaterThanOrEqual(2);
  });

  it('receive - acks each QoS message (from/to swapped, bridge copied), delivers it once, acks a duplicate again', async () => {
    const g = await gateway();
    const { c, events } = client({ uid: 'bob', server: { ws: g.wsUrl } });
    await c.connect();
    const conn = g.live[0]!;
    const msg = { ...dataPacket({ from: 'alice', to: 'bob', dataContent: 'hi bob', fp: 'fp-1', QoS: true, typeu: 3 }), bridge: true, sm: 1234 };
    conn.send(msg);
    conn.send(msg);
    conn.send(dataPacket({ from: 'carol', to: 'bob', dataContent: 'same fp, other sender', fp: 'fp-1', QoS: true }));
    await until(() => g.received(PacketType.ACK).length === 3, 'three acks');
    expect(g.received(PacketType.ACK)).toEqual([
      createPacket({ type: 4, dataContent: 'fp-1', from: 'bob', to: 'alice', bridge: true }),
      createPacket({ type: 4, dataContent: 'fp-1', from: 'bob', to: 'alice', bridge: true }),
      createPacket({ type: 4, dataContent: 'fp-1', from: 'bob', to: 'carol' }),
    ]);
    const messages = ofType(events, 'message').map((e) => e.message);
    expect(messages).toHaveLength(2);
    expect(messages[0]).toMatchObject({ fp: 'fp-1', from: 'alice', to: 'bob', content: 'hi bob', typeu: 3, qos: true, serverTime: 1234 });
    expect(messages[1]).toMatchObject({ from: 'carol', content: 'same fp, other sender' });
  });

  it('receive - a non-QoS message is delivered and not acked', async () => {
    const g = await gateway();
    const { c, events } = client({ uid: 'bob', server: { ws: g.wsUrl } });
    await c.connect();
    g.live[0]!.send(dataPacket({ from: 'alice', to: 'bob', dataContent: 'fire and forget' }));
    await until(() => ofType(events, 'message').length === 1, 'the message');
    expect(ofType(events, 'message')[0]!.message).toMatchObject({ fp: null, qos: false, content: 'fire and forget' });
    await sleep(50);
    expect(g.received(PacketType.ACK)).toEqual([]);
  });

  it('receipts - with sendReceipts a received message is answered by a QoS receipt; a receipt resolves the pending send', async () => {
    const g = await gateway({ ackData: false });
    const { c, events } = client({ uid: 'bob', server: { ws: g.wsUrl }, sendReceipts: true, qos: PATIENT_QOS });
    await c.connect();
    const conn = g.live[0]!;
    conn.send(dataPacket({ from: 'alice', to: 'bob', dataContent: 'hello', fp: 'fp-a', QoS: true }));
    await until(() => g.received(PacketType.DATA).length === 1, 'the receipt');
    expect(g.received(PacketType.DATA)[0]).toMatchObject({ from: 'bob', to: 'alice', dataContent: 'fp-a', QoS: true, typeu: DEFAULT_RECEIPT_TYPEU });
    // No receipt for a server push, nor for a receipt.
    conn.send(dataPacket({ from: '0', to: 'bob', dataContent: 'push', fp: 'fp-s', QoS: true }));
    conn.send(dataPacket({ from: 'alice', to: 'bob', dataContent: 'fp-other', fp: 'fp-r', QoS: true, typeu: DEFAULT_RECEIPT_TYPEU }));
    await until(() => ofType(events, 'receipt').length === 1, 'the receipt event');
    expect(ofType(events, 'receipt')).toEqual([{ type: 'receipt', fp: 'fp-other', from: 'alice' }]);
    expect(ofType(events, 'message').map((e) => e.message.content)).toEqual(['hello', 'push']);
    await sleep(30);
    expect(g.received(PacketType.DATA)).toHaveLength(1);
    // An outgoing message whose ack is missing is resolved by the peer's receipt.
    const sending = c.send('alice', 'ack me');
    await until(() => g.received(PacketType.DATA).length === 2, 'the message');
    const fp = g.received(PacketType.DATA)[1]!.fp!;
    conn.send(dataPacket({ from: 'alice', to: 'bob', dataContent: fp, fp: 'fp-r2', QoS: true, typeu: DEFAULT_RECEIPT_TYPEU }));
    await expect(sending).resolves.toEqual({ fp, acked: true, seq: null });
  });

  it('kickout - reports kicked, fails pending messages, ends in state kicked and never reconnects', async () => {
    const g = await gateway({ ackData: false });
    const d = await dispatchTo(g);
    const { c, events } = client({ uid: 'alice', dispatchUrl: d.url, qos: PATIENT_QOS });
    await c.connect();
    const pending = c.send('bob', 'in flight').catch((e: unknown) => e);
    await until(() => g.received(PacketType.DATA).length === 1, 'written');
    g.live[0]!.send(kickoutPacket('alice', 1));
    g.live[0]!.close(4501, 'duplicate login');
    const err = (await pending) as MessageLostError;
    expect(err.reason).toBe('kicked');
    expect(c.state).toBe('kicked');
    expect(ofType(events, 'kicked')).toEqual([{ type: 'kicked', code: 1, reason: null }]);
    await sleep(200);
    expect(g.logins).toHaveLength(1);
    expect(d.requests).toHaveLength(1);
    await expect(c.send('bob', 'after')).rejects.toMatchObject({ code: ClientErrorCode.KICKED });
    await expect(c.connect()).rejects.toMatchObject({ code: ClientErrorCode.KICKED });
  });

  it('close codes - 4501 alone means kicked (terminal); 4000 draining means reconnect', async () => {
    const g = await gateway();
    const { c: drained } = client({ uid: 'dana', server: { ws: g.wsUrl } });
    await drained.connect();
    g.live[0]!.close(4000, 'draining');
    await until(() => drained.state === 'reconnecting' || g.logins.length === 2, 'reconnect after 4000');
    await until(() => drained.state === 'online' && g.logins.length >= 2, 'back online');
    const { c: kicked, events } = client({ uid: 'kim', server: { ws: g.wsUrl } });
    await kicked.connect();
    g.live.find((conn) => conn.packets[0]?.from === 'kim')!.close(4501, 'kicked');
    await until(() => kicked.state === 'kicked', 'kicked');
    expect(ofType(events, 'kicked')).toEqual([{ type: 'kicked', code: -1, reason: 'kicked' }]);
    await sleep(150);
    expect(g.logins.filter((l) => l.loginUserId === 'kim')).toHaveLength(1);
  });

  it('login refused - 1025 rejects connect() with LOGIN_REJECTED and is not retried; 1030 (unavailable) is retried', async () => {
    const g = await gateway({ loginCode: ErrorCode.AUTH_FAILED });
    const { c } = client({ uid: 'mallory', token: 'bad', server: { ws: g.wsUrl } });
    const err = (await c.connect().catch((e: unknown) => e)) as ClientError;
    expect(err).toBeInstanceOf(ClientError);
    expect(err.code).toBe(ClientErrorCode.LOGIN_REJECTED);
    expect(err.serverCode).toBe(1025);
    expect(c.state).toBe('rejected');
    await sleep(150);
    expect(g.logins).toHaveLength(1);

    const g2 = await gateway({ loginCode: ErrorCode.UNAVAILABLE });
    const { c: c2, events } = client({ uid: 'trent', server: { ws: g2.wsUrl } });
    const connecting = c2.connect();
    await until(() => g2.logins.length >= 2, 'a retried login');
    expect(ofType(events, 'reconnect')[0]?.error?.serverCode).toBe(1030);
    g2.loginCode = 0;
    await connecting;
    expect(c2.state).toBe('online');
  });

  it('close - sends a logout, fails pending messages with "closed", stops for good', async () => {
    const g = await gateway({ ackData: false });
    const { c, events } = client({ uid: 'alice', server: { ws: g.wsUrl }, qos: PATIENT_QOS });
    await c.connect();
    const pending = c.send('bob', 'unacked').catch((e: unknown) => e);
    await until(() => g.received(PacketType.DATA).length === 1, 'written');
    await c.close();
    expect(((await pending) as MessageLostError).reason).toBe('closed');
    await until(() => g.received(PacketType.LOGOUT).length === 1, 'logout');
    expect(c.state).toBe('closed');
    const kaBefore = g.received(PacketType.KEEPALIVE).length;
    await sleep(250);
    expect(g.received(PacketType.KEEPALIVE).length).toBe(kaBefore);
    expect(ofType(events, 'state').at(-1)).toMatchObject({ state: 'closed', previous: 'online' });
    await c.close(); // idempotent
  });

  it('connect - a dispatch answer for a dead port is retried until dispatch names a live node', async () => {
    const g = await gateway();
    const d = await dispatchTo(null);
    d.target = { port: await deadPort() };
    const { c, events } = client({ uid: 'alice', dispatchUrl: d.url });
    const connecting = c.connect();
    await until(() => ofType(events, 'reconnect').length >= 2, 'failed attempts');
    expect(ofType(events, 'reconnect')[0]!.error?.code).toBe(ClientErrorCode.CONNECT_FAILED);
    d.target = g;
    await connecting;
    expect(c.node).toBe(`fake-${g.port}`);
  });

  it('tcp - the same flow over MobileIMSDK TCP framing: login, send acked, receive acked', async () => {
    const g = await gateway({ transport: 'tcp' });
    const d = await dispatchTo(g);
    const { c, events } = client({ uid: 'tina', dispatchUrl: d.url, transport: 'tcp' });
    await c.connect();
    expect(g.logins[0]?.loginUserId).toBe('tina');
    await expect(c.send('bob', 'over tcp')).resolves.toMatchObject({ acked: true });
    g.live[0]!.send(dataPacket({ from: 'bob', to: 'tina', dataContent: 'back over tcp', fp: 'fp-t', QoS: true }));
    await until(() => ofType(events, 'message').length === 1, 'the message');
    await until(() => g.received(PacketType.ACK).length === 1, 'the ack');
    await until(() => ofType(events, 'pong').length >= 1, 'a pong');
    // The node dies: TCP clients reconnect like WebSocket ones.
    g.live[0]!.terminate();
    await until(() => g.logins.length === 2 && c.state === 'online', 're-login over tcp');
    expect(g.logins[1]!.firstLoginTime).toBe(FAKE_FIRST_LOGIN_TIME);
  });

  it('options - rejects a reserved uid and a client with neither dispatchUrl nor server', () => {
    expect(() => client({ uid: '0', server: { ws: 'ws://x' } })).toThrow(ClientError);
    expect(() => client({ uid: '', server: { ws: 'ws://x' } })).toThrow(/uid/);
    expect(() => client({ uid: 'a' })).toThrow(/dispatchUrl or server/);
  });
});
