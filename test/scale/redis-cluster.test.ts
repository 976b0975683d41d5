import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@switchboard/core';
import { cleanupRedisPrefix, redisCommand, startRedisCluster, type TestClient, type TestRedisCluster } from '@switchboard/testkit';
import { TestCluster } from '../cluster/harness.js';
import { ChatUser } from '../cluster/chat-user.js';
import { settle, traffic } from '../cluster/traffic.js';

/**
 * IM_REDIS_MODE=cluster against a real 3-master Redis Cluster started here (redis-server
 * --cluster-enabled yes ×3, redis-cli --cluster create) on free ports: dispatch and 3 gateways run
 * the cluster tests' core cases on it, with their keys spread over the three masters.
 */
describe('Redis Cluster (3 masters): dispatch and 3 gateways in IM_REDIS_MODE=cluster', () => {
  let rc: TestRedisCluster;
  let cluster: TestCluster;
  const clients: TestClient[] = [];
  let users: ChatUser[] = [];
  const track = <T extends TestClient>(c: T): T => {
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    rc = await startRedisCluster({ masters: 3, name: 'scale-rc' });
    cluster = await TestCluster.start('scale-rc', { gateways: 3, env: { IM_REDIS_MODE: 'cluster', IM_REDIS_URL: rc.url } });
  }, 90_000);
  afterAll(async () => {
    await Promise.all(users.map((u) => u.stop()));
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await cluster?.stop().catch(() => {});
    await rc?.stop();
  }, 30_000);

  it('dispatch - 150 dispatches use all 3 gateways, largest share ≤ 1.5× the smallest', async () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 150; i++) {
      const d = await cluster.dispatchFor(`rc-storm-${i}`);
      counts.set(d.node, (counts.get(d.node) ?? 0) + 1);
    }
    expect(counts.size).toBe(3);
    expect(Math.max(...counts.values())).toBeLessThanOrEqual(1.5 * Math.min(...counts.values()));
  });

  it('cross-node - ws → tcp QoS: delivered once, the sender gets the receiver\'s real ack, and back', async () => {
    const [g1, g2] = cluster.gateways;
    const a = track(await cluster.clientOn(g1!, 'rc-x-a', 'ws'));
    const b = track(await cluster.clientOn(g2!, 'rc-x-b', 'tcp', { autoAck: false }));
    const fp = await a.send(b.uid!, 'hello across nodes');
    const m = await b.waitForMessage((p) => p.fp === fp);
    await new Promise((r) => setTimeout(r, 300));
    expect(a.acks).not.toContain(fp);
    await b.ack(m);
    await a.waitForAck(fp);
    b.autoAck = true;
    const fp2 = await b.send(a.uid!, 'and back');
    await b.waitForAck(fp2);
    expect((await a.waitForMessage((p) => p.fp === fp2)).dataContent).toBe('and back');
    await new Promise((r) => setTimeout(r, 200));
    expect(b.messages.filter((p) => p.fp === fp)).toHaveLength(1);
    expect(a.acks.filter((x) => x === fp)).toHaveLength(1);
  });

  it('kick - a second login on another gateway kicks the first with code 1; the survivor gets messages', async () => {
    const [g1, g2, g3] = cluster.gateways;
    const first = track(await cluster.clientOn(g1!, 'rc-dup', 'ws'));
    const second = track(await cluster.clientOn(g2!, 'rc-dup', 'tcp'));
    const k = await first.waitForPacket(54);
    expect(JSON.parse(k.dataContent!)).toEqual({ code: 1 });
    await first.waitForClose();
    const peer = track(await cluster.clientOn(g3!, 'rc-dup-peer', 'ws'));
    const fp = await peer.send('rc-dup', 'to the survivor');
    await second.waitForMessage((p) => p.fp === fp);
    await peer.waitForAck(fp);
  });

  it('offline - messages to a user offline everywhere are acked and delivered at login on another node', async () => {
    const [g1, , g3] = cluster.gateways;
    const a = track(await cluster.clientOn(g1!, 'rc-off-a', 'ws'));
    const fps = [];
    for (let i = 0; i < 5; i++) fps.push(await a.send('rc-off-b', `queued ${i}`));
    for (const fp of fps) await a.waitForAck(fp);
    const b = track(await cluster.clientOn(g3!, 'rc-off-b', 'tcp'));
    await waitFor(() => b.messages.length >= 5, { what: '5 offline messages' });
    expect(b.messages.map((p) => p.dataContent)).toEqual([0, 1, 2, 3, 4].map((i) => `queued ${i}`));
  });

  it('SIGKILL - a gateway killed under load: dispatch drops it, its users move, zero lost, no application duplicate', async () => {
    users = Array.from({ length: 90 }, (_, i) => new ChatUser(`rc-fo-${i}`, cluster, i % 2 === 0 ? 'ws' : 'tcp'));
    for (let i = 0; i < users.length; i += 30) await Promise.all(users.slice(i, i + 30).map((u) => u.start()));
    const victim = cluster.gateways[1]!;
    const onVictim = users.filter((u) => u.nodeId === victim.nodeId);
    expect(onVictim.length).toBeGreaterThan(10);
    const load = traffic(users, 150);
    await new Promise((r) => setTimeout(r, 1_500));
    victim.proc.kill('SIGKILL');
    await waitFor(async () => !(await cluster.nodes()).some((n) => n.id === victim.nodeId), {
      timeoutMs: 8_000,
      intervalMs: 100,
      what: 'dispatch to stop listing the killed node',
    });
    await new Promise((r) => setTimeout(r, 2_000));
    await load.stop();
    await waitFor(() => onVictim.every((u) => u.client !== null && u.nodeId !== victim.nodeId), {
      timeoutMs: 15_000,
      what: "the killed node's users to reconnect elsewhere",
    });
    const { missing } = await settle(users, load.sent, 30_000);
    expect(load.sent.length).toBeGreaterThan(300);
    expect(missing).toEqual([]);
    // `received` counts each fp once; a second copy would be an application duplicate.
    expect(users.every((u) => [...u.received.values()].every((n) => n === 1))).toBe(true);
    console.info(`redis cluster failover: ${load.sent.length} messages, ${onVictim.length} users moved`);
  });

  it('keys - spread over all three masters; each slot-tagged group of keys lives on one master', async () => {
    const perMaster = await rc.keysPerMaster();
    console.info(`redis cluster keys per master: ${perMaster.join(', ')}`);
    expect(perMaster.every((n) => n > 0)).toBe(true);
    expect(Math.max(...perMaster)).toBeLessThan(perMaster.reduce((a, b) => a + b, 0));
    // The registry's keys share the {nodes} slot: all of them on the one master that owns it.
    const slot = Number(await redisCommand(rc.masters[0]!.port, 'CLUSTER', 'KEYSLOT', `${cluster.prefix}:registry:{nodes}:records`));
    const inSlot = await Promise.all(rc.masters.map(async (m) => Number(await redisCommand(m.port, 'CLUSTER', 'COUNTKEYSINSLOT', slot))));
    expect(inSlot.filter((n) => n > 0)).toHaveLength(1);
    expect(Math.max(...inSlot)).toBeGreaterThanOrEqual(2);
  });

  it('cleanup - cleanupRedisPrefix scans every master and leaves none of the prefix behind', async () => {
    await Promise.all(users.map((u) => u.stop()));
    users = [];
    await cluster.stop();
    const deleted = await cleanupRedisPrefix(rc.url, cluster.prefix);
    expect(deleted).toBeGreaterThan(0);
    expect(await rc.keysPerMaster()).toEqual([0, 0, 0]);
  });
});
