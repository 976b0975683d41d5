import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '@switchboard/core';
import { ProcessGroup, startNode, resolveAmqpUrl, resolveRedisUrl, uniquePrefix, cleanupRedisPrefix, TestClient } from '@switchboard/testkit';

describe('switchboard cluster --gateways N', () => {
  const group = new ProcessGroup();
  let redisUrl = '';
  let prefix = '';
  afterAll(async () => {
    await group.killAll();
    if (redisUrl) await cleanupRedisPrefix(redisUrl, prefix).catch(() => {});
  });

  it('starts dispatch and N gateways on free ports, lists them, and stops them all on SIGTERM', async () => {
    redisUrl = await resolveRedisUrl();
    const amqpUrl = await resolveAmqpUrl();
    prefix = uniquePrefix('clicluster');
    const proc = startNode({
      args: ['cluster', '--gateways', '2'],
      env: { IM_REDIS_URL: redisUrl, IM_AMQP_URL: amqpUrl, IM_KEY_PREFIX: prefix, IM_AUTH: 'none', IM_DISPATCH_PORT: '0', IM_LOG_LEVEL: 'warn' },
      group,
    });
    // The children's ready lines are forwarded as they come; the cluster's own comes last.
    const line = await proc.waitForLine((l) => l.json?.['event'] === 'ready' && l.json['role'] === 'cluster', { timeoutMs: 60_000 });
    const ready = line.json as unknown as { role: string; ports: { dispatch: number }; gateways: Array<{ nodeId: string; ports: { ws: number; tcp: number } }> };
    // the children's own ready lines are printed too, before the cluster's
    const childReadies = proc.lines().filter((l) => l.text.includes('"event":"ready"') && !l.text.includes('"role":"cluster"'));
    expect(childReadies.length).toBe(3);
    expect(ready.role).toBe('cluster');
    expect(ready.gateways).toHaveLength(2);
    const base = `http://127.0.0.1:${ready.ports.dispatch}`;
    // The gateways report to the node registry on their own timers (and a report can come late on a busy
    // machine), so wait for the condition itself: both listed, then a dispatch answer naming one of them.
    const getJson = async (p: string): Promise<{ status: number; body: unknown }> => {
      const res = await fetch(`${base}${p}`);
      return { status: res.status, body: await res.json() };
    };
    type NodeView = { id: string; ports: { ws: number; tcp: number; admin: number } };
    let lastNodes: unknown;
    const nodes = await waitFor(
      async () => {
        const r = await getJson('/admin/nodes');
        lastNodes = r.body;
        const list = (r.body as { nodes?: NodeView[] }).nodes ?? [];
        return r.status === 200 && list.length >= 2 ? list : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: 'both gateways in /admin/nodes' },
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last answer: ${JSON.stringify(lastNodes)}\n${proc.output()}`);
    });
    expect(nodes.map((n) => n.id).sort()).toEqual(ready.gateways.map((g) => g.nodeId).sort());
    for (const n of nodes) {
      const g = ready.gateways.find((x) => x.nodeId === n.id)!;
      expect(n.ports.ws).toBe(g.ports.ws);
      expect(n.ports.tcp).toBe(g.ports.tcp);
      expect(n.ports.admin).toBeGreaterThan(0);
    }
    // a client can use it: dispatch hands out one of the two gateways. It answers 503 while its node list
    // (cached for a moment, refreshed from the registry) shows no live gateway, e.g. a report came late.
    type DispatchAnswer = { node: string; ws: string; tcp: { host: string; port: number } };
    let lastDispatch: unknown;
    const d = await waitFor(
      async () => {
        const r = await getJson('/api/dispatch?uid=cli-user');
        lastDispatch = { status: r.status, body: r.body };
        return r.status === 200 ? (r.body as DispatchAnswer) : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: 'a dispatch answer' },
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last answer: ${JSON.stringify(lastDispatch)}\n${proc.output()}`);
    });
    const picked = ready.gateways.find((g) => g.nodeId === d.node);
    expect(picked, `dispatch picked ${d.node}`).toBeDefined();
    expect(d.ws).toBe(`ws://127.0.0.1:${picked!.ports.ws}/websocket`);
    expect(d.tcp.port).toBe(picked!.ports.tcp);
    const c = new TestClient({ url: d.ws });
    await c.connect();
    expect((await c.login('cli-user')).code).toBe(0);
    await c.close();
    // Backends up on a gateway and on dispatch, and what runs.
    const gwMetrics = await (await fetch(`http://127.0.0.1:${nodes[0]!.ports.admin}/metrics`)).text();
    expect(gwMetrics).toMatch(/^switchboard_backend_up\{backend="redis"\} 1$/m);
    expect(gwMetrics).toMatch(/^switchboard_backend_up\{backend="rabbitmq"\} 1$/m);
    expect(gwMetrics).toMatch(/^switchboard_backend_up\{backend="rabbitmq_events"\} 1$/m);
    expect(gwMetrics).toMatch(/^switchboard_events_failed_total\{sink="amqp"\} 0$/m);
    expect(gwMetrics).toMatch(/^switchboard_build_info\{.*role="gateway"\} 1$/m);
    const dMetrics = await (await fetch(`${base}/metrics`)).text();
    expect(dMetrics).toMatch(/^switchboard_backend_up\{backend="redis"\} 1$/m);
    expect(dMetrics).toMatch(/^switchboard_build_info\{.*role="dispatch"\} 1$/m);

    proc.kill('SIGTERM');
    const exit = await proc.waitForExit(20_000);
    expect(exit.code).toBe(0);
    // children are gone: their ports refuse connections
    for (const g of ready.gateways) {
      const probe = new TestClient({ transport: 'tcp', host: '127.0.0.1', port: g.ports.tcp, timeoutMs: 1_000 });
      await expect(probe.connect()).rejects.toThrow();
    }
  });
});
