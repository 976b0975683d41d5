import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageLostError, type ClientEvent } from '@switchboard/client';
import { wsTransport, type NodeClientOptions } from '@switchboard/client/node';
import { waitFor } from '@switchboard/core';
import { LossyTransport, recordingFetch } from './lossy-transport.js';
import { Standalone } from './standalone.js';
import { ofType, Users } from './users.js';

// Groups in the SDK (issue 15) against the real standalone server: groups are made through dispatch's
// admin API (loopback, no admin token), members talk over WebSocket and TCP, and the SDK orders each
// group's messages by seq, filling holes from the group's history.

let server: Standalone;
const users = new Users(() => ({ dispatchUrl: server.dispatchUrl, sendReceipts: true, reconnect: { initialDelayMs: 100, maxDelayMs: 500 } }));

function user(uid: string, opts: Partial<NodeClientOptions> = {}) {
  const rec = recordingFetch();
  return { ...users.add(uid, { fetch: rec.fetch, ...opts }), requests: rec.requests };
}
const received = (events: ClientEvent[]) => ofType(events, 'message').map((e) => [e.message.seq, e.message.from, e.message.content] as const);

const putGroup = (gid: string, name: string, members: string[]) => server.putGroup(gid, name, members);

beforeAll(async () => {
  server = await Standalone.start();
});
afterAll(async () => {
  await users.closeAll();
  await server?.stop();
});

describe('client SDK and groups (standalone)', () => {
  it('three members - a group message reaches the two others (ws and tcp) with its group and sender, acked with the group\'s seq; a non-member is refused with 1040', async () => {
    await putGroup('gr-team', 'The Team', ['gr-alice', 'gr-bob', 'gr-carol']);
    const alice = user('gr-alice');
    const bob = user('gr-bob', { transport: 'tcp' });
    const carol = user('gr-carol');
    const mallory = user('gr-mallory');
    await Promise.all([alice.c.connect(), bob.c.connect(), carol.c.connect(), mallory.c.connect()]);
    const r1 = await alice.c.sendToGroup('gr-team', 'hello team', { typeu: 3 });
    expect(r1).toMatchObject({ acked: true, seq: 1 });
    await waitFor(() => received(bob.events).length === 1 && received(carol.events).length === 1, { what: 'both members have it' });
    for (const member of [bob, carol]) {
      expect(ofType(member.events, 'message')[0]!.message).toMatchObject({
        fp: r1.fp,
        from: 'gr-alice',
        to: 'g:gr-team',
        group: 'gr-team',
        rawFrom: 'g:gr-team:gr-alice',
        content: 'hello team',
        typeu: 3,
        seq: 1,
      });
    }
    expect((await bob.c.sendToGroup('gr-team', 'hi alice')).seq).toBe(2);
    await waitFor(() => received(alice.events).length === 1 && received(carol.events).length === 2, { what: "bob's reply" });
    expect(received(alice.events)).toEqual([[2, 'gr-bob', 'hi alice']]);
    expect(received(carol.events)).toEqual([[1, 'gr-alice', 'hello team'], [2, 'gr-bob', 'hi alice']]);
    // Each member's counter follows the group: own messages through their acks.
    expect([alice.c.lastSeq({ group: 'gr-team' }), bob.c.lastSeq({ group: 'gr-team' }), carol.c.lastSeq('g:gr-team')]).toEqual([2, 2, 2]);
    // No delivery receipts in a group (sendReceipts is on): nobody got one, nobody got an error.
    expect([...alice.events, ...bob.events, ...carol.events].filter((e) => e.type === 'receipt' || e.type === 'error')).toEqual([]);

    const refused = await mallory.c.sendToGroup('gr-team', 'let me in').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(MessageLostError);
    expect(refused).toMatchObject({ reason: 'rejected', serverCode: 1040, to: 'g:gr-team' });
    expect((refused as Error).message).toMatch(/not a member of that group, or no such group/);
    await expect(mallory.c.sendToGroup('gr-nowhere', 'anyone?')).rejects.toMatchObject({ serverCode: 1040 });
    expect(received(alice.events)).toHaveLength(1);
  });

  it('user API - groups(), history({ group }) from the join on, conversations() with the group\'s name and unread count, markRead({ group })', async () => {
    await putGroup('gr-api', 'API Crew', ['ga-alice', 'ga-bob']);
    const alice = user('ga-alice');
    await alice.c.connect();
    await alice.c.sendToGroup('gr-api', 'before dave');
    await putGroup('gr-api', 'API Crew', ['ga-alice', 'ga-bob', 'ga-dave']); // dave joins at seq 1
    await alice.c.sendToGroup('gr-api', 'after dave');
    const dave = user('ga-dave');
    expect(await dave.c.groups()).toEqual([{ id: 'gr-api', name: 'API Crew' }]);
    expect((await dave.c.history({ group: 'gr-api' })).map((m) => [m.seq, m.from, m.to, m.content])).toEqual([[2, 'ga-alice', 'g:gr-api', 'after dave']]);
    const [conv] = await dave.c.conversations();
    expect(conv).toMatchObject({ group: 'gr-api', name: 'API Crew', unread: 1, lastSeq: 2, readSeq: 1, last: { content: 'after dave' } });
    expect(await dave.c.markRead({ group: 'gr-api' }, 2)).toEqual({ group: 'gr-api', readSeq: 2 });
    expect((await dave.c.conversations())[0]).toMatchObject({ group: 'gr-api', unread: 0, readSeq: 2 });
    await expect(user('ga-eve').c.history({ group: 'gr-api' })).rejects.toMatchObject({ serverCode: 403 });
  });

  it('gap - group messages the link lost are fetched from the group\'s history when a later seq arrives, and shown before it, once', async () => {
    await putGroup('gr-gap', 'Gaps', ['gg-alice', 'gg-bob']);
    const alice = user('gg-alice');
    const lossy = new LossyTransport(wsTransport());
    const bob = user('gg-bob', { transport: lossy });
    lossy.drop = (p) => p.dataContent?.startsWith('lost') === true;
    await Promise.all([alice.c.connect(), bob.c.connect()]);
    for (const text of ['g1', 'lost 2', 'lost 3', 'g4']) await alice.c.sendToGroup('gr-gap', text);
    await waitFor(() => received(bob.events).length === 4, { what: 'all four at bob' });
    expect(received(bob.events)).toEqual([[1, 'gg-alice', 'g1'], [2, 'gg-alice', 'lost 2'], [3, 'gg-alice', 'lost 3'], [4, 'gg-alice', 'g4']]);
    expect(bob.requests).toContain('GET /api/history?group=gr-gap&before=4&limit=2');
    expect(ofType(bob.events, 'gap')).toEqual([]);
  });

  it('reconnect - group messages sent while a member was away arrive after its re-login, in seq order, once', async () => {
    await putGroup('gr-away', 'Away', ['gw-alice', 'gw-bob']);
    const alice = user('gw-alice');
    const lossy = new LossyTransport(wsTransport());
    const bob = user('gw-bob', { transport: lossy });
    await Promise.all([alice.c.connect(), bob.c.connect()]);
    await alice.c.sendToGroup('gr-away', 'before');
    await waitFor(() => received(bob.events).length === 1, { what: 'the first message' });
    lossy.blocked = true;
    lossy.cut();
    await waitFor(() => bob.c.state === 'reconnecting', { what: 'bob reconnecting' });
    for (const text of ['away 2', 'away 3', 'away 4']) await alice.c.sendToGroup('gr-away', text);
    lossy.blocked = false;
    await waitFor(() => received(bob.events).length === 4, { timeoutMs: 10_000, what: 'caught up' });
    expect(received(bob.events)).toEqual([[1, 'gw-alice', 'before'], [2, 'gw-alice', 'away 2'], [3, 'gw-alice', 'away 3'], [4, 'gw-alice', 'away 4']]);
    await alice.c.sendToGroup('gr-away', 'after');
    await waitFor(() => received(bob.events).length === 5, { what: 'the next one' });
    expect(received(bob.events).at(-1)).toEqual([5, 'gw-alice', 'after']);
  });
});
