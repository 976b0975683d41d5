import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientEvent } from '@switchboard/client';
import { waitFor } from '@switchboard/core';
import { Standalone } from './standalone.js';
import { ofType, Users } from './users.js';

// A conversation the standalone's memory bound forgot starts again at seq 1 while SDK sessions that
// saw the old one stay up: they must still get every message of the new one (best-effort ones, which
// have no fp to dedupe by, included) and order it by the new seqs. Groups too: a member's gateway
// must not take the new history's seqs for ones it delivered already.

let server: Standalone;
const users = new Users(() => ({ dispatchUrl: server.dispatchUrl, reconnect: { initialDelayMs: 100, maxDelayMs: 500 } }));
const received = (events: ClientEvent[]) => ofType(events, 'message').map((e) => [e.message.seq, e.message.content] as const);

beforeAll(async () => {
  server = await Standalone.start({ IM_HISTORY_MEMORY_BYTES: '8000' });
});
afterAll(async () => {
  await users.closeAll();
  await server?.stop();
});

/** Server pushes to new users until `forgotten()` holds: each opens a conversation, the oldest are forgotten. */
async function crowdOut(tag: string, forgotten: () => Promise<boolean>): Promise<void> {
  for (let i = 0; !(await forgotten()); i++) {
    if (i >= 200) throw new Error(`${tag}: never forgotten`);
    const res = await fetch(`${server.dispatchUrl}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ to: `${tag}-crowd-${i}`, dataContent: `filler ${i} ${'x'.repeat(200)}` }),
    });
    expect(res.status).toBe(202);
  }
}

describe('a history the standalone forgot, with SDK sessions that outlive it', () => {
  it('peer - the new history\'s messages arrive with seq 1, 2, …, best-effort ones included; the session orders them by the new seqs', async () => {
    const alice = users.add('fg-alice');
    const bob = users.add('fg-bob');
    await Promise.all([alice.c.connect(), bob.c.connect()]);
    for (const text of ['one', 'two', 'three']) await bob.c.send('fg-alice', text);
    await bob.c.send('fg-alice', 'four, best effort', { qos: false });
    await waitFor(() => received(alice.events).length === 4, { what: 'the old history' });
    expect(received(alice.events)).toEqual([[1, 'one'], [2, 'two'], [3, 'three'], [4, 'four, best effort']]);
    expect((await alice.c.send('fg-bob', 'hi bob')).seq).toBe(5);
    expect(alice.c.lastSeq('fg-bob')).toBe(5);
    await bob.c.markRead('fg-alice', 5);
    await waitFor(() => ofType(alice.events, 'read').length === 1, { what: "bob's read notice" });

    await crowdOut('fg', async () => !(await alice.c.conversations()).some((c) => c.peer === 'fg-bob'));
    expect(await alice.c.history('fg-bob')).toEqual([]);

    await bob.c.send('fg-alice', 'five, best effort', { qos: false });
    await waitFor(() => received(alice.events).length === 5, { what: 'the first message of the new history' });
    expect(received(alice.events)[4]).toEqual([1, 'five, best effort']);
    expect((await bob.c.send('fg-alice', 'six')).seq).toBe(2);
    await bob.c.send('fg-alice', 'seven, best effort', { qos: false });
    await waitFor(() => received(alice.events).length === 7, { what: 'the rest of the new history' });
    expect(received(alice.events).slice(4)).toEqual([[1, 'five, best effort'], [2, 'six'], [3, 'seven, best effort']]);
    expect(alice.c.lastSeq('fg-bob')).toBe(3);
    expect(ofType(alice.events, 'gap')).toEqual([]);
    expect(ofType(alice.events, 'restart')).toEqual([{ type: 'restart', peer: 'fg-bob', seq: 1 }]);
    // Bob's side heard of it from the ack of his own first QoS message of the new history ("five" had no
    // ack): acks carry sentAt.
    expect(ofType(bob.events, 'restart')).toEqual([{ type: 'restart', peer: 'fg-alice', seq: 2 }]);
    // Read notices count in the new history's seqs.
    expect((await alice.c.send('fg-bob', 'hi again')).seq).toBe(4);
    await bob.c.markRead('fg-alice', 4);
    await waitFor(() => ofType(alice.events, 'read').length === 2, { what: "bob's read notice in the new history" });
    expect(ofType(alice.events, 'read')).toEqual([{ type: 'read', peer: 'fg-bob', seq: 5 }, { type: 'read', peer: 'fg-bob', seq: 4 }]);
  });

  it('group - members online since the old history get the new one\'s messages, once each', async () => {
    const [a, b] = [users.add('fgg-a'), users.add('fgg-b')];
    await server.putGroup('fgg', 'Forgotten', ['fgg-a', 'fgg-b']);
    await Promise.all([a.c.connect(), b.c.connect()]);
    for (const text of ['one', 'two', 'three']) await a.c.sendToGroup('fgg', text);
    await waitFor(() => received(b.events).length === 3, { what: 'the old history' });
    expect(received(b.events)).toEqual([[1, 'one'], [2, 'two'], [3, 'three']]);

    // A member's list always shows its groups: a forgotten one with lastSeq 0.
    await crowdOut('fgg', async () => (await b.c.conversations()).find((c) => c.group === 'fgg')?.lastSeq === 0);
    expect(await b.c.history({ group: 'fgg' })).toEqual([]);

    expect((await a.c.sendToGroup('fgg', 'four')).seq).toBe(1);
    expect((await a.c.sendToGroup('fgg', 'five')).seq).toBe(2);
    await waitFor(() => received(b.events).length === 5, { what: 'the new history' });
    expect(received(b.events).slice(3)).toEqual([[1, 'four'], [2, 'five']]);
    expect(ofType(b.events, 'gap')).toEqual([]);
    expect(ofType(b.events, 'restart')).toEqual([{ type: 'restart', peer: 'g:fgg', group: 'fgg', seq: 1 }]);
  });
});
