import { afterEach, describe, expect, it } from 'vitest';
import { dataPacket, PacketType } from '@switchboard/protocol';
import {
  DEFAULT_RECEIPT_TYPEU,
  Emitter,
  MessageStore,
  type ClientEvent,
  type Conversation,
  type IncomingMessage,
  type StoreEvent,
  type StoredMessage,
  type SwitchboardClient,
} from '../../src/index.js';
import { FakeGateway } from './fake-gateway.js';
import { client, closeAll, until } from './helpers.js';

const gateways: FakeGateway[] = [];
afterEach(async () => {
  await closeAll();
  await Promise.all(gateways.splice(0).map((g) => g.stop()));
});

/** A client stand-in for user `me`: events are emitted by the test, sends and user API calls are recorded, the API answers from `api`. */
function stubClient() {
  const events = new Emitter<ClientEvent>();
  const sent: Array<{ to: string; content: string; fp: string | undefined }> = [];
  const calls: unknown[][] = [];
  const api = { conversations: [] as Conversation[], groups: [] as Array<{ id: string; name: string }>, history: new Map<string, StoredMessage[]>() };
  const c = {
    uid: 'me',
    groupPrefix: 'g:',
    on: events.on.bind(events),
    send: (to: string, content: string, opts: { fp?: string } = {}) => {
      sent.push({ to, content, fp: opts.fp });
      return new Promise(() => {});
    },
    conversations: async (q: unknown) => (calls.push(['conversations', q]), api.conversations),
    groups: async () => (calls.push(['groups']), api.groups),
    history: async (ref: { peer?: string; group?: string }, q: unknown) => (calls.push(['history', ref, q]), api.history.get(ref.peer ?? `g:${ref.group}`) ?? []),
    markRead: async (ref: unknown, seq: number) => (calls.push(['markRead', ref, seq]), { readSeq: seq }),
  } as unknown as SwitchboardClient;
  return { c, events, sent, calls, api };
}

/** A received message as the client reports it (to `me`, no seq unless given). */
function incoming(m: Partial<IncomingMessage> & { fp: string; from: string }): ClientEvent {
  const message: IncomingMessage = { to: 'me', group: null, rawFrom: m.from, content: `from ${m.from}`, typeu: -1, qos: true, serverTime: null, seq: null, sentAt: null, receivedAt: 0, ...m };
  return { type: 'message', message };
}

/** A history entry of the conversation with `with` (or group address `g:…`). */
function stored(seq: number, from: string, content: string, to = 'me'): StoredMessage {
  return { seq, fp: `h-${to}-${seq}`, from, to, content, typeu: -1, sentAt: 1_000 * seq };
}

/** Flush resolved promises (the stub API answers at once). */
const settle = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

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
    expect(log.map((e) => ('message' in e ? `${e.type}:${e.message.state}` : e.type))).toEqual(['added:sending', 'updated:delivered']);
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
    const msg = (from: string, fp: string, at: number) => events.emit(incoming({ fp, from, receivedAt: at }));
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
    events.emit(incoming({ fp: 'f1', from: 'bob', content: 'hi', seq: 7, sentAt: 1_234, receivedAt: 9_999 }));
    expect(store.get('f1')).toMatchObject({ time: 1_234, seq: 7 });
    const m = store.send('bob', 'yo');
    expect(m.seq).toBeNull();
    events.emit({ type: 'receipt', fp: m.id, from: 'bob' });
    events.emit({ type: 'acked', fp: m.id, to: 'bob', seq: 8 });
    expect(store.get(m.id)).toMatchObject({ state: 'delivered', seq: 8, time: 5_000 });
  });

  it('groups - a group message lands in the conversation keyed by the group\'s address, with its sender; sendToGroup sends there; names come from load()', async () => {
    const { c, events, sent, api } = stubClient();
    const store = new MessageStore(c);
    events.emit(incoming({ fp: 'g1', from: 'alice', to: 'g:team', group: 'team', rawFrom: 'g:team:alice', seq: 4, sentAt: 40 }));
    events.emit(incoming({ fp: 'p1', from: 'alice', seq: 1, sentAt: 30 }));
    expect(store.get('g1')).toMatchObject({ peer: 'g:team', group: 'team', from: 'alice', direction: 'in', time: 40 });
    expect(store.get('p1')).toMatchObject({ peer: 'alice', group: null, from: 'alice' });
    expect(store.conversations()).toEqual([
      { peer: 'g:team', group: 'team', name: 'team', unread: 1, lastTime: 40 },
      { peer: 'alice', group: null, name: 'alice', unread: 1, lastTime: 30 },
    ]);
    const mine = store.sendToGroup('team', 'hi all');
    expect(mine).toMatchObject({ peer: 'g:team', group: 'team', from: 'me', direction: 'out', state: 'sending' });
    expect(sent).toEqual([{ to: 'g:team', content: 'hi all', fp: mine.id }]);
    events.emit({ type: 'acked', fp: mine.id, to: 'g:team', seq: 5 });
    // No read receipts in groups: a notice naming the group leaves it at "sent".
    events.emit({ type: 'read', peer: 'g:team', seq: 9, group: 'team' });
    expect(store.get(mine.id)).toMatchObject({ state: 'sent', seq: 5 });
    api.groups = [{ id: 'team', name: 'The Team' }, { id: 'quiet', name: 'Quiet corner' }];
    await store.load();
    expect(store.conversations().map((x) => [x.peer, x.name])).toEqual([['g:team', 'The Team'], ['alice', 'alice'], ['g:quiet', 'Quiet corner']]);
  });

  it('load - unread counts from the server; live messages it already counted are not counted again; markRead moves the server marker (syncReads) once per new seq', async () => {
    const { c, events, calls, api } = stubClient();
    const store = new MessageStore(c, { syncReads: true });
    const log: StoreEvent[] = [];
    store.subscribe((e) => log.push(e));
    api.conversations = [
      { peer: 'bob', last: stored(7, 'bob', 'seven'), unread: 3, lastSeq: 7, readSeq: 4 },
      { group: 'team', name: 'The Team', last: null, unread: 0, lastSeq: 2, readSeq: 2 },
    ];
    events.emit(incoming({ fp: 'b7', from: 'bob', seq: 7, sentAt: 7_000 })); // arrived while the list was on its way
    await store.load();
    expect(calls).toEqual([['conversations', { limit: 100 }], ['groups']]);
    expect(log.at(-1)).toEqual({ type: 'conversations' });
    expect(store.unread('bob')).toBe(3);
    expect(store.unread('g:team')).toBe(0);
    events.emit(incoming({ fp: 'b8', from: 'bob', seq: 8, sentAt: 8_000 }));
    expect(store.unread('bob')).toBe(4);
    expect(store.totalUnread()).toBe(4);
    store.markRead('bob');
    expect(store.unread('bob')).toBe(0);
    expect(log.at(-1)).toEqual({ type: 'read', peer: 'bob' });
    await settle();
    expect(calls.at(-1)).toEqual(['markRead', { peer: 'bob' }, 8]);
    store.markRead('bob'); // nothing new: no request
    events.emit(incoming({ fp: 'g3', from: 'carol', to: 'g:team', group: 'team', seq: 3, sentAt: 9_000 }));
    expect(store.unread('g:team')).toBe(1);
    store.markRead('g:team');
    await settle();
    expect(calls.filter((x) => x[0] === 'markRead')).toEqual([['markRead', { peer: 'bob' }, 8], ['markRead', { group: 'team' }, 3]]);
    // A reload's list after the marker moved: nothing unread any more.
    api.conversations = [{ peer: 'bob', last: stored(8, 'bob', 'eight'), unread: 0, lastSeq: 8, readSeq: 8 }];
    await store.load();
    expect(store.unread('bob')).toBe(0);
  });

  it('restart - the old history\'s messages lose their seqs (updated) but keep place, state and unread; the new one counts unread and markers from 1', async () => {
    const { c, events, calls, api } = stubClient();
    const store = new MessageStore(c, { syncReads: true });
    api.conversations = [{ peer: 'bob', last: stored(40, 'bob', 'forty'), unread: 2, lastSeq: 40, readSeq: 38 }];
    await store.load();
    const mine = store.send('bob', 'mine');
    events.emit({ type: 'acked', fp: mine.id, to: 'bob', seq: 41 });
    events.emit({ type: 'read', peer: 'bob', seq: 41 });
    events.emit(incoming({ fp: 'b42', from: 'bob', seq: 42, sentAt: 42_000 }));
    expect(store.unread('bob')).toBe(3);
    expect(store.conversation('bob').map((m) => [m.id, m.seq, m.state])).toEqual([[mine.id, 41, 'read'], ['b42', 42, 'received']]);
    const log: StoreEvent[] = [];
    store.subscribe((e) => log.push(e));

    events.emit({ type: 'restart', peer: 'bob', seq: 1 });
    expect(store.conversation('bob').map((m) => [m.id, m.seq, m.state])).toEqual([[mine.id, null, 'read'], ['b42', null, 'received']]);
    expect(log.map((e) => e.type)).toEqual(['updated', 'updated']);
    expect(store.unread('bob')).toBe(3);
    expect(store.readUpTo('bob')).toBe(0);
    events.emit(incoming({ fp: 'n1', from: 'bob', seq: 1, sentAt: 50_000 }));
    expect(store.unread('bob')).toBe(4);
    // Own messages of the new history: acked with its seqs, read from its markers.
    const next = store.send('bob', 'again');
    events.emit({ type: 'acked', fp: next.id, to: 'bob', seq: 2 });
    events.emit({ type: 'read', peer: 'bob', seq: 2 });
    expect(store.conversation('bob').map((m) => [m.seq, m.state])).toEqual([[null, 'read'], [null, 'received'], [1, 'received'], [2, 'read']]);
    store.markRead('bob');
    expect(store.unread('bob')).toBe(0);
    await settle();
    expect(calls.filter((x) => x[0] === 'markRead')).toEqual([['markRead', { peer: 'bob' }, 2]]);
  });

  it('history - loadHistory places the newest page by seq before what arrived live, skips what it holds and receipts; own ones are sent, or read below the peer\'s marker', async () => {
    const { c, events, calls, api } = stubClient();
    const store = new MessageStore(c);
    events.emit(incoming({ fp: 'h-me-3', from: 'bob', seq: 3, sentAt: 3_000 }));
    events.emit(incoming({ fp: 'live-5', from: 'bob', seq: 5, sentAt: 5_000 }));
    store.applyRead('bob', 2);
    const receipt = { ...stored(4, 'bob', 'fp-of-mine'), typeu: DEFAULT_RECEIPT_TYPEU };
    api.history.set('bob', [stored(1, 'me', 'one', 'bob'), stored(2, 'me', 'two', 'bob'), stored(3, 'bob', 'three'), receipt]);
    expect(store.historyLoaded('bob')).toBe(false);
    await expect(store.loadHistory('bob')).resolves.toBe(2);
    expect(calls).toEqual([['history', { peer: 'bob' }, { limit: 50 }]]);
    expect(store.historyLoaded('bob')).toBe(true);
    expect(store.conversation('bob').map((m) => [m.seq, m.direction, m.state, m.time])).toEqual([
      [1, 'out', 'read', 1_000],
      [2, 'out', 'read', 2_000],
      [3, 'in', 'received', 3_000],
      [5, 'in', 'received', 5_000],
    ]);
    api.history.set('g:team', [stored(9, 'alice', 'nine', 'g:team')]);
    await store.loadHistory('g:team', { before: 10, limit: 5 });
    expect(calls.at(-1)).toEqual(['history', { group: 'team' }, { limit: 5, before: 10 }]);
    expect(store.historyLoaded('g:team')).toBe(false);
    expect(store.conversation('g:team')[0]).toMatchObject({ group: 'team', from: 'alice', state: 'received', seq: 9 });
  });

  it('read - a read event turns own messages up to its seq "read" (not the later ones); an ack after the notice goes straight to read', () => {
    const { c, events } = stubClient();
    const store = new MessageStore(c);
    const [a, b, d] = [store.send('bob', 'a'), store.send('bob', 'b'), store.send('bob', 'd')];
    events.emit({ type: 'acked', fp: a.id, to: 'bob', seq: 1 });
    events.emit({ type: 'receipt', fp: b.id, from: 'bob' });
    events.emit({ type: 'acked', fp: b.id, to: 'bob', seq: 2 });
    events.emit({ type: 'read', peer: 'bob', seq: 2 });
    events.emit({ type: 'acked', fp: d.id, to: 'bob', seq: 3 });
    expect(store.conversation('bob').map((m) => m.state)).toEqual(['read', 'read', 'sent']);
    expect(store.readUpTo('bob')).toBe(2);
    events.emit({ type: 'read', peer: 'bob', seq: 1 }); // older: nothing moves back
    const e = store.send('bob', 'e');
    events.emit({ type: 'read', peer: 'bob', seq: 4 });
    expect(store.conversation('bob').map((m) => m.state)).toEqual(['read', 'read', 'read', 'sending']);
    events.emit({ type: 'acked', fp: e.id, to: 'bob', seq: 4 });
    expect(store.get(e.id)?.state).toBe('read');
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
