// End-to-end checks of `switchboard standalone` as a real process: ready line, dispatch, a chat
// through the URLs dispatch hands out, admin port, graceful SIGTERM, and boot-time config errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PacketType } from '@switchboard/protocol';
import { connectClient, ProcessGroup, startNode, type ReadyNodeProcess, type TestClient } from '@switchboard/testkit';

const PORTS_ANY = {
  IM_WS_PORT: '0',
  IM_TCP_PORT: '0',
  IM_UDP_PORT: '0',
  IM_ADMIN_PORT: '0',
  IM_DISPATCH_PORT: '0',
};

interface Ready {
  event: 'ready';
  role: string;
  nodeId: string;
  ports: { ws: number; tcp: number; udp: number; admin: number; dispatch: number };
}

interface DispatchAnswer {
  node: string;
  ws: string;
  tcp: { host: string; port: number };
  senseMode: string;
  reconnect: Record<string, unknown>;
}

describe('switchboard standalone (process)', () => {
  const group = new ProcessGroup();
  const clients: TestClient[] = [];
  let node: ReadyNodeProcess;
  let ready: Ready;
  let dispatchBase: string;

  beforeAll(async () => {
    node = await group.spawn({
      args: ['standalone'],
      env: { ...PORTS_ANY, IM_SENSE_MODE: '5S', IM_AUTH: 'none', IM_ADMIN_TOKEN: undefined, IM_NODE_ID: undefined, IM_LOG_LEVEL: 'info' },
    });
    ready = node.ready as unknown as Ready;
    dispatchBase = `http://127.0.0.1:${ready.ports.dispatch}`;
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close({ abrupt: true })));
    await group.killAll();
  });

  it('prints one ready line with its role, node id and the ports it bound', () => {
    expect(ready).toMatchObject({ event: 'ready', role: 'standalone' });
    expect(typeof ready.nodeId).toBe('string');
    expect(ready.nodeId.length).toBeGreaterThan(0);
    expect(Object.keys(ready.ports).sort()).toEqual(['admin', 'dispatch', 'tcp', 'udp', 'ws']);
    for (const k of ['ws', 'tcp', 'admin', 'dispatch'] as const) {
      expect(Number.isInteger(ready.ports[k]) && ready.ports[k] > 0, `${k} port ${ready.ports[k]}`).toBe(true);
    }
    expect(new Set([ready.ports.ws, ready.ports.tcp, ready.ports.admin, ready.ports.dispatch]).size).toBe(4);
    const readyLines = node.lines().filter((l) => l.stream === 'stdout' && l.json?.['event'] === 'ready');
    expect(readyLines).toHaveLength(1);
  });

  it('GET /api/dispatch?uid= answers the gateway with ws URL, tcp endpoint, sense mode and reconnect policy', async () => {
    const res = await fetch(`${dispatchBase}/api/dispatch?uid=alice`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as DispatchAnswer;
    expect(body).toMatchObject({
      node: ready.nodeId,
      ws: `ws://127.0.0.1:${ready.ports.ws}/websocket`,
      tcp: { host: '127.0.0.1', port: ready.ports.tcp },
      senseMode: '5S',
    });
    expect(typeof body.reconnect).toBe('object');
    expect(Object.keys(body.reconnect).length).toBeGreaterThan(0);

    const missing = await fetch(`${dispatchBase}/api/dispatch`);
    expect(missing.status).toBe(400);
  });

  it('two clients found through dispatch (WS and TCP) log in and exchange QoS messages', async () => {
    const d1 = (await (await fetch(`${dispatchBase}/api/dispatch?uid=sa-alice`)).json()) as DispatchAnswer;
    const d2 = (await (await fetch(`${dispatchBase}/api/dispatch?uid=sa-bob`)).json()) as DispatchAnswer;
    const alice = await connectClient({ url: d1.ws, uid: 'sa-alice' });
    clients.push(alice);
    const bob = await connectClient({ url: `tcp://${d2.tcp.host}:${d2.tcp.port}`, uid: 'sa-bob', shape: 'h5' });
    clients.push(bob);

    const fp = await alice.send('sa-bob', 'hello from a dispatched client', { typeu: 3 });
    const got = await bob.waitForMessage((m) => m.fp === fp);
    expect(got).toMatchObject({ from: 'sa-alice', to: 'sa-bob', dataContent: 'hello from a dispatched client', typeu: 3 });
    await alice.waitForAck(fp);

    const back = await bob.send('sa-alice', 'hi back');
    await alice.waitForMessage((m) => m.fp === back);
    await bob.waitForAck(back);
    await alice.keepAlive();
  });

  it('the admin port answers health, readiness and metrics', async () => {
    const base = `http://127.0.0.1:${ready.ports.admin}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const readyz = await fetch(`${base}/readyz`);
    expect(readyz.status).toBe(200);
    expect(await readyz.json()).toMatchObject({ ready: true, nodeId: ready.nodeId });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^switchboard_logins_total\{result="ok"\} [1-9]/m);
    // Known labels exist before their first event; what runs is labelled.
    expect(metrics).toMatch(/^switchboard_connections\{transport="udp"\} 0$/m);
    expect(metrics).toMatch(/^switchboard_messages_lost_total\{reason="storage_full"\} 0$/m);
    expect(metrics).toMatch(/^switchboard_build_info\{version="\d+\.\d+\.\d+[^"]*",node="v20[^"]*",role="standalone"\} 1$/m);
    // The in-memory history: the two messages above, in one conversation, counted; its bound; one buffer
    // of 1 MiB; nothing evicted or forgotten.
    expect(metrics).toMatch(/^switchboard_history_memory_bytes\{kind="counted"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^switchboard_history_memory_bytes\{kind="limit"\} [1-9]\d{6,}$/m);
    expect(metrics).toMatch(/^switchboard_history_memory_bytes\{kind="buffers"\} 1048576$/m);
    expect(metrics).toMatch(/^switchboard_history_conversations 1$/m);
    expect(metrics).toMatch(/^switchboard_history_evicted_total 0$/m);
    expect(metrics).toMatch(/^switchboard_history_forgotten_total 0$/m);
    const dispatchMetrics = await (await fetch(`${dispatchBase}/metrics`)).text();
    expect(dispatchMetrics).toMatch(/^switchboard_build_info\{.*role="standalone"\} 1$/m);
    expect(dispatchMetrics).toMatch(/^switchboard_http_requests_total\{method="GET",route="\/api\/dispatch",status="200"\} [1-9]/m);
  });

  // Last: it ends the process.
  it('SIGTERM - drains the connected clients and exits 0 promptly', async () => {
    const c = await connectClient({ url: `ws://127.0.0.1:${ready.ports.ws}/websocket`, uid: 'sa-carol' });
    clients.push(c);
    const t0 = Date.now();
    node.kill('SIGTERM');
    const exit = await node.waitForExit(10_000);
    expect(exit, node.output()).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(5_000);
    const info = await c.waitForClose();
    expect(info.code).toBe(4000);
    expect(c.packets.filter((p) => p.type === PacketType.KICKOUT)).toHaveLength(0);
  });
});

describe('switchboard standalone - IM_HISTORY_MEMORY_BYTES', () => {
  const group = new ProcessGroup();
  afterAll(() => group.killAll());

  it('bounds the in-memory history, conversations included: the least recently active are forgotten', async () => {
    const node = await group.spawn({
      args: ['standalone'],
      env: { ...PORTS_ANY, IM_AUTH: 'none', IM_ADMIN_TOKEN: undefined, IM_NODE_ID: undefined, IM_HISTORY_MEMORY_BYTES: '8000' },
    });
    const { ports } = node.ready as unknown as Ready;
    const dispatch = `http://127.0.0.1:${ports.dispatch}`;
    // 40 server pushes to 40 offline users: 40 conversations with "0", about 1.2 KB counted each.
    for (let i = 0; i < 40; i++) {
      const res = await fetch(`${dispatch}/api/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ to: `mb-${i}`, dataContent: `notice ${i}` }),
      });
      expect(res.status, await res.clone().text()).toBe(202);
    }
    const metrics = await (await fetch(`http://127.0.0.1:${ports.admin}/metrics`)).text();
    const value = (series: string): number => Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\d+)$`, 'm').exec(metrics)?.[1]);
    expect(value('switchboard_history_memory_bytes{kind="limit"}')).toBe(8000);
    expect(value('switchboard_history_memory_bytes{kind="counted"}')).toBeLessThanOrEqual(8000);
    const kept = value('switchboard_history_conversations');
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(10);
    expect(value('switchboard_history_forgotten_total')).toBe(40 - kept);
    // The newest conversation is whole; the oldest was forgotten (its push still waits offline).
    const history = async (uid: string): Promise<unknown[]> => {
      const res = await fetch(`${dispatch}/api/history?peer=0`, { headers: { authorization: `Bearer ${uid}` } });
      expect(res.status).toBe(200);
      return ((await res.json()) as { messages: unknown[] }).messages;
    };
    expect(await history('mb-39')).toMatchObject([{ seq: 1, from: '0', to: 'mb-39', dataContent: 'notice 39' }]);
    expect(await history('mb-0')).toEqual([]);
  });
});

describe('switchboard standalone - bad configuration', () => {
  it('exits non-zero with one message that lists every problem, and never gets ready', async () => {
    const proc = startNode({
      args: ['standalone'],
      env: { ...PORTS_ANY, IM_SENSE_MODE: '7S', IM_WS_PORT: 'abc' },
    });
    const exit = await proc.waitForExit(30_000);
    expect(exit.code, proc.output()).not.toBe(0);
    expect(exit.code).not.toBeNull();
    const err = proc
      .lines()
      .filter((l) => l.stream === 'stderr')
      .map((l) => l.text)
      .join('\n');
    expect(proc.lines().some((l) => l.json?.['event'] === 'ready')).toBe(false);
    // One message, naming both variables.
    expect(err.match(/invalid configuration/g), err).toHaveLength(1);
    expect(err).toMatch(/IM_SENSE_MODE/);
    expect(err).toMatch(/7S/);
    expect(err).toMatch(/IM_WS_PORT/);
    expect(err).not.toMatch(/\n\s+at /); // a clean message, not a stack trace
  });
});
