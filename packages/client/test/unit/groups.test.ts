import { afterEach, describe, expect, it } from 'vitest';
import { ackPacket, dataPacket, ErrorCode, errorPacket, PacketType, type Packet } from '@switchboard/protocol';
import { ClientErrorCode, LossReason, MessageLostError, type ClientEvent } from '../../src/index.js';
import { FakeDispatch, FakeGateway } from './fake-gateway.js';
import { FakeUserApi, type FakeStored } from './fake-user-api.js';
import { client, closeAllAndStop, ofType, stops, until } from './helpers.js';

// Groups in the SDK (issue 15) against an in-process gateway and dispatch with the user API: group
// messages as events, sendToGroup with its acks and refusals, per-group seq ordering filled from the
// group's history, and the user API's group routes.

afterEach(closeAllAndStop);

const messages = (events: ClientEvent[]) => ofType(events, 'message').map((e) => e.message);

/** Alice (member of `team`) on a fake gateway, with dispatch serving the user API from `api`. */
async function setup(opts: { groupPrefix?: string } = {}) {
  const g = await FakeGateway.start();
  const d = await FakeDispatch.start(g);
  stops.push(g, d);
  const api = new FakeUserApi('alice');
  api.groups.set('team', 'The Team');
  d.other = api.handler;
  const { c, events } = client({ uid: 'alice', token: 'tok', dispatchUrl: d.url, sendReceipts: true, gaps: { graceMs: 20 }, ...opts });
  await c.connect();
  /** Deliver a stored group message live, as the gateway fans it out (from = address:sender). */
  const push = (m: FakeStored, address = m.to) => {
    const p: Packet = { ...dataPacket({ from: `${address}:${m.from}`, to: address, dataContent: m.dataContent, fp: m.fp, QoS: true, typeu: m.typeu }), seq: m.seq, sentAt: m.sentAt };
    g.live.at(-1)!.send(p);
  };
  return { g, api, c, events, push };
}

describe('groups in the client', () => {
  it('receive - a group message: from is the sender, group the id, to and rawFrom the wire addresses; acked from/to swapped; no receipt sent back', async () => {
    const { g, api, events, push } = await setup();
    const m = api.add('g:team', 'bob', 'hello team');
    push(m);
    await until(() => messages(events).length === 1, 'the group message');
    expect(messages(events)[0]).toMatchObject({ fp: m.fp, from: 'bob', to: 'g:team', group: 'team', rawFrom: 'g:team:bob', content: 'hello team', seq: 1, sentAt: 1_001 });
    await until(() => g.received(PacketType.ACK).length === 1, 'the ack');
    expect(g.received(PacketType.ACK)[0]).toMatchObject({ from: 'g:team', to: 'g:team:bob', dataContent: m.fp });
    // A peer's message gets a receipt (sendReceipts), the group's did not.
    g.live[0]!.send({ ...dataPacket({ from: 'bob', to: 'alice', dataContent: 'direct', fp: 'd-1', QoS: true }), seq: 1, sentAt: 5 });
    await until(() => g.received(PacketType.DATA).length === 1, 'the receipt to bob');
    expect(g.received(PacketType.DATA).map((p) => [p.to, p.dataContent])).toEqual([['bob', 'd-1']]);
    expect(messages(events).map((x) => [x.from, x.group])).toEqual([['bob', 'team'], ['bob', null]]);
  });

  it('send - sendToGroup writes an ordinary data packet to the group address and resolves with the ack\'s seq, which moves the group\'s counter; error 1040 for its fp rejects it at once', async () => {
    const { g, c, events } = await setup();
    g.ackData = false;
    const sending = c.sendToGroup('team', 'hi all', { typeu: 7 });
    const data = await until(() => g.received(PacketType.DATA)[0], 'the data packet');
    expect(data).toMatchObject({ from: 'alice', to: 'g:team', dataContent: 'hi all', typeu: 7, QoS: true });
    g.live[0]!.send({ ...ackPacket('g:team', 'alice', data.fp!), seq: 12 });
    await expect(sending).resolves.toEqual({ fp: data.fp, acked: true, seq: 12 });
    expect(ofType(events, 'acked')).toEqual([{ type: 'acked', fp: data.fp, to: 'g:team', seq: 12 }]);
    expect(c.lastSeq({ group: 'team' })).toBe(12);
    expect(c.lastSeq('g:team')).toBe(12);

    const refused = c.sendToGroup('secret', 'let me in').catch((e: unknown) => e);
    const out = await until(() => g.received(PacketType.DATA).find((p) => p.to === 'g:secret'), 'the refused one');
    g.live[0]!.send(errorPacket(ErrorCode.NOT_A_MEMBER, out.fp!));
    const err = (await refused) as MessageLostError;
    expect(err).toBeInstanceOf(MessageLostError);
    expect(err).toMatchObject({ code: ClientErrorCode.MESSAGE_LOST, reason: LossReason.REJECTED, serverCode: 1040, to: 'g:secret', retryable: false });
    expect(err.message).toMatch(/lost \(rejected: 1040 not a member of that group, or no such group\)/);
    expect(ofType(events, 'lost')).toHaveLength(1);
    expect(c.pendingCount).toBe(0);
    await expect(c.sendToGroup('', 'x')).rejects.toMatchObject({ code: ClientErrorCode.INVALID_ARGUMENT });
  });

  it('order - a group message whose seq skips ahead: the hole is fetched from /api/history?group= and delivered first, own messages counted silently', async () => {
    const { api, events, push } = await setup();
    push(api.add('g:team', 'bob', 'one'));
    api.add('g:team', 'carol', 'two');
    api.add('g:team', 'alice', 'three (mine)');
    push(api.add('g:team', 'bob', 'four'));
    await until(() => messages(events).length === 3, 'all three of the others\'');
    expect(messages(events).map((m) => [m.seq, m.from, m.content, m.rawFrom])).toEqual([
      [1, 'bob', 'one', 'g:team:bob'],
      [2, 'carol', 'two', 'g:team:carol'],
      [4, 'bob', 'four', 'g:team:bob'],
    ]);
    expect(api.to('/api/history').map((r) => r.query)).toEqual([{ group: 'team', before: '4', limit: '2' }]);
    expect(ofType(events, 'gap')).toEqual([]);
  });

  it('catch-up - after a re-login a known group is caught up to its lastSeq from its history; a failed fill is a gap event naming the group', async () => {
    const { g, api, c, events, push } = await setup();
    push(api.add('g:team', 'bob', 'g1'));
    await until(() => messages(events).length === 1, 'the first');
    g.live[0]!.terminate();
    await until(() => c.state === 'reconnecting', 'reconnecting');
    api.add('g:team', 'bob', 'g2');
    api.add('g:team', 'carol', 'g3');
    await until(() => c.state === 'online' && messages(events).length === 3, 'caught up');
    expect(messages(events).map((m) => [m.seq, m.from, m.group])).toEqual([[1, 'bob', 'team'], [2, 'bob', 'team'], [3, 'carol', 'team']]);
    api.failWith = 503;
    push(api.add('g:team', 'bob', 'g4'));
    push({ ...api.add('g:team', 'bob', 'g5'), seq: 6 }); // seq 5 is missing and cannot be fetched
    await until(() => ofType(events, 'gap').length === 1, 'the gap');
    expect(ofType(events, 'gap')[0]).toMatchObject({ peer: 'g:team', group: 'team', firstSeq: 5, lastSeq: 5, reason: 'failed' });
  });

  it('api - groups(), history({ group }), conversations() listing the group with its name, markRead({ group }); 403 for a group the user is not in', async () => {
    const { api, c } = await setup();
    api.add('g:team', 'bob', 'hello');
    api.add('bob', 'bob', 'direct');
    expect(await c.groups()).toEqual([{ id: 'team', name: 'The Team' }]);
    expect(await c.history({ group: 'team' })).toEqual([{ seq: 1, fp: 'fp-g:team-1', from: 'bob', to: 'g:team', content: 'hello', typeu: -1, sentAt: 1_001 }]);
    const list = await c.conversations();
    expect(list).toEqual([
      { peer: 'bob', last: expect.objectContaining({ content: 'direct' }), unread: 1, lastSeq: 1, readSeq: 0 },
      { group: 'team', name: 'The Team', last: expect.objectContaining({ content: 'hello' }), unread: 1, lastSeq: 1, readSeq: 0 },
    ]);
    expect(await c.markRead({ group: 'team' }, 1)).toEqual({ group: 'team', readSeq: 1 });
    expect(api.to('/api/conversations/read')[0]!.body).toEqual({ group: 'team', seq: 1 });
    expect(await c.markRead({ peer: 'bob' }, 1)).toEqual({ peer: 'bob', readSeq: 1 });
    await expect(c.history({ group: 'secret' })).rejects.toMatchObject({ code: ClientErrorCode.API_FAILED, serverCode: 403 });
    await expect(c.history({ group: '' })).rejects.toMatchObject({ code: ClientErrorCode.INVALID_ARGUMENT });
  });

  it('prefix - with groupPrefix the server\'s IM_GROUP_PREFIX: sendToGroup addresses it, group ids are parsed with it', async () => {
    const { g, c, events } = await setup({ groupPrefix: 'grp/' });
    expect(c.groupAddress('team')).toBe('grp/team');
    expect(c.groupOf('grp/team')).toBe('team');
    expect(c.groupOf('bob')).toBeNull();
    await c.sendToGroup('team', 'x');
    expect(g.received(PacketType.DATA)[0]!.to).toBe('grp/team');
    g.live[0]!.send(dataPacket({ from: 'grp/team:bob', to: 'grp/team', dataContent: 'y', fp: 'f-y', QoS: true }));
    await until(() => messages(events).length === 1, 'the message');
    expect(messages(events)[0]).toMatchObject({ from: 'bob', group: 'team', to: 'grp/team', seq: null });
  });
});
