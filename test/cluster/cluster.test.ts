import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@switchboard/core';
import type { TestClient } from '@switchboard/testkit';
import { TestCluster } from './harness.js';

describe('cluster of dispatch + 3 gateways', () => {
  let cluster: TestCluster;
  const clients: TestClient[] = [];
  const track = <T extends TestClient>(c: T): T => {
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    cluster = await TestCluster.start('cluster', { gateways: 3 });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await cluster?.stop();
  });

  it('dispatch - 300 dispatches use all 3 gateways, largest share ≤ 1.5× the smallest', async () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const d = await cluster.dispatchFor(`storm-${i}`);
      counts.set(d.node, (counts.get(d.node) ?? 0) + 1);
      expect(d.ws).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/websocket$/);
    }
    expect(counts.size).toBe(3);
    const shares = [...counts.values()];
    expect(Math.max(...shares)).toBeLessThanOrEqual(1.5 * Math.min(...shares));
  });

  it('dispatch - answers with the gateway ports it registered', async () => {
    const d = await cluster.dispatchFor('ports-check');
    const gw = cluster.gateways.find((g) => g.nodeId === d.node)!;
    expect(gw).toBeDefined();
    expect(d.ws).toBe(`ws://127.0.0.1:${gw.ports.ws}/websocket`);
    expect(d.tcp).toEqual({ host: '127.0.0.1', port: gw.ports.tcp });
  });

  for (const [ta, tb] of [
    ['ws', 'ws'],
    ['tcp', 'ws'],
    ['ws', 'tcp'],
    ['tcp', 'tcp'],
  ] as const) {
    it(`cross-node - ${ta} ↔ ${tb} QoS both ways: delivered once, the sender gets the receiver's real ack`, async () => {
      const [g1, g2] = cluster.gateways;
      const a = track(await cluster.clientOn(g1!, `x-a-${ta}${tb}`, ta));
      const b = track(await cluster.clientOn(g2!, `x-b-${ta}${tb}`, tb, { autoAck: false }));
      // b does not ack yet: a must not be acked.
      const fp = await a.send(b.uid!, 'hello across nodes');
      const m = await b.waitForMessage((p) => p.fp === fp);
      expect(m.from).toBe(a.uid);
      await new Promise((r) => setTimeout(r, 300));
      expect(a.acks).not.toContain(fp);
      await b.ack(m);
      await a.waitForAck(fp);
      // the other way, with auto-ack
      b.autoAck = true;
      const fp2 = await b.send(a.uid!, 'and back');
      await b.waitForAck(fp2);
      const m2 = await a.waitForMessage((p) => p.fp === fp2);
      expect(m2.dataContent).toBe('and back');
      // exactly once, and exactly one ack each
      await new Promise((r) => setTimeout(r, 200));
      expect(b.messages.filter((p) => p.fp === fp)).toHaveLength(1);
      expect(a.acks.filter((x) => x === fp)).toHaveLength(1);
      expect(b.acks.filter((x) => x === fp2)).toHaveLength(1);
    });
  }

  it('metrics - a burst of cross-node messages travels in fewer broker messages than items, and /metrics says so', async () => {
    const [g1, g2] = cluster.gateways;
    const b = track(await cluster.clientOn(g2!, 'burst-b', 'ws'));
    const senders = await Promise.all(Array.from({ length: 20 }, (_, i) => cluster.clientOn(g1!, `burst-a${i}`, 'ws')));
    senders.forEach(track);
    const scrape = async () => {
      const text = await (await fetch(`http://127.0.0.1:${g1!.ports.admin}/metrics`)).text();
      const read = (name: string) => Number(text.match(new RegExp(`^${name} (\\d+)`, 'm'))?.[1] ?? NaN);
      return { items: read('switchboard_bridge_items_published_total'), msgs: read('switchboard_bridge_broker_messages_published_total') };
    };
    const before = await scrape();
    // 20 senders × 10 messages, all sent before any answer comes back: the deliveries pile up in few turns.
    const fps = (await Promise.all(senders.map((a) => Promise.all(Array.from({ length: 10 }, (_, k) => a.send(b.uid!, `burst ${k}`)))))).flat();
    for (const [i, a] of senders.entries()) for (const fp of fps.slice(i * 10, i * 10 + 10)) await a.waitForAck(fp);
    const after = await scrape();
    const items = after.items - before.items;
    const msgs = after.msgs - before.msgs;
    expect(items).toBeGreaterThanOrEqual(200);
    expect(msgs).toBeGreaterThan(0);
    expect(msgs).toBeLessThan(items);
  });

  it('kick - a second login on another gateway kicks the first with code 1', async () => {
    const [g1, g2] = cluster.gateways;
    const first = track(await cluster.clientOn(g1!, 'dup-seq', 'ws'));
    const second = track(await cluster.clientOn(g2!, 'dup-seq', 'tcp'));
    const k = await first.waitForPacket(54);
    expect(JSON.parse(k.dataContent!)).toEqual({ code: 1 });
    await first.waitForClose();
    // the survivor gets messages
    const peer = track(await cluster.clientOn(cluster.gateways[2]!, 'dup-seq-peer', 'ws'));
    const fp = await peer.send('dup-seq', 'to the survivor');
    await second.waitForMessage((p) => p.fp === fp);
    await peer.waitForAck(fp);
    expect(second.closeInfo).toBeNull();
  });

  it('kick - two simultaneous logins of one user on two gateways end with exactly one session', async () => {
    for (let round = 0; round < 5; round++) {
      const uid = `dup-sim-${round}`;
      const [g1, g2] = cluster.gateways;
      const [x, y] = await Promise.all([cluster.clientOn(g1!, uid, 'ws'), cluster.clientOn(g2!, uid, 'tcp')]);
      track(x);
      track(y);
      await waitFor(() => x.closeInfo !== null || y.closeInfo !== null, { timeoutMs: 5_000, what: 'one session kicked' });
      await new Promise((r) => setTimeout(r, 300));
      const alive = [x, y].filter((c) => c.closeInfo === null);
      expect(alive).toHaveLength(1);
      const dead = [x, y].find((c) => c.closeInfo !== null)!;
      expect(dead.kickouts.map((k) => k.code)).toEqual([1]);
      const peer = track(await cluster.clientOn(cluster.gateways[2]!, `${uid}-peer`, 'ws'));
      const fp = await peer.send(uid, 'who is there');
      await alive[0]!.waitForMessage((p) => p.fp === fp);
      await peer.waitForAck(fp);
    }
  });

  it('offline - a message to a user who is offline everywhere is stored, acked, and delivered at login on any node', async () => {
    const [g1, g2] = cluster.gateways;
    const a = track(await cluster.clientOn(g1!, 'off-a', 'ws'));
    const fps = [];
    for (let i = 0; i < 5; i++) fps.push(await a.send('off-b', `queued ${i}`));
    for (const fp of fps) await a.waitForAck(fp);
    const b = track(await cluster.clientOn(g2!, 'off-b', 'tcp'));
    await waitFor(() => b.messages.length >= 5, { what: '5 offline messages' });
    expect(b.messages.map((p) => p.dataContent)).toEqual([0, 1, 2, 3, 4].map((i) => `queued ${i}`));
    const user = await waitFor(async () => {
      const u = (await (await fetch(`${cluster.dispatchUrl}/admin/users/off-b`)).json()) as { offlineQueue: number; online: boolean };
      return u.offlineQueue === 0 ? u : null;
    }, { what: 'offline queue emptied by acks' });
    expect(user.online).toBe(true);
  });

  it('offline - a receiver whose route names a dead node gets its messages through the offline queue', async () => {
    const { createRedisBackends } = await import('@switchboard/cluster/redis');
    const { silentLogger } = await import('@switchboard/core');
    const be = createRedisBackends({ url: cluster.redisUrl, prefix: cluster.prefix, log: silentLogger() });
    try {
      await be.routes.claim(
        { userId: 'ghost' as never, nodeId: 'gw-dead0000' as never, connId: 'c-dead' as never, firstLoginTime: 1, since: Date.now() },
        0,
      );
      const a = track(await cluster.clientOn(cluster.gateways[0]!, 'ghost-sender', 'ws'));
      const fp = await a.send('ghost', 'are you there?');
      await a.waitForAck(fp, { timeoutMs: 3_000 });
      expect(await be.offline.count('ghost' as never)).toBe(1);
      // logging in is not blocked by the dead node's route, and the queue arrives
      const g = track(await cluster.clientOn(cluster.gateways[1]!, 'ghost', 'tcp', { firstLoginTime: 0 }));
      await g.waitForMessage((p) => p.fp === fp);
      await waitFor(async () => (await be.offline.count('ghost' as never)) === 0, { what: 'queue emptied' });
    } finally {
      await be.close();
    }
  });

  it('push API - POST /api/messages reaches a user on any gateway with from "0", and waits offline otherwise', async () => {
    for (const [i, gw] of cluster.gateways.entries()) {
      const u = track(await cluster.clientOn(gw, `push-${i}`, i % 2 ? 'tcp' : 'ws'));
      const res = await fetch(`${cluster.dispatchUrl}/api/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ to: u.uid, dataContent: `server says hi ${i}`, typeu: 77 }),
      });
      expect(res.status).toBe(202);
      const { fp, status } = (await res.json()) as { fp: string; status: string };
      expect(status).toBe('relayed');
      const m = await u.waitForMessage((p) => p.fp === fp);
      expect(m).toMatchObject({ from: '0', to: u.uid, dataContent: `server says hi ${i}`, typeu: 77, QoS: true });
    }
    const res = await fetch(`${cluster.dispatchUrl}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ to: 'push-later', dataContent: 'while you were away' }),
    });
    const { fp, status } = (await res.json()) as { fp: string; status: string };
    expect(status).toBe('stored');
    const late = track(await cluster.clientOn(cluster.gateways[2]!, 'push-later', 'tcp'));
    await late.waitForMessage((p) => p.fp === fp);
  });

  it('admin kick - POST /admin/users/:uid/kick on dispatch kicks the user on its gateway with code 2', async () => {
    const u = track(await cluster.clientOn(cluster.gateways[1]!, 'kick-me', 'ws'));
    const res = await fetch(`${cluster.dispatchUrl}/admin/users/kick-me/kick`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'admin says bye' }),
    });
    expect(res.status).toBe(200);
    const k = await u.waitForPacket(54);
    expect(JSON.parse(k.dataContent!)).toEqual({ code: 2, reason: 'admin says bye' });
    await u.waitForClose();
    // once the gateway has removed the route, the user is offline for dispatch too
    await waitFor(async () => (await fetch(`${cluster.dispatchUrl}/admin/users/kick-me/kick`, { method: 'POST' })).status === 404, {
      what: 'kick of an offline user to answer 404',
    });
  });
});
