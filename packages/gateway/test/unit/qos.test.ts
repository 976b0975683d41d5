import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, PacketType, type Packet } from '@switchboard/protocol';
import type { WireShape } from '@switchboard/testkit';
import { cleanup, quietWindow, startGateway, uid, until, wireCopies, type Transport } from '../fixtures.js';

afterEach(cleanup);

describe('Gateway C2S', () => {
  it('C2S - acked from "0"; a duplicate fp is acked again but handed to the hook once', async () => {
    const seen: Packet[] = [];
    const f = await startGateway({ hooks: { onC2S: (p) => seen.push(p) } });
    const me = uid('c2s');
    const c = await f.login(me, 'tcp');
    const fp = await c.send('0', 'friend request', { typeu: 9 });
    await c.waitForAck(fp);
    const ack = c.packets.find((p) => p.type === PacketType.ACK)!;
    expect(ack).toMatchObject({ from: '0', to: me, dataContent: fp, QoS: false });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ from: me, to: '0', dataContent: 'friend request', fp, typeu: 9 });

    // The client missed the ack and resends the same fp.
    await c.send('0', 'friend request', { fp, typeu: 9 });
    await until(() => c.acks.filter((a) => a === fp).length === 2, 'the second ack of the resent C2S message');
    await quietWindow(100);
    expect(seen).toHaveLength(1);

    // A new fp is a new message.
    const fp2 = await c.send('0', 'another');
    await c.waitForAck(fp2);
    expect(seen.map((p) => p.fp)).toEqual([fp, fp2]);
  });

  it('C2S - a non-QoS message reaches the hook without an ack', async () => {
    const seen: Packet[] = [];
    const f = await startGateway({ hooks: { onC2S: (p) => seen.push(p) } });
    const c = await f.login(uid('c2s-nq'), 'ws', { shape: 'h5' });
    await c.send('0', 'fire and forget', { qos: false });
    await until(() => seen.length === 1, 'the C2S hook call');
    await quietWindow(100);
    expect(c.acks).toHaveLength(0);
  });

  it('C2S - a hook that throws does not break the connection', async () => {
    const f = await startGateway({
      hooks: {
        onC2S: () => {
          throw new Error('app bug');
        },
      },
    });
    const c = await f.login(uid('c2s-throw'), 'ws');
    const fp = await c.send('0', 'x');
    await c.waitForAck(fp);
    await c.keepAlive();
  });
});

const pairs: Array<[Transport, WireShape, Transport, WireShape]> = [
  ['tcp', 'java', 'ws', 'h5'],
  ['ws', 'h5', 'tcp', 'java'],
  ['ws', 'java', 'tcp', 'h5'],
];

describe.each(pairs)('Gateway C2C QoS from %s/%s to %s/%s', (st, ss, rt, rs) => {
  it('delivers once, and acks the sender from the receiver', async () => {
    const f = await startGateway();
    const s = await f.login(uid('snd'), st, { shape: ss });
    const r = await f.login(uid('rcv'), rt, { shape: rs });
    const fp = await s.send(r.uid!, 'hello 你好 <&>', { typeu: 7 });
    const m = await r.waitForMessage((p) => p.fp === fp);
    expect(m).toMatchObject({ type: 2, from: s.uid, to: r.uid, dataContent: 'hello 你好 <&>', QoS: true, typeu: 7, bridge: false });
    await s.waitForAck(fp);
    expect(s.packets.find((p) => p.type === PacketType.ACK)).toMatchObject({ from: r.uid, to: s.uid, dataContent: fp });
    await until(() => f.gw.custodyCount === 0, 'custody to end');
    await quietWindow(150);
    expect(wireCopies(r, fp)).toBe(1);
    expect(s.acks).toEqual([fp]);
  });

  it('acks the sender only after the receiver acked (end-to-end), exactly once', async () => {
    const f = await startGateway({ custodyResendMs: 2_000, custodyGiveUpMs: 4_000 });
    const s = await f.login(uid('snd'), st, { shape: ss });
    const r = await f.login(uid('rcv'), rt, { shape: rs, autoAck: false });
    const fp = await s.send(r.uid!, 'wait for me');
    const m = await r.waitForMessage((p) => p.fp === fp);
    await quietWindow(300);
    expect(s.acks).toHaveLength(0);
    expect(f.gw.custodyCount).toBe(1);
    await r.ack(m);
    await s.waitForAck(fp);
    await quietWindow(300);
    expect(s.acks).toEqual([fp]);
    expect(f.gw.custodyCount).toBe(0);
    expect(await f.offlineCount(r.uid!)).toBe(0);
  });
});

describe('Gateway C2C QoS custody', () => {
  it('a receiver that never acks - one server resend, then offline storage and an ack from the receiver; next login delivers it', async () => {
    const f = await startGateway({ custodyResendMs: 300, custodyGiveUpMs: 800 });
    const s = await f.login(uid('snd'), 'tcp');
    const rid = uid('mute');
    const r = await f.login(rid, 'ws', { autoAck: false });
    const t0 = Date.now();
    const fp = await s.send(rid, 'are you there?');
    await r.waitForMessage((p) => p.fp === fp);
    await until(() => wireCopies(r, fp) === 2, 'the server resend');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    await s.waitForAck(fp);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(700);
    expect(s.packets.find((p) => p.type === PacketType.ACK)).toMatchObject({ from: rid, to: s.uid, dataContent: fp });
    expect(await f.offlineCount(rid)).toBe(1);
    expect(f.gw.custodyCount).toBe(0);
    await quietWindow(300);
    // Exactly one resend: the receiver saw the fp twice on the wire, no more.
    expect(wireCopies(r, fp)).toBe(2);

    // The receiver comes back on a new connection: the queue is delivered and emptied by its ack.
    await r.close();
    const r2 = await f.login(rid, 'tcp');
    const m = await r2.waitForMessage((p) => p.fp === fp);
    expect(m).toMatchObject({ from: s.uid, to: rid, dataContent: 'are you there?', QoS: true });
    await until(async () => (await f.offlineCount(rid)) === 0, 'the offline queue to be emptied by the ack');
    await quietWindow(200);
    expect(s.acks).toEqual([fp]);
  });

  it('a receiver that never acks - a re-login on the same connection delivers the queue again', async () => {
    const f = await startGateway({ custodyResendMs: 200, custodyGiveUpMs: 500 });
    const s = await f.login(uid('snd'), 'ws');
    const rid = uid('mute');
    const r = await f.login(rid, 'tcp', { autoAck: false });
    const fp = await s.send(rid, 'hello?');
    await s.waitForAck(fp);
    expect(await f.offlineCount(rid)).toBe(1);
    const copies = wireCopies(r, fp);
    r.autoAck = true;
    await r.login(rid, { firstLoginTime: r.firstLoginTime });
    await until(() => wireCopies(r, fp) === copies + 1, 'the queued message after the re-login');
    await until(async () => (await f.offlineCount(rid)) === 0, 'the offline queue to be emptied');
  });

  it('receiver offline - the sender is acked once stored; at login the receiver gets every message in order, acks empty the queue', async () => {
    const f = await startGateway();
    const s = await f.login(uid('snd'), 'ws', { shape: 'h5' });
    const rid = uid('away');
    const fps: string[] = [];
    for (let i = 0; i < 6; i++) {
      const fp = await s.send(rid, `offline #${i}`);
      fps.push(fp);
      await s.waitForAck(fp);
    }
    expect(s.acks).toEqual(fps);
    expect(s.packets.filter((p) => p.type === PacketType.ACK).every((p) => p.from === rid)).toBe(true);
    expect(await f.offlineCount(rid)).toBe(6);

    const r = await f.login(rid, 'tcp');
    await until(() => r.messages.length === 6, 'all six offline messages');
    expect(r.messages.map((m) => m.fp)).toEqual(fps);
    expect(r.messages.map((m) => m.dataContent)).toEqual(fps.map((_, i) => `offline #${i}`));
    expect(r.messages.every((m) => m.from === s.uid && m.QoS)).toBe(true);
    await until(async () => (await f.offlineCount(rid)) === 0, 'the offline queue to be emptied by the acks');
    expect(await f.metric('switchboard_offline_delivered_total')).toBe(6);

    // Nothing comes twice: a later login finds an empty queue.
    await r.close();
    const r2 = await f.login(rid, 'ws');
    await quietWindow(200);
    expect(r2.messages).toHaveLength(0);
    expect(s.acks).toEqual(fps);
  });

  it('a long offline queue of big messages is paced to the connection, not closed as a slow consumer', async () => {
    // 1000 messages of ~6 KB: more than loopback socket buffers absorb at once.
    const f = await startGateway({ maxOutboundBytes: 256 * 1024, rateLimitPerSec: 100_000, rateLimitBurst: 100_000 });
    const s = await f.login(uid('snd'), 'ws');
    const rid = uid('away');
    const fps: string[] = [];
    for (let i = 0; i < 1_000; i++) fps.push(await s.send(rid, `${i} `.padEnd(5_900, '.')));
    await until(() => s.acks.length === 1_000, 'every message to be stored and acked');
    expect(await f.offlineCount(rid)).toBe(1_000);
    const r = await f.login(rid, 'tcp');
    await until(() => r.messages.length === 1_000, 'the whole queue', 10_000);
    expect(r.messages.map((m) => m.fp)).toEqual(fps);
    await until(async () => (await f.offlineCount(rid)) === 0, 'the queue to be emptied');
    expect(r.closed).toBe(false);
    expect(await f.metric('switchboard_slow_consumer_closes_total')).toBe(0);
  });

  it('offline messages not acked stay queued for the next login', async () => {
    const f = await startGateway();
    const s = await f.login(uid('snd'), 'tcp');
    const rid = uid('away');
    const fp = await s.send(rid, 'keep me');
    await s.waitForAck(fp);
    const r = await f.login(rid, 'ws', { autoAck: false });
    await r.waitForMessage((m) => m.fp === fp);
    await r.close();
    expect(await f.offlineCount(rid)).toBe(1);
    const r2 = await f.login(rid, 'tcp');
    await r2.waitForMessage((m) => m.fp === fp);
    await until(async () => (await f.offlineCount(rid)) === 0, 'the offline queue to be emptied');
  });

  it('a late ack (after offline storage) removes the message, so the next login does not get it again', async () => {
    const f = await startGateway({ custodyResendMs: 200, custodyGiveUpMs: 500 });
    const s = await f.login(uid('snd'), 'ws');
    const rid = uid('late');
    const r = await f.login(rid, 'tcp', { autoAck: false });
    const fp = await s.send(rid, 'ack me late');
    const m = await r.waitForMessage((p) => p.fp === fp);
    await s.waitForAck(fp);
    expect(await f.offlineCount(rid)).toBe(1);
    await r.ack(m);
    await until(async () => (await f.offlineCount(rid)) === 0, 'the late ack to remove the queued message');
    await r.close();
    const r2 = await f.login(rid, 'ws');
    await quietWindow(300);
    expect(r2.messages).toHaveLength(0);
    expect(s.acks).toEqual([fp]);
  });

  it('a receiver that disconnects while holding an unacked message - stored offline at once, sender acked', async () => {
    const f = await startGateway({ custodyResendMs: 3_000, custodyGiveUpMs: 6_000 });
    const s = await f.login(uid('snd'), 'tcp');
    const rid = uid('gone');
    const r = await f.login(rid, 'ws', { autoAck: false });
    const fp = await s.send(rid, 'in flight');
    await r.waitForMessage((p) => p.fp === fp);
    const t0 = Date.now();
    await r.close({ abrupt: true });
    await s.waitForAck(fp, { timeoutMs: 2_000 });
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(await f.offlineCount(rid)).toBe(1);
  });

  it('a sender resend of the same fp while in custody does not fan out; after completion it is re-acked', async () => {
    const f = await startGateway({ custodyResendMs: 2_000, custodyGiveUpMs: 4_000 });
    const s = await f.login(uid('snd'), 'tcp');
    const r = await f.login(uid('rcv'), 'ws', { autoAck: false });
    const fp = await s.send(r.uid!, 'once');
    const m = await r.waitForMessage((p) => p.fp === fp);
    await s.send(r.uid!, 'once', { fp });
    await s.send(r.uid!, 'once', { fp });
    await quietWindow(250);
    expect(wireCopies(r, fp)).toBe(1);
    expect(s.acks).toHaveLength(0);
    await r.ack(m);
    await s.waitForAck(fp);
    await quietWindow(100);
    expect(s.acks).toEqual([fp]);

    // The sender missed the ack and resends after completion: re-acked, not delivered again.
    await s.send(r.uid!, 'once', { fp });
    await until(() => s.acks.length === 2, 'the re-ack of a completed message');
    expect(s.acks).toEqual([fp, fp]);
    await quietWindow(200);
    expect(wireCopies(r, fp)).toBe(1);
  });

  it('the same fp from two different senders is two messages', async () => {
    const f = await startGateway();
    const a = await f.login(uid('a'), 'tcp');
    const b = await f.login(uid('b'), 'ws');
    const r = await f.login(uid('r'), 'ws');
    const fp = '11111111-2222-4333-8444-555555555555';
    await a.send(r.uid!, 'from a', { fp });
    await a.waitForAck(fp);
    await b.send(r.uid!, 'from b', { fp });
    await b.waitForAck(fp);
    // The receiver dedupes by fp like a MobileIMSDK client, but both reached its socket.
    expect(wireCopies(r, fp)).toBe(2);
  });

  it('from ≠ the logged-in user - error 1028 and no delivery', async () => {
    const f = await startGateway();
    const s = await f.login(uid('mallory'), 'tcp');
    const r = await f.login(uid('victim'), 'ws');
    const fp = await s.send(r.uid!, 'spoofed', { from: 'alice' });
    await s.waitForPacket(PacketType.ERROR);
    expect(s.errors[0]!.errorCode).toBe(ErrorCode.FROM_MISMATCH);
    await s.send(r.uid!, 'spoofed non-QoS', { from: 'alice', qos: false });
    await until(() => s.errors.length === 2, 'the second 1028');
    expect(s.errors[1]!.errorCode).toBe(ErrorCode.FROM_MISMATCH);
    await quietWindow(250);
    expect(r.packets.filter((p) => p.type === PacketType.DATA)).toHaveLength(0);
    expect(s.acks).not.toContain(fp);
    expect(f.gw.custodyCount).toBe(0);
    expect(await f.offlineCount(r.uid!)).toBe(0);
    // The sender stays connected and can send properly.
    const ok = await s.send(r.uid!, 'honest');
    await s.waitForAck(ok);
  });

  it('non-QoS to an online user is delivered without an ack', async () => {
    const f = await startGateway();
    const s = await f.login(uid('snd'), 'ws');
    const r = await f.login(uid('rcv'), 'tcp');
    await s.send(r.uid!, 'best effort', { qos: false });
    const m = await r.waitForMessage((p) => p.dataContent === 'best effort');
    expect(m).toMatchObject({ QoS: false, fp: null, from: s.uid });
    await quietWindow(150);
    expect(s.acks).toHaveLength(0);
    expect(r.acksSent).toBe(0);
  });

  it('non-QoS to an offline user is dropped silently', async () => {
    const f = await startGateway();
    const s = await f.login(uid('snd'), 'tcp');
    const rid = uid('away');
    await s.send(rid, 'into the void', { qos: false });
    await quietWindow(250);
    expect(s.errors).toHaveLength(0);
    expect(s.acks).toHaveLength(0);
    expect(s.closed).toBe(false);
    expect(await f.offlineCount(rid)).toBe(0);
    const r = await f.login(rid, 'ws');
    await quietWindow(200);
    expect(r.messages).toHaveLength(0);
  });
});

describe('Gateway server push (S2C)', () => {
  it('a QoS push is delivered from "0", acked by the client, and leaves custody', async () => {
    const delivered: Packet[] = [];
    const f = await startGateway({ hooks: { onDelivered: (p) => delivered.push(p) } });
    const r = await f.login(uid('pushed'), 'tcp');
    const { fp } = f.gw.push(r.uid!, 'server says hi', { typeu: 77 });
    const m = await r.waitForMessage((p) => p.fp === fp);
    expect(m).toMatchObject({ from: '0', to: r.uid, QoS: true, typeu: 77, dataContent: 'server says hi' });
    await until(() => f.gw.custodyCount === 0, 'the push custody to end');
    expect(delivered.map((p) => p.fp)).toEqual([fp]);
  });

  it('a QoS push to an offline user is stored and delivered at login', async () => {
    const f = await startGateway();
    const rid = uid('later');
    const { fp } = f.gw.push(rid, 'while you were away');
    await until(async () => (await f.offlineCount(rid)) === 1, 'the push to be stored offline');
    const r = await f.login(rid, 'ws', { shape: 'h5' });
    await r.waitForMessage((p) => p.fp === fp);
    await until(async () => (await f.offlineCount(rid)) === 0, 'the queue to be emptied');
  });
});

describe("Gateway message size vs the receiver's transport", () => {
  // A MobileIMSDK TCP client drops its connection on an inbound frame over 6144 bytes; WebSocket
  // senders may send up to 65536. Delivering such a message would knock a TCP receiver offline at
  // every attempt and at every login (its offline queue would hold the poison).
  const big = 'b'.repeat(10_000);

  it('QoS to a TCP receiver - error 1031 with the fp to the sender, no ack, the receiver is untouched', async () => {
    const lost: string[] = [];
    const f = await startGateway({ hooks: { onLost: (p, reason) => lost.push(`${p.fp}:${reason}`) } });
    const s = await f.login(uid('snd'), 'ws');
    const r = await f.login(uid('rcv'), 'tcp');
    const fp = await s.send(r.uid!, big);
    await s.waitForPacket(PacketType.ERROR);
    expect(s.errors).toEqual([{ errorCode: ErrorCode.MESSAGE_TOO_LARGE, errorMsg: fp }]);
    expect(lost).toEqual([`${fp}:too_large`]);
    await quietWindow(200);
    expect(s.acks).toHaveLength(0);
    expect(r.closed).toBe(false);
    expect(r.transportErrors).toHaveLength(0);
    expect(r.messages).toHaveLength(0);
    expect(await f.offlineCount(r.uid!)).toBe(0);
    expect(f.gw.custodyCount).toBe(0);
    // Normal traffic goes on.
    const ok = await s.send(r.uid!, 'small');
    await r.waitForMessage((m) => m.fp === ok);
    await s.waitForAck(ok);
  });

  it('non-QoS to a TCP receiver - error 1031 to the sender, the receiver is untouched', async () => {
    const f = await startGateway();
    const s = await f.login(uid('snd'), 'ws');
    const r = await f.login(uid('rcv'), 'tcp');
    await s.send(r.uid!, big, { qos: false });
    await s.waitForPacket(PacketType.ERROR);
    expect(s.errors[0]!.errorCode).toBe(ErrorCode.MESSAGE_TOO_LARGE);
    await quietWindow(150);
    expect(r.closed).toBe(false);
    expect(r.packets.filter((p) => p.type === PacketType.DATA)).toHaveLength(0);
  });

  it('the same message to a WebSocket receiver is delivered', async () => {
    const f = await startGateway();
    const s = await f.login(uid('snd'), 'ws');
    const r = await f.login(uid('rcv'), 'ws');
    const fp = await s.send(r.uid!, big);
    expect((await r.waitForMessage((m) => m.fp === fp)).dataContent).toBe(big);
    await s.waitForAck(fp);
  });

  it('stored offline, it is skipped at a TCP login (the rest of the queue flows) and delivered at a WebSocket login', async () => {
    const f = await startGateway();
    const s = await f.login(uid('snd'), 'ws');
    const rid = uid('away');
    const bigFp = await s.send(rid, big);
    const smallFp = await s.send(rid, 'small');
    await until(() => s.acks.length === 2, 'both messages to be stored');
    const tcp = await f.login(rid, 'tcp');
    await tcp.waitForMessage((m) => m.fp === smallFp);
    await until(async () => (await f.offlineCount(rid)) === 1, 'the small one to be acked away');
    await quietWindow(150);
    expect(tcp.closed).toBe(false);
    expect(tcp.transportErrors).toHaveLength(0);
    await tcp.close();
    const ws = await f.login(rid, 'ws');
    await ws.waitForMessage((m) => m.fp === bigFp);
    await until(async () => (await f.offlineCount(rid)) === 0, 'the queue to be emptied');
  });
});
