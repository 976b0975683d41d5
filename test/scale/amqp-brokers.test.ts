import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@switchboard/core';
import { rabbitServerAvailable, startRabbitCluster, type TestRabbitCluster } from '@switchboard/testkit';
import { TestCluster } from '../cluster/harness.js';
import { ChatUser } from '../cluster/chat-user.js';
import { settle, traffic } from '../cluster/traffic.js';

/**
 * IM_AMQP_URL as a list: two RabbitMQ nodes clustered on this machine (own node names, ports and
 * dirs, beside the machine's broker). Gateways and dispatch start on the first; it is SIGKILLed under
 * load; every client walks the list to the second, which gets the node queues declared again.
 */
describe.runIf(rabbitServerAvailable())('RabbitMQ broker list: a 2-node cluster loses the node every gateway is on', () => {
  let rb: TestRabbitCluster;
  let cluster: TestCluster;
  let users: ChatUser[] = [];

  /** The bridge queues of this test's gateways and the node each lives on, as `rabbitmqctl list_queues` on `via` says. */
  const queues = async (via: number): Promise<Map<string, string>> => {
    const out = await rb.ctl(rb.nodes[via]!, 'list_queues', 'name', 'pid');
    const map = new Map<string, string>();
    for (const line of out.split('\n')) {
      const [name, pid] = line.split('\t');
      if (name?.startsWith(`${cluster.prefix}.bridge.`) && pid) map.set(name.slice(`${cluster.prefix}.bridge.`.length), /<([^.]+@[^.]+)\./.exec(pid)?.[1] ?? pid);
    }
    return map;
  };

  beforeAll(async () => {
    rb = await startRabbitCluster({ count: 2, name: 'scale-mq' });
    cluster = await TestCluster.start('scale-mq', { gateways: 2, env: { IM_AMQP_URL: rb.url } });
  }, 150_000);
  afterAll(async () => {
    await Promise.all(users.map((u) => u.stop()));
    await cluster?.stop().catch(() => {});
    await rb?.stop();
  }, 30_000);

  it('failover - node queues are declared again on the broker reached; cross-node traffic goes on; zero lost', async () => {
    const [first, second] = rb.nodes;
    const before = await queues(1);
    for (const g of cluster.gateways) expect(before.get(g.nodeId)).toBe(first!.node);

    users = Array.from({ length: 40 }, (_, i) => new ChatUser(`mq-${i}`, cluster, i % 2 === 0 ? 'ws' : 'tcp'));
    await Promise.all(users.map((u) => u.start()));
    const load = traffic(users, 100);
    await new Promise((r) => setTimeout(r, 1_500));
    await rb.procs.kill(first!.proc);
    const killedAt = Date.now();
    await waitFor(
      async () => {
        const now = await queues(1);
        return cluster.gateways.every((g) => now.get(g.nodeId) === second!.node);
      },
      { timeoutMs: 20_000, intervalMs: 250, what: 'both gateways to declare their queues again on the second broker' },
    );
    const movedAfterMs = Date.now() - killedAt;
    await new Promise((r) => setTimeout(r, 2_000));
    await load.stop();
    const { missing } = await settle(users, load.sent, 30_000);
    expect(load.sent.length).toBeGreaterThan(200);
    expect(missing).toEqual([]);
    expect(users.every((u) => [...u.received.values()].every((n) => n === 1))).toBe(true);

    // A gateway started now, with the first broker of its list dead, boots on the second.
    const late = await cluster.addGateway();
    expect((await queues(1)).get(late.nodeId)).toBe(second!.node);
    await cluster.waitForNodes(3);
    console.info(`broker failover: ${load.sent.length} messages; node queues on the second broker ${movedAfterMs} ms after the kill`);
  });
});
