import { afterEach, describe, expect, it } from 'vitest';
import { LocalBridge, MemoryHistoryStore, peerConversation, type HistoryStore } from '@switchboard/cluster';
import { asNodeId, asUserId, UnavailableError } from '@switchboard/core';
import { ErrorCode, ExtensionPacketType, PacketType, createPacket, encodePacket, noticePacket, type Packet } from '@switchboard/protocol';
import { cleanup, quietWindow, startGateway, uid, until } from '../fixtures.js';

afterEach(cleanup);

/**
 * A history store whose writes fail while `down` is true. `at once`: with the in-process store's
 * synchronous `appendNow`, which the gateway takes when a store has it; `awaited`: without, as a store
 * that waits on a server (Redis) is written.
 */
function flaky(inner: HistoryStore, mode: 'at once' | 'awaited' = 'at once'): HistoryStore & { down: boolean } {
  const s = Object.create(inner) as HistoryStore & { down: boolean };
  s.down = false;
  s.append = (...args) => (s.down ? Promise.reject(new UnavailableError('history down')) : inner.append(...args));
  s.appendNow =
    mode === 'awaited'
      ? undefined
      : (...args) => {
          if (s.down) throw new UnavailableError('history down');
          return inner.appendNow!(...args);
        };
  return s;
}

const ackOf = (packets: readonly Packet[], fp: string) => packets.find((p) => p.type === PacketType.ACK && p.dataContent === fp);

describe('Gateway history (IM_HISTORY on)', () => {
  it.each(['ws', 'tcp'] as const)('C2C over %s - each message is written once with seq 1, 2, 3; the receiver and the sender\'s ack carry it', async (t) => {
    const history = new MemoryHistoryStore();
    const f = await startGateway({ history });
    const a = await f.login(uid('a'), t);
    const b = await f.login(uid('b'), t);
    // One after the other (each acked before the next is sent), so the order of the seqs is known.
    const fps: string[] = [];
    for (const [from, to, text] of [[a, b, 'one'], [b, a, 'two'], [a, b, 'three']] as const) {
      const fp = await from.send(to.uid!, text);
      await from.waitForAck(fp);
      fps.push(fp);
    }
    const got = [await b.waitForMessage((p) => p.fp === fps[0]), await a.waitForMessage((p) => p.fp === fps[1]), await b.waitForMessage((p) => p.fp === fps[2])];
    expect(got.map((p) => p.seq)).toEqual([1, 2, 3]);
    for (const p of got) expect(p.sentAt).toBeGreaterThan(Date.now() - 60_000);
    expect(ackOf(a.packets, fps[0]!)?.seq).toBe(1);
    expect(ackOf(b.packets, fps[1]!)?.seq).toBe(2);
    expect(ackOf(a.packets, fps[2]!)?.seq).toBe(3);
    const conv = peerConversation(asUserId(a.uid!), asUserId(b.uid!));
    const stored = await history.before(conv, { limit: 10 });
    expect(stored.map((m) => [m.seq, m.fp, m.from, m.to, m.dataContent])).toEqual([
      [1, fps[0], a.uid, b.uid, 'one'],
      [2, fps[1], b.uid, a.uid, 'two'],
      [3, fps[2], a.uid, b.uid, 'three'],
    ]);
  });

  it('a resend of the same fp gets no second seq, and its ack carries the first', async () => {
    const history = new MemoryHistoryStore();
    const f = await startGateway({ history });
    const a = await f.login(uid('a'), 'ws');
    const b = await f.login(uid('b'), 'ws');
    const fp = await a.send(b.uid!, 'once');
    await a.waitForAck(fp);
    await a.send(b.uid!, 'once', { fp });
    await until(() => a.packets.filter((p) => p.type === PacketType.ACK && p.dataContent === fp).length === 2, 'the second ack');
    expect(a.packets.filter((p) => p.type === PacketType.ACK && p.dataContent === fp).map((p) => p.seq)).toEqual([1, 1]);
    expect(await history.lastSeq(peerConversation(asUserId(a.uid!), asUserId(b.uid!)))).toBe(1);
  });

  it('a client cannot set seq or sentAt: the gateway overwrites them, and strips them with history off', async () => {
    for (const history of [new MemoryHistoryStore(), null]) {
      const f = await startGateway({ history });
      const a = await f.login(uid('a'), 'ws');
      const b = await f.login(uid('b'), 'ws');
      const fp = `fp-${Math.random()}`;
      await a.sendRaw(JSON.stringify({ ...createPacket({ type: 2, from: a.uid!, to: b.uid!, dataContent: 'x', fp, QoS: true }), seq: 999, sentAt: 5 }));
      const m = await b.waitForMessage((p) => p.fp === fp);
      if (history) expect([m.seq, m.sentAt! > 5]).toEqual([1, true]);
      else expect([m.seq, m.sentAt]).toEqual([undefined, undefined]);
    }
  });

  it.each(['at once', 'awaited'] as const)('history down (written %s) - the message is neither delivered nor acked; the resend after recovery is, with seq 1', async (mode) => {
    const history = flaky(new MemoryHistoryStore(), mode);
    const f = await startGateway({ history });
    const a = await f.login(uid('a'), 'tcp');
    const b = await f.login(uid('b'), 'ws');
    history.down = true;
    const fp = await a.send(b.uid!, 'are you writing this down?');
    await until(async () => (await f.metric('switchboard_history_appends_total', { result: 'error' })) === 1, 'the failed write');
    await quietWindow(200);
    expect(ackOf(a.packets, fp)).toBeUndefined();
    expect(b.messages).toHaveLength(0);
    history.down = false;
    await a.send(b.uid!, 'are you writing this down?', { fp });
    expect((await b.waitForMessage((p) => p.fp === fp)).seq).toBe(1);
    await a.waitForAck(fp);
  });

  it('messages without QoS and server pushes are written too; a push lives in the conversation with "0"', async () => {
    const history = new MemoryHistoryStore();
    const f = await startGateway({ history });
    const a = await f.login(uid('a'), 'ws');
    const b = await f.login(uid('b'), 'ws');
    await a.send(b.uid!, 'no qos', { qos: false });
    expect((await b.waitForMessage((p) => p.dataContent === 'no qos')).seq).toBe(1);
    const { fp } = f.gw.push(b.uid!, 'from the server');
    expect((await b.waitForMessage((p) => p.fp === fp)).seq).toBe(1);
    const server = await history.before(peerConversation(asUserId('0'), asUserId(b.uid!)), { limit: 5 });
    expect(server.map((m) => [m.seq, m.from, m.dataContent])).toEqual([[1, '0', 'from the server']]);
    const list = await history.conversations(asUserId(b.uid!), { limit: 10 });
    expect(list).toHaveLength(2);
  });

  it('SDK control messages (typeu ≤ -100, e.g. receipts -101) are delivered but not written: no seq, no unread', async () => {
    const history = new MemoryHistoryStore();
    const f = await startGateway({ history });
    const a = await f.login(uid('a'), 'ws');
    const b = await f.login(uid('b'), 'ws');
    const receipt = await a.send(b.uid!, 'receipt', { typeu: -101 });
    const m = await b.waitForMessage((p) => p.fp === receipt);
    expect(m.seq).toBeUndefined();
    await a.waitForAck(receipt);
    await a.send(b.uid!, 'noqos receipt', { typeu: -101, qos: false });
    await b.waitForMessage((p) => p.dataContent === 'noqos receipt');
    const text = await a.send(b.uid!, 'a real message', { typeu: 7 });
    expect((await b.waitForMessage((p) => p.fp === text)).seq).toBe(1);
    expect((await history.before(peerConversation(asUserId(a.uid!), asUserId(b.uid!)), { limit: 10 })).map((x) => x.dataContent)).toEqual(['a real message']);
  });

  it('a receiver the receiver check refuses gets nothing written to history (error 1036, no ack)', async () => {
    const history = new MemoryHistoryStore();
    const f = await startGateway({ history, receiverExists: async (u) => !u.startsWith('ghost') });
    const a = await f.login(uid('a'), 'ws');
    const fp = await a.send('ghost-1', 'anyone there?');
    const err = await a.waitForPacket(PacketType.ERROR, (p) => p.dataContent?.includes(fp) === true);
    expect(JSON.parse(err.dataContent!).errorCode).toBe(ErrorCode.UNKNOWN_RECEIVER);
    expect(await history.lastSeq(peerConversation(asUserId(a.uid!), asUserId('ghost-1')))).toBe(0);
    expect(ackOf(a.packets, fp)).toBeUndefined();
  });

  it('an offline receiver gets the message at login with its seq and send time', async () => {
    const history = new MemoryHistoryStore();
    const f = await startGateway({ history });
    const a = await f.login(uid('a'), 'ws');
    const bid = uid('b');
    const fp = await a.send(bid, 'while you were away');
    await a.waitForAck(fp);
    const sentAt = (await history.before(peerConversation(asUserId(a.uid!), asUserId(bid)), { limit: 1 }))[0]!.sentAt;
    const b = await f.login(bid, 'tcp');
    const m = await b.waitForMessage((p) => p.fp === fp);
    expect([m.seq, m.sentAt]).toEqual([1, sentAt]);
  });
});

describe('Gateway notices (bridge notify)', () => {
  it('reach a session that announced the feature at login, never a MobileIMSDK client', async () => {
    const f = await startGateway();
    const sdk = await f.login(uid('sdk'), 'ws', { login: { features: ['notices'] } });
    const plain = await f.login(uid('plain'), 'tcp');
    const other = new LocalBridge(f.bus, asNodeId('dispatch-test'));
    await other.start(() => {});
    try {
      for (const c of [sdk, plain]) {
        const packet = encodePacket(noticePacket(c.uid!, { kind: 'read', reader: 'bob', seq: 7 }));
        await other.send(f.gw.nodeId, { type: 'notify', origin: other.nodeId, to: asUserId(c.uid!), feature: 'notices', packet });
      }
      const n = await sdk.waitForPacket(ExtensionPacketType.NOTICE);
      expect(JSON.parse(n.dataContent!)).toEqual({ kind: 'read', reader: 'bob', seq: 7 });
      await quietWindow(150);
      expect(plain.packets.filter((p) => p.type === ExtensionPacketType.NOTICE)).toEqual([]);
    } finally {
      await other.close();
    }
  });
});
