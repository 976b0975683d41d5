import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientEvent } from '@switchboard/client';
import { wsTransport, type NodeClientOptions } from '@switchboard/client/node';
import { waitFor } from '@switchboard/core';
import { LossyTransport, recordingFetch } from './lossy-transport.js';
import { Standalone } from './standalone.js';
import { ofType, Users } from './users.js';

// The SDK's history side against the real standalone server (history on, in memory): seq and
// sentAt, the user API round trip with a read notice, and holes filled from history, in a session
// and after a reconnect. Lost packets are simulated by a transport that drops them before the SDK.

let server: Standalone;
const users = new Users(() => ({ dispatchUrl: server.dispatchUrl, reconnect: { initialDelayMs: 100, maxDelayMs: 500 } }));

function user(uid: string, opts: Partial<NodeClientOptions> = {}) {
  const rec = recordingFetch();
  return { ...users.add(uid, { fetch: rec.fetch, ...opts }), requests: rec.requests };
}
function lossyUser(uid: string) {
  const lossy = new LossyTransport(wsTransport());
  return { ...user(uid, { transport: lossy }), lossy };
}
const received = (events: ClientEvent[]) => ofType(events, 'message').map((e) => [e.message.seq, e.message.content] as const);

beforeAll(async () => {
  // A receiver that never acks gets the message stored offline (and its sender acked) within 0.6 s.
  server = await Standalone.start({ IM_CUSTODY_RESEND_MS: '200', IM_CUSTODY_GIVE_UP_MS: '600' });
});
afterAll(async () => {
  await users.closeAll();
  await server?.stop();
});

describe('client SDK and conversation history (standalone)', () => {
  it('round trip - seq and sentAt on both sides; history(), conversations(), markRead() and the read event at the sender', async () => {
    const alice = user('hi-alice');
    const bob = user('hi-bob');
    await Promise.all([alice.c.connect(), bob.c.connect()]);
    const t0 = Date.now();
    const sent = [];
    for (const text of ['one', 'two', 'three']) sent.push(await alice.c.send('hi-bob', text));
    expect(sent.map((r) => r.seq)).toEqual([1, 2, 3]);
    await waitFor(() => received(bob.events).length === 3, { what: "bob has alice's three" });
    expect(received(bob.events)).toEqual([[1, 'one'], [2, 'two'], [3, 'three']]);
    for (const { message: m } of ofType(bob.events, 'message')) {
      expect(m.sentAt).toBeGreaterThanOrEqual(t0 - 1_000);
      expect(m.sentAt).toBeLessThanOrEqual(m.receivedAt);
    }
    expect((await bob.c.send('hi-alice', 'four')).seq).toBe(4);
    await waitFor(() => received(alice.events).length === 1, { what: "alice has bob's reply" });
    expect(received(alice.events)).toEqual([[4, 'four']]);

    const all = await bob.c.history('hi-alice');
    expect(all.map((m) => [m.seq, m.from, m.content])).toEqual([[1, 'hi-alice', 'one'], [2, 'hi-alice', 'two'], [3, 'hi-alice', 'three'], [4, 'hi-bob', 'four']]);
    expect(all[0]).toMatchObject({ fp: sent[0]!.fp, to: 'hi-bob', typeu: -1, sentAt: ofType(bob.events, 'message')[0]!.message.sentAt });
    expect((await bob.c.history('hi-alice', { before: 3, limit: 1 })).map((m) => m.seq)).toEqual([2]);
    const [conv] = await bob.c.conversations();
    expect(conv).toMatchObject({ peer: 'hi-alice', lastSeq: 4, readSeq: 0, unread: 3, last: { seq: 4, content: 'four' } });

    expect(await bob.c.markRead('hi-alice', 3)).toEqual({ peer: 'hi-alice', readSeq: 3 });
    await waitFor(() => ofType(alice.events, 'read').length === 1, { what: 'the read notice at alice' });
    expect(ofType(alice.events, 'read')).toEqual([{ type: 'read', peer: 'hi-bob', seq: 3 }]);
    expect((await bob.c.conversations())[0]).toMatchObject({ peer: 'hi-alice', readSeq: 3, unread: 0 });
    expect(bob.requests.filter((r) => r.startsWith('GET /api/history') || r.includes('conversations'))).toHaveLength(5);
  });

  it('gap - messages the link lost are fetched from history when a later seq arrives, and shown before it, once', async () => {
    const alice = user('gp-alice');
    const bob = lossyUser('gp-bob');
    bob.lossy.drop = (p) => p.dataContent?.startsWith('lost') === true;
    await Promise.all([alice.c.connect(), bob.c.connect()]);
    for (const text of ['g1', 'lost 2', 'lost 3', 'g4']) await alice.c.send('gp-bob', text);
    await waitFor(() => received(bob.events).length === 4, { what: 'all four at bob' });
    expect(received(bob.events)).toEqual([[1, 'g1'], [2, 'lost 2'], [3, 'lost 3'], [4, 'g4']]);
    expect(bob.lossy.dropped.length).toBeGreaterThanOrEqual(2);
    expect(bob.requests).toContain('GET /api/history?peer=gp-alice&before=4&limit=2');
    expect(ofType(bob.events, 'gap')).toEqual([]);
  });

  it('reconnect - what arrived while the client was away is caught up from history after the re-login, in order, once', async () => {
    const alice = user('rc-alice');
    const bob = lossyUser('rc-bob');
    await Promise.all([alice.c.connect(), bob.c.connect()]);
    await alice.c.send('rc-bob', 'before');
    await waitFor(() => received(bob.events).length === 1, { what: 'the first message' });
    // The gateway's own redelivery of what bob missed is lost too: only history can bring it.
    bob.lossy.drop = (p) => p.dataContent?.startsWith('away') === true;
    bob.lossy.blocked = true;
    bob.lossy.cut();
    await waitFor(() => bob.c.state === 'reconnecting', { what: 'bob reconnecting' });
    for (const text of ['away 2', 'away 3', 'away 4']) await alice.c.send('rc-bob', text); // stored offline
    const logins = ofType(bob.events, 'login').length;
    bob.lossy.blocked = false;
    await waitFor(() => ofType(bob.events, 'login').length > logins && received(bob.events).length === 4, { timeoutMs: 10_000, what: 'caught up' });
    expect(received(bob.events)).toEqual([[1, 'before'], [2, 'away 2'], [3, 'away 3'], [4, 'away 4']]);
    expect(bob.requests).toEqual(expect.arrayContaining(['GET /api/conversations?limit=50', 'GET /api/history?peer=rc-alice&before=5&limit=3']));
    // The conversation goes on as usual.
    await alice.c.send('rc-bob', 'after');
    await waitFor(() => received(bob.events).length === 5, { what: 'the next message' });
    expect(received(bob.events).at(-1)).toEqual([5, 'after']);
    expect(ofType(bob.events, 'gap')).toEqual([]);
  });
});
