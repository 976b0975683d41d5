import { afterEach, describe, expect, it } from 'vitest';
import {
  LocalBridge,
  LocalBus,
  MemoryGroupStore,
  MemoryHistoryStore,
  MemoryNodeRegistry,
  MemoryOfflineStore,
  MemoryRouteStore,
  groupConversation,
  peerConversation,
} from '@switchboard/cluster';
import { asUserId, newNodeId } from '@switchboard/core';
import { ErrorCode, PacketType, parseErrorResponse } from '@switchboard/protocol';
import { connectClient, type TestClient } from '@switchboard/testkit';
import { Gateway, createGatewayMetrics, createLoginVerifier } from '../../src/index.js';
import { MEMBER_ROUTE_CACHE_MS } from '../../src/delivery/member-routes.js';
import { GROUP_HOLE_GRACE_MS } from '../../src/delivery/group-receiver.js';
import { metricValue, quietWindow, testLogger, track, uid, until } from '../fixtures.js';

/** Gateways sharing one set of memory backends and one bus: a cluster in one process. */
interface Cluster {
  gws: Gateway[];
  groups: MemoryGroupStore;
  history: MemoryHistoryStore;
  login(i: number, user: string): Promise<TestClient>;
}

const started: Gateway[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((g) => g.close()));
});

async function cluster(n: number, opts: { historyTtlMs?: number; historyMaxBytes?: number } = {}): Promise<Cluster> {
  const log = testLogger();
  const bus = new LocalBus();
  const routes = new MemoryRouteStore();
  const offline = new MemoryOfflineStore();
  const nodes = new MemoryNodeRegistry();
  const history = new MemoryHistoryStore({ ttlMs: opts.historyTtlMs, maxBytes: opts.historyMaxBytes });
  const groups = new MemoryGroupStore();
  const gws: Gateway[] = [];
  const ports: number[] = [];
  for (let i = 0; i < n; i++) {
    const nodeId = newNodeId('gwgrp');
    const gw = new Gateway({
      nodeId,
      log,
      routes,
      offline,
      nodes,
      history,
      groups,
      bridge: new LocalBridge(bus, nodeId),
      metrics: createGatewayMetrics({ defaultMetrics: false }),
      verifyLogin: createLoginVerifier({ mode: 'none', log }),
      wsPort: 0,
      tcpPort: 0,
      custodyResendMs: 300,
      custodyGiveUpMs: 600,
    });
    started.push(gw);
    gws.push(gw);
    ports.push((await gw.start()).ws);
  }
  return {
    gws,
    groups,
    history,
    async login(i, user) {
      const c = track(await connectClient({ url: `ws://127.0.0.1:${ports[i]}/websocket` }));
      const r = await c.login(user);
      if (r.code !== 0) throw new Error(`login ${user}: ${r.code}`);
      return c;
    },
  };
}

const groupMessages = (c: TestClient, fp: string) => c.packets.filter((p) => p.type === PacketType.DATA && p.fp === fp);

describe('Gateway groups', () => {
  it('a member\'s message reaches every other member once, as g:<gid>:<sender>, with the group\'s seq; the sender is acked with it', async () => {
    const c = await cluster(1);
    const [a, b, d] = [uid('a'), uid('b'), uid('d')];
    await c.groups.put('team', { name: 'Team', members: [a, b, d].map(asUserId) }, 0);
    const [ca, cb, cd] = [await c.login(0, a), await c.login(0, b), await c.login(0, d)];
    const fp = await ca.send('g:team', 'hello team', { typeu: 7 });
    for (const r of [cb, cd]) {
      const m = await r.waitForMessage((p) => p.fp === fp);
      expect(m).toMatchObject({ from: `g:team:${a}`, to: 'g:team', dataContent: 'hello team', typeu: 7, seq: 1, QoS: true });
    }
    await ca.waitForAck(fp);
    expect(ca.packets.find((p) => p.type === PacketType.ACK && p.dataContent === fp)?.seq).toBe(1);
    await quietWindow(150);
    expect(groupMessages(ca, fp)).toHaveLength(0);
    for (const r of [cb, cd]) expect(groupMessages(r, fp)).toHaveLength(1);
    expect((await c.history.before(groupConversation('team'), { limit: 5 })).map((m) => [m.seq, m.from, m.fp])).toEqual([[1, a, fp]]);
  });

  it('a non-member or an unknown group gets error 1040, no ack, and nobody receives anything', async () => {
    const c = await cluster(1);
    const [a, b, x] = [uid('a'), uid('b'), uid('x')];
    await c.groups.put('team', { name: 'Team', members: [a, b].map(asUserId) }, 0);
    const [cb, cx] = [await c.login(0, b), await c.login(0, x)];
    for (const to of ['g:team', 'g:nosuch']) {
      const fp = await cx.send(to, 'let me in');
      const err = await cx.waitForPacket(PacketType.ERROR, (p) => parseErrorResponse(p.dataContent).errorMsg === fp);
      expect(parseErrorResponse(err.dataContent).errorCode).toBe(ErrorCode.NOT_A_MEMBER);
    }
    await quietWindow(200);
    expect(cx.acks).toEqual([]);
    expect(cb.messages).toEqual([]);
    expect(await c.history.lastSeq(groupConversation('team'))).toBe(0);
  });

  it('across gateways - one bridge message per other gateway with online members; a resend is acked again with the same seq and fanned out again, and members that have it get no second copy', async () => {
    const c = await cluster(3);
    const users = Array.from({ length: 7 }, (_, i) => uid(`m${i}`));
    await c.groups.put('big', { name: 'Big', members: users.map(asUserId) }, 0);
    // sender on gw0; two members on gw0, four on gw1, none online on gw2
    const clients = [await c.login(0, users[0]!), await c.login(0, users[1]!), await c.login(0, users[2]!)];
    for (const u of users.slice(3)) clients.push(await c.login(1, u));
    const fp = await clients[0]!.send('g:big', 'fan out');
    for (const r of clients.slice(1)) await r.waitForMessage((p) => p.fp === fp);
    await clients[0]!.waitForAck(fp);
    expect(await metricValue(c.gws[0]!.metrics, 'switchboard_group_fanout_messages_total')).toBe(1);
    await clients[0]!.send('g:big', 'fan out', { fp });
    await until(() => clients[0]!.packets.filter((p) => p.type === PacketType.ACK && p.dataContent === fp).length === 2, 'the second ack');
    expect(clients[0]!.packets.filter((p) => p.type === PacketType.ACK && p.dataContent === fp).map((p) => p.seq)).toEqual([1, 1]);
    await until(async () => (await metricValue(c.gws[0]!.metrics, 'switchboard_group_fanout_messages_total')) === 2, 'the second fan-out');
    // The receiving gateways wrote seq 1 to these connections already: the fan-out of the resend stops there.
    await quietWindow(200);
    for (const r of clients.slice(1)) expect(groupMessages(r, fp).map((p) => p.seq)).toEqual([1]);
    expect(await c.history.lastSeq(groupConversation('big'))).toBe(1);
  });

  it('an offline member catches up at login, in order, once: the cursor moves with its acks', async () => {
    const c = await cluster(2);
    const [a, b] = [uid('a'), uid('b')];
    await c.groups.put('team', { name: 'Team', members: [a, b].map(asUserId) }, 0);
    const ca = await c.login(0, a);
    const fps: string[] = [];
    for (let i = 0; i < 5; i++) {
      const fp = await ca.send('g:team', `missed ${i}`);
      await ca.waitForAck(fp);
      fps.push(fp);
    }
    const cb = await c.login(1, b);
    for (const fp of fps) await cb.waitForMessage((p) => p.fp === fp);
    expect(cb.messages.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    await until(async () => (await c.history.cursor(asUserId(b), groupConversation('team'))) === 5, 'the cursor to reach 5');
    await cb.close();
    const again = await c.login(0, b);
    await quietWindow(300);
    expect(again.messages).toEqual([]);
  });

  it('a message a member got by catch-up is not written again when its fan-out comes after (here: its sender\'s resend)', async () => {
    const c = await cluster(2);
    const [a, b, d] = [uid('a'), uid('b'), uid('d')];
    await c.groups.put('team', { name: 'Team', members: [a, b, d].map(asUserId) }, 0);
    const ca = await c.login(0, a);
    const fp = await ca.send('g:team', 'while you were away');
    await ca.waitForAck(fp);
    // b on the sender's gateway (its local fan-out), d on the other one (the bridge's); d does not ack
    const [cb, cd] = [await c.login(0, b), await c.login(1, d)];
    cd.autoAck = false;
    for (const r of [cb, cd]) await r.waitForMessage((p) => p.fp === fp); // catch-up at login
    await quietWindow(MEMBER_ROUTE_CACHE_MS + 50); // a's gateway looks d's route up again: d is on the other gateway now
    await ca.send('g:team', 'while you were away', { fp });
    await until(() => ca.packets.filter((p) => p.type === PacketType.ACK && p.dataContent === fp).length === 2, 'the resend acked');
    await until(async () => (await metricValue(c.gws[0]!.metrics, 'switchboard_group_fanout_messages_total')) === 1, 'the fan-out of the resend');
    await quietWindow(200); // under custodyResendMs: d's custody copy is not resent yet
    for (const r of [cb, cd]) expect(groupMessages(r, fp)).toHaveLength(1);
  });

  it('a re-login on the same gateway gets what the replaced connection did not ack', async () => {
    const c = await cluster(2);
    const [a, b] = [uid('a'), uid('b')];
    await c.groups.put('team', { name: 'Team', members: [a, b].map(asUserId) }, 0);
    const ca = await c.login(0, a);
    const first = await c.login(1, b);
    first.autoAck = false;
    const fp = await ca.send('g:team', 'ack me on your new connection');
    await first.waitForMessage((p) => p.fp === fp);
    const second = await c.login(1, b); // kicks the first
    await second.waitForMessage((p) => p.fp === fp);
    expect(groupMessages(second, fp)).toHaveLength(1);
    await until(async () => (await c.history.cursor(asUserId(b), groupConversation('team'))) === 1, 'the cursor to reach 1');
  });

  it('membership applies from the next message: a removed member stops receiving; an added one gets only what follows its join', async () => {
    const c = await cluster(1);
    const [a, b, n] = [uid('a'), uid('b'), uid('n')];
    await c.groups.put('team', { name: 'Team', members: [a, b].map(asUserId) }, 0);
    const [ca, cb] = [await c.login(0, a), await c.login(0, b)];
    const first = await ca.send('g:team', 'before');
    await cb.waitForMessage((p) => p.fp === first);
    await c.groups.removeMember('team', asUserId(b));
    await c.groups.addMembers('team', [asUserId(n)], await c.history.lastSeq(groupConversation('team')));
    const cn = await c.login(0, n);
    const second = await ca.send('g:team', 'after');
    await cn.waitForMessage((p) => p.fp === second);
    await quietWindow(200);
    expect(groupMessages(cb, second)).toHaveLength(0);
    expect(groupMessages(cn, first)).toHaveLength(0);
  });

  it('a group history that expired starts again at seq 1: members who joined in the old one receive it, sessions that outlived it too', async () => {
    const ttlMs = 1_500;
    const c = await cluster(2, { historyTtlMs: ttlMs });
    const conv = groupConversation('team');
    const [a, b, n] = [uid('a'), uid('b'), uid('n')];
    await c.groups.put('team', { name: 'Team', members: [a, b].map(asUserId) }, 0);
    const [ca, cb] = [await c.login(0, a), await c.login(1, b)];
    const first = await ca.send('g:team', 'one');
    await cb.waitForMessage((p) => p.fp === first);
    await c.groups.addMembers('team', [asUserId(n)], await c.history.lastSeq(conv));
    const cn = await c.login(1, n);
    const second = await ca.send('g:team', 'two');
    for (const r of [cb, cn]) expect((await r.waitForMessage((p) => p.fp === second)).seq).toBe(2);
    // No message for the TTL: the history, its cursors with it, is gone; b and n stay logged in.
    await until(async () => (await c.history.lastSeq(conv)) === 0, 'the group history expired', ttlMs * 4);
    const third = await ca.send('g:team', 'three');
    await ca.waitForAck(third);
    for (const r of [cb, cn]) expect((await r.waitForMessage((p) => p.fp === third)).seq).toBe(1);
    expect(await c.groups.members('team')).toEqual(new Map([a, b, n].map((m) => [asUserId(m), 0])));
    const fourth = await ca.send('g:team', 'four');
    for (const r of [cb, cn]) expect((await r.waitForMessage((p) => p.fp === fourth)).seq).toBe(2);
    await quietWindow(200);
    for (const r of [cb, cn]) for (const fp of [third, fourth]) expect(groupMessages(r, fp)).toHaveLength(1);
  });

  it('a best-effort group message, written to a member, is settled for it: no hole, no second copy by catch-up when a QoS one follows', async () => {
    const c = await cluster(1);
    const [a, b] = [uid('a'), uid('b')];
    await c.groups.put('team', { name: 'Team', members: [a, b].map(asUserId) }, 0);
    const [ca, cb] = [await c.login(0, a), await c.login(0, b)];
    await ca.send('g:team', 'best effort', { qos: false });
    const first = await cb.waitForMessage((p) => p.dataContent === 'best effort');
    expect(first).toMatchObject({ seq: 1, QoS: false });
    const second = await ca.send('g:team', 'with QoS');
    await cb.waitForMessage((p) => p.fp === second);
    // Past the hole grace (3 s), when catch-up would have fetched seq 1 again.
    await quietWindow(GROUP_HOLE_GRACE_MS + 800);
    expect(cb.packets.filter((p) => p.type === PacketType.DATA && p.dataContent === 'best effort')).toHaveLength(1);
    expect(groupMessages(cb, second)).toHaveLength(1);
  });

  it('a group history the memory bound forgot starts again at seq 1 long before its TTL: sessions that outlived it receive every message of the new one', async () => {
    const c = await cluster(1, { historyMaxBytes: 6_000 });
    const conv = groupConversation('team');
    const [a, b] = [uid('a'), uid('b')];
    await c.groups.put('team', { name: 'Team', members: [a, b].map(asUserId) }, 0);
    const [ca, cb] = [await c.login(0, a), await c.login(0, b)];
    const old: string[] = [];
    for (const text of ['one', 'two', 'three']) {
      old.push(await ca.send('g:team', text));
      await cb.waitForMessage((p) => p.fp === old.at(-1));
    }
    // Other conversations fill the bound: the group's, the least recently active, is forgotten.
    for (let i = 0; (await c.history.lastSeq(conv)) > 0; i++) {
      if (i > 200) throw new Error('the group history was never forgotten');
      await c.history.append(peerConversation(asUserId('x'), asUserId(`y${i}`)), { fp: `f${i}`, from: asUserId('x'), to: `y${i}`, dataContent: 'z'.repeat(200), typeu: 0, sentAt: Date.now() }, { indexFor: [] });
    }
    const fresh: string[] = [];
    for (const [i, text] of ['four', 'five', 'six', 'seven'].entries()) {
      fresh.push(await ca.send('g:team', text));
      expect((await cb.waitForMessage((p) => p.fp === fresh[i])).seq).toBe(i + 1);
      await ca.waitForAck(fresh[i]!);
    }
    await quietWindow(200);
    for (const fp of [...old, ...fresh]) expect(groupMessages(cb, fp)).toHaveLength(1);
    for (const fp of [...old, ...fresh]) expect(groupMessages(ca, fp)).toHaveLength(0);
  });

  it('a member that does not ack gets the same packet once more (custody resend), and its late ack still moves its cursor', async () => {
    const c = await cluster(2);
    const [a, b, d] = [uid('a'), uid('b'), uid('d')];
    await c.groups.put('team', { name: 'Team', members: [a, b, d].map(asUserId) }, 0);
    const ca = await c.login(0, a);
    const cb = await c.login(0, b); // a's gateway: the sender's local fan-out
    const cd = await c.login(1, d); // the other gateway: the bridge's fan-out
    for (const r of [cb, cd]) r.autoAck = false;
    const fp = await ca.send('g:team', 'ack me');
    await ca.waitForAck(fp);
    for (const r of [cb, cd]) {
      // custodyResendMs is 300: the copy is written again, the same packet with the same seq, then given up.
      await until(() => r.duplicates === 1, 'a resend of the unacked group message');
      const [first, again] = groupMessages(r, fp);
      expect(again).toEqual(first);
      expect(first).toMatchObject({ from: `g:team:${a}`, seq: 1, QoS: true });
      expect(r.messages.filter((m) => m.fp === fp)).toHaveLength(1);
    }
    await quietWindow(700); // past custodyGiveUpMs: no third copy
    for (const r of [cb, cd]) {
      expect(groupMessages(r, fp)).toHaveLength(2);
      await r.ack(groupMessages(r, fp)[0]!);
    }
    for (const u of [b, d]) await until(async () => (await c.history.cursor(asUserId(u), groupConversation('team'))) === 1, `${u}'s cursor to reach 1`);
  });

  it('a login with a user id that starts with the group prefix is refused', async () => {
    const c = await cluster(1);
    await expect(c.login(0, 'g:sneaky')).rejects.toThrow(/1029/);
  });
});
