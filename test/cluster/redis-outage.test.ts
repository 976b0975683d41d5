import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, waitFor } from '@switchboard/core';
import { TcpProxy, TestClient } from '@switchboard/testkit';
import { TestCluster, type GatewayProc } from './harness.js';

describe('Redis goes away and comes back empty-handed', () => {
  let cluster: TestCluster;
  let proxy: TcpProxy;
  let gw: GatewayProc;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    cluster = await TestCluster.start('redisout', { gateways: 0 });
    proxy = await TcpProxy.toward(cluster.redisUrl, 6379);
    // Only this gateway reaches Redis through the proxy, so only it sees the outage.
    gw = await cluster.addGateway({ IM_REDIS_URL: proxy.url(cluster.redisUrl) });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await cluster?.stop();
    await proxy?.close();
  });

  it('logins fail with code 1030 and readiness is 503 while it is down; routes are re-registered when it is back', async () => {
    const { createRedisBackends } = await import('@switchboard/cluster/redis');
    const be = createRedisBackends({ url: cluster.redisUrl, prefix: cluster.prefix, log: silentLogger() });
    try {
      const alice = await cluster.clientOn(gw, 'ro-alice', 'tcp');
      clients.push(alice);
      const before = await be.routes.lookup('ro-alice' as never);
      expect(before?.nodeId).toBe(gw.nodeId);
      const readyz = () => fetch(`http://127.0.0.1:${gw.ports.admin}/readyz`).then((r) => r.status);
      expect(await readyz()).toBe(200);

      await proxy.stop();
      await waitFor(async () => (await readyz()) === 503, { timeoutMs: 5_000, what: 'readiness 503 while Redis is away' });
      const bob = new TestClient({ transport: 'ws', url: `ws://127.0.0.1:${gw.ports.ws}/websocket` });
      clients.push(bob);
      await bob.connect();
      expect(await bob.login('ro-bob')).toMatchObject({ code: 1030, firstLoginTime: -1 });
      // Redis "restarts" without its data: the route is gone.
      expect(await be.routes.unregister('ro-alice' as never, before!.connId)).toBe(true);

      await proxy.start();
      await waitFor(async () => (await be.routes.lookup('ro-alice' as never))?.connId === before!.connId, {
        timeoutMs: 10_000,
        what: "alice's route re-registered by her gateway",
      });
      await waitFor(async () => (await readyz()) === 200, { timeoutMs: 5_000, what: 'readiness back to 200' });
      expect(alice.closeInfo).toBeNull();
      // her session was never interrupted
      const carol = await cluster.clientOn(gw, 'ro-carol', 'ws');
      clients.push(carol);
      const fp = await carol.send('ro-alice', 'welcome back');
      await alice.waitForMessage((p) => p.fp === fp);
      await carol.waitForAck(fp);
    } finally {
      await be.close();
    }
  });
});
