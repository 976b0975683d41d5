import { afterEach, describe, expect, it } from 'vitest';
import { dataPacket, PacketType } from '@switchboard/protocol';
import { DEFAULT_RECEIPT_TYPEU, Emitter, MessageStore, type ClientEvent, type StoreEvent, type SwitchboardClient } from '../../src/index.js';
import { FakeGateway } from './fake-gateway.js';
import { client, closeAll, until } from './helpers.js';

const gateways: FakeGateway[] = [];
afterEach(async () => {
  await closeAll();
  await Promise.all(gateways.splice(0).map((g) => g.stop()));
});

/** A client stand-in: events are emitted by the test, sends are recorded. */
function stubClient() {
  const events = new Emitter<ClientEvent>();
  const sent: Array<{ to: string; content: string; fp: string | undefined }> = [];
  const c = {
    on: events.on.bind(events),
    send: (to: string, content: string, opts: { fp?: string } = {}) => {
      sent.push({ to, content, fp: opts.fp });
      return new Promise(() => {});
    },
  } as unknown as SwitchboardClient;
  return { c, events, sent };
}

describe('MessageStore', () => {
  it('states - sending → sent on the ack → delivered on the receipt; never backwards', () => {
    const { c, events, sent } = stubClient();
    let now = 1_000;
    const store = new MessageStore(c, () => now);
    const log: StoreEvent[] = [];
    store.subscribe((e) => log.push(e));
    const m = store.send('bob', 'hi');
    expect(m).toMatchObject({ peer: 'bob', direction: 'out', content: 'hi', state: 'sending', time: 1_000 });
    expect(sent).toEqual([{ to: 'bob', content: 'hi', fp: m.id }]);
    events.emit({ type: 'receipt', fp: m.id, from: 'bob' });
    events.emit({ type: 'acked', fp: m.id, to: 'bob', seq: null }); // a late ack keeps "delivered"
    expect(store.get(m.id)?.state).toBe('delivered');
    expect(log.map((e) => (e.type === 'read' ? e.type : `${e.type}:${e.message.state}`))).toEqual(['added:sending', 'updated:delivered']);
    const m2 = store.send('bob', 'second');
    now = 2_000;
    events.emit({ type: 'acked', fp: m2.id, to: 'bob', seq: null });
    expect(store.get(m2.id)?.state).toBe('sent');
    expect(store.conversation('bob').map((x) => x.state)).toEqual(['delivered', 'sent']);
  });

  it('states - a lost message fails with its reason; a receipt still proves delivery', () => {
    const { c, events } = stubClient();
    const store = new MessageStore(c);
    const m = store.send('bob', 'hello?');
    events.emit({ type: 'lost', fp: m.id, to: 'bob', content: 'hello?', typeu: -1, reason: 'timeout', error: {} as never });
    expect(store.get(m.id)).toMatchObject({ state: 'failed', error: 'timeout' });
    events.emit({ type: 'acked', fp: m.id, to: 'bob', seq: null });
    expect(store.get(m.id)?.state).toBe('failed');
    events.emit({ type: 'receipt', fp: m.id, from: 'bob' });
    expect(store.get(m.id)?.state).toBe('delivered');
  });

  it('incoming - messages land in the sender\'s conversation, counted unread until read; peers by recent activity', () => {
    const { c, events } = stubClient();
    const store = new MessageStore(c);
    const msg = (from: string, fp: string, at: number) =>
      events.emit({ type: 'message', message: { fp, from, to: 'me', content: `from ${from}`, typeu: -1, qos: true, serverTime: null, seq: null, sentAt: null, receivedAt: at } });
    msg('bob', 'f1', 10);
    msg('carol', 'f2', 20);
    msg('bob', 'f3', 30);
    msg('bob', 'f3', 30); // same fp twice (the SDK dedupes; the store does too)
    expect(store.conversation('bob').map((m) => m.id)).toEqual(['f1', 'f3']);
    expect(store.unread('bob')).toBe(2);
    expect(store.peers()).toEqual(['bob', 'carol']);
    store.markRead('bob');
    expect(store.unread('bob')).toBe(0);
    expect(store.unread('carol')).toBe(1);
  });

  it('seq - a received message shows its send time and seq; an own message gets its seq from the ack, even after the receipt', () => {
    const { c, events } = stubClient();
    const store = new MessageStore(c, () => 5_000);
    events.emit({ type: 'message', message: { fp: 'f1', from: 'bob', to: 'me', content: 'hi', typeu: -1, qos: true, serverTime: null, seq: 7, sentAt: 1_234, receivedAt: 9_999 } });
    expect(store.get('f1')).toMatchObject({ time: 1_234, seq: 7 });
    const m = store.send('bob', 'yo');
    expect(m.seq).toBeNull();
    events.emit({ type: 'receipt', fp: m.id, from: 'bob' });
    events.emit({ type: 'acked', fp: m.id, to: 'bob', seq: 8 });
    expect(store.get(m.id)).toMatchObject({ state: 'delivered', seq: 8, time: 5_000 });
  });

  it('with a client - a conversation against a gateway: sent, then delivered on the peer\'s receipt; incoming stored', async () => {
    const g = await FakeGateway.start();
    gateways.push(g);
    const { c } = client({ uid: 'alice', server: { ws: g.wsUrl } });
    const store = new MessageStore(c);
    await c.connect();
    const m = store.send('bob', 'hello bob');
    await until(() => store.get(m.id)?.state === 'sent', 'sent');
    const data = g.received(PacketType.DATA)[0]!;
    g.live[0]!.send(dataPacket({ from: 'bob', to: 'alice', dataContent: data.fp!, fp: 'r-1', QoS: true, typeu: DEFAULT_RECEIPT_TYPEU }));
    g.live[0]!.send(dataPacket({ from: 'bob', to: 'alice', dataContent: 'hi alice', fp: 'm-2', QoS: true }));
    await until(() => store.conversation('bob').length === 2, 'the reply');
    expect(store.conversation('bob').map((x) => [x.direction, x.content, x.state])).toEqual([
      ['out', 'hello bob', 'delivered'],
      ['in', 'hi alice', 'received'],
    ]);
    store.detach();
  });
});
