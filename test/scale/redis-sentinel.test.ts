import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, waitFor } from '@switchboard/core';
import { startRedisSentinel, type TestClient, type TestRedisSentinel } from '@switchboard/testkit';
import { TestCluster } from '../cluster/harness.js';
import { ChatUser } from '../cluster/chat-user.js';
import { settle, traffic } from '../cluster/traffic.js';

/**
 * IM_REDIS_MODE=sentinel against 1 master, 1 replica and 3 sentinels started here. Acked offline
 * stores and history appends wait for the replica (IM_REDIS_WAIT_REPLICAS=auto), so what a sender was
 * acked survives a hard failover (the master SIGKILLed under load).
 */
describe('Redis Sentinel: dispatch and 2 gateways follow a failover under load', () => {
  let rs: TestRedisSentinel;
  let cluster: TestCluster;
  const clients: TestClient[] = [];
  let users: ChatUser[] = [];
  let offline: ChatUser[] = [];

  beforeAll(async () => {
    rs = await startRedisSentinel({ label: 'scale-rs' });
    cluster = await TestCluster.start('scale-rs', {
      gateways: 2,
      env: { IM_REDIS_MODE: 'sentinel', IM_REDIS_URL: rs.url, IM_REDIS_SENTINEL_NAME: rs.name, IM_REDIS_WAIT_TIMEOUT_MS: '400' },
    });
  }, 90_000);
  afterAll(async () => {
    for (const n of rs ? [rs.master, rs.replica] : []) {
      try {
        process.kill(n.proc.child.pid!, 'SIGCONT');
      } catch {
        // exited already (the killed master)
      }
    }
    await Promise.all([...users, ...offline].map((u) => u.stop()));
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await cluster?.stop().catch(() => {});
    await rs?.stop();
  }, 30_000);

  it('replica wait - an offline store the replica has not confirmed is not acked; the resend is, once it has', async () => {
    const a = await cluster.clientOn(cluster.gateways[0]!, 'rs-wait-a', 'ws');
    clients.push(a);
    // Let the gateways' replica check see the replica (every 5 s and on connect; it is there from the start).
    const pid = rs.replica.proc.child.pid!;
    process.kill(pid, 'SIGSTOP');
    try {
      const fp = await a.send('rs-wait-b', 'needs a replica');
      await new Promise((r) => setTimeout(r, 1_500));
      expect(a.acks).not.toContain(fp);
      process.kill(pid, 'SIGCONT');
      await a.send('rs-wait-b', 'needs a replica', { qos: true, fp });
      await a.waitForAck(fp, { timeoutMs: 3_000 });
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const b = await cluster.clientOn(cluster.gateways[1]!, 'rs-wait-b', 'tcp');
    clients.push(b);
    const got = await b.waitForMessage((p) => p.dataContent === 'needs a replica');
    await new Promise((r) => setTimeout(r, 300));
    expect(b.messages.filter((p) => p.fp === got.fp)).toHaveLength(1);
  });

  it('failover - master SIGKILLed under load: gateways and dispatch follow the new master; every acked message (offline queue and history) survives', async () => {
    users = Array.from({ length: 40 }, (_, i) => new ChatUser(`rs-u-${i}`, cluster, i % 2 === 0 ? 'ws' : 'tcp'));
    offline = Array.from({ length: 8 }, (_, i) => new ChatUser(`rs-off-${i}`, cluster, 'ws'));
    await Promise.all(users.map((u) => u.start()));
    const load = traffic(users, 100);
    // Messages to users who are offline everywhere: stored offline (and in history), then acked.
    const toOffline: Array<{ fp: string; from: ChatUser; to: ChatUser }> = [];
    let sending = true;
    const offlineLoop = (async () => {
      for (let i = 0; sending; i++) {
        const from = users[i % users.length]!;
        const to = offline[i % offline.length]!;
        toOffline.push({ fp: await from.send(to.uid, `off-${i}`), from, to });
        await new Promise((r) => setTimeout(r, 40));
      }
    })();
    await new Promise((r) => setTimeout(r, 2_000));
    const oldMaster = rs.master.port;
    const ackedBefore = toOffline.filter((m) => m.from.acked.has(m.fp)).length;
    process.kill(rs.master.proc.child.pid!, 'SIGKILL');
    const killedAt = Date.now();
    await waitFor(async () => (await rs.currentMasterPort()) === rs.replica.port, { timeoutMs: 20_000, intervalMs: 200, what: 'the sentinels to promote the replica' });
    const promotedAfterMs = Date.now() - killedAt;
    // Traffic goes on through the new master: new offline stores get acked again.
    const ackedAtPromotion = toOffline.filter((m) => m.from.acked.has(m.fp)).length;
    await waitFor(() => toOffline.filter((m) => m.from.acked.has(m.fp)).length > ackedAtPromotion + 10, {
      timeoutMs: 15_000,
      what: 'offline stores acked by the new master',
    });
    const recoveredAfterMs = Date.now() - killedAt;
    await new Promise((r) => setTimeout(r, 1_000));
    sending = false;
    await offlineLoop;
    await load.stop();
    expect(rs.master.port).toBe(oldMaster);
    await waitFor(async () => (await cluster.nodes()).length === 2, { timeoutMs: 15_000, what: 'dispatch to list both gateways again' });

    const { missing } = await settle(users, load.sent, 40_000);
    expect(missing).toEqual([]);
    expect(users.every((u) => [...u.received.values()].every((n) => n === 1))).toBe(true);
    // Every message to the offline users was acked (settle resent the unacked ones): log them in now.
    await Promise.all(offline.map((u) => u.start()));
    await waitFor(() => toOffline.every((m) => m.to.received.has(m.fp)), {
      timeoutMs: 20_000,
      what: 'every acked offline message delivered after the failover',
    }).catch(() => {});
    expect(toOffline.filter((m) => !m.to.received.has(m.fp)).map((m) => m.fp)).toEqual([]);
    expect(ackedBefore).toBeGreaterThan(10);

    // History: each of those messages has its entry, read through the new master.
    const { createRedisBackends } = await import('@switchboard/cluster/redis');
    const { peerConversation } = await import('@switchboard/cluster');
    const be = createRedisBackends({ url: rs.url, mode: 'sentinel', sentinelName: rs.name, prefix: cluster.prefix, log: silentLogger() });
    try {
      const fps = new Set<string>();
      for (const u of users) {
        for (const o of offline) {
          const entries = await be.history.after(peerConversation(u.uid as never, o.uid as never), { after: 0, limit: 1_000 });
          for (const e of entries) fps.add(e.fp);
        }
      }
      expect(toOffline.filter((m) => !fps.has(m.fp)).map((m) => m.fp)).toEqual([]);
    } finally {
      await be.close();
    }
    console.info(
      `sentinel failover: ${load.sent.length} online + ${toOffline.length} offline messages (${ackedBefore} acked before the kill); ` +
        `replica promoted ${promotedAfterMs} ms after the kill, offline stores acked again after ${recoveredAfterMs} ms`,
    );
  });
});
