import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connect, type ChannelModel } from 'amqplib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ImErrorCode, TimeoutError, asUserId, newNodeId, waitFor, type NodeId } from '@switchboard/core';
import { TcpProxy, resolveAmqpUrl, uniquePrefix, timeRejection } from '@switchboard/testkit';
import type { BridgeMessage, BridgeState } from '../../src/bridge.js';
import { AmqpBridge, bridgeExchange, type AmqpBridgeOptions } from '../../src/amqp/index.js';

const run = promisify(execFile);

let url = '';
const prefix = uniquePrefix('amqp-recovery');
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  url = await resolveAmqpUrl();
});

afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

afterAll(async () => {
  const admin: ChannelModel = await connect(url);
  const ch = await admin.createChannel();
  await ch.deleteExchange(bridgeExchange(prefix)).catch(() => undefined);
  await admin.close();
});

/** A TCP proxy toward the broker, so a test can cut, refuse or freeze *its own* connections. */
async function proxy(): Promise<{ p: TcpProxy; url: string }> {
  const p = await TcpProxy.toward(url, 5672);
  cleanups.push(() => p.close());
  return { p, url: p.url(url) };
}

interface Node {
  bridge: AmqpBridge;
  inbox: BridgeMessage[];
  states: BridgeState[];
}

async function node(opts: Partial<AmqpBridgeOptions> = {}): Promise<Node> {
  const bridge = new AmqpBridge({
    url,
    prefix,
    nodeId: newNodeId('rc'),
    reconnectBaseMs: 50,
    reconnectMaxMs: 400,
    ...opts,
  });
  const inbox: BridgeMessage[] = [];
  const states: BridgeState[] = [];
  bridge.onStateChange((s) => states.push(s));
  cleanups.push(() => bridge.close());
  await bridge.start((m) => inbox.push(m));
  return { bridge, inbox, states };
}

function ping(origin: NodeId, fp: string): BridgeMessage {
  return { type: 'ack', origin, fp, from: asUserId('r'), to: asUserId('s') };
}

/** Both directions deliver (the recovered node's queue is declared and bound again). */
async function expectFlowBothWays(x: Node, y: Node, tag: string): Promise<void> {
  await x.bridge.send(y.bridge.nodeId, ping(x.bridge.nodeId, `${tag}-xy`));
  await y.bridge.send(x.bridge.nodeId, ping(y.bridge.nodeId, `${tag}-yx`));
  await waitFor(
    () =>
      y.inbox.some((m) => m.type === 'ack' && m.fp === `${tag}-xy`) && x.inbox.some((m) => m.type === 'ack' && m.fp === `${tag}-yx`),
    { what: `${tag} in both directions` },
  );
}

describe('AmqpBridge recovery', () => {
  it('broker unreachable - goes down, rejects sends at once, reconnects when it is back, redeclares, flows both ways', async () => {
    const { p, url: proxied } = await proxy();
    const a = await node({ url: proxied });
    const b = await node();
    await expectFlowBothWays(a, b, 'before');

    await p.stop();
    await waitFor(() => a.bridge.state !== 'up', { what: 'a leaves up' });
    const { err, ms } = await timeRejection(a.bridge.send(b.bridge.nodeId, ping(a.bridge.nodeId, 'during')));
    expect(err).toMatchObject({ code: ImErrorCode.UNAVAILABLE });
    expect(ms).toBeLessThan(50);
    // The broker dropped a's exclusive queue with its connection: b's messages come back to b.
    await waitFor(
      async () => {
        try {
          await b.bridge.send(a.bridge.nodeId, ping(b.bridge.nodeId, 'to-absent'));
          return false;
        } catch (e) {
          return (e as { code?: string }).code === ImErrorCode.UNROUTABLE;
        }
      },
      { what: 'a unroutable while it is disconnected' },
    );
    // Several failed attempts (refused) while the proxy is down.
    await waitFor(() => a.states.filter((s) => s === 'connecting').length >= 2, { what: 'reconnect attempts' });
    expect(a.bridge.state === 'down' || a.bridge.state === 'connecting').toBe(true);

    await p.start();
    await waitFor(() => a.bridge.state === 'up', { timeoutMs: 5_000, what: 'a up again' });
    expect(a.states[0]).toBe('up');
    expect(a.states[1]).toBe('down');
    expect(a.states.at(-1)).toBe('up');
    for (let i = 1; i < a.states.length; i++) expect(a.states[i]).not.toBe(a.states[i - 1]);
    await expectFlowBothWays(a, b, 'after');
    expect(b.bridge.state).toBe('up');
    expect(b.states).toEqual(['up']);
  });

  it('connection severed - reconnects by itself every time, flows both ways', async () => {
    const { p, url: proxied } = await proxy();
    const a = await node({ url: proxied });
    const b = await node();
    await expectFlowBothWays(a, b, 'before');
    for (let round = 0; round < 3; round++) {
      p.sever();
      await waitFor(() => a.states.filter((s) => s === 'down').length > round, { what: `down #${round + 1}` });
      await waitFor(() => a.bridge.state === 'up', { timeoutMs: 5_000, what: `up again #${round + 1}` });
      await expectFlowBothWays(a, b, `round-${round}`);
    }
    expect(p.connections).toBe(1);
  });

  it('half-open - while the broker still holds the old connection and queue, retries until it lets go', async () => {
    const { p, url: proxied } = await proxy();
    // heartbeat 1 s: the broker gives up on the silent old connection after a few seconds.
    const a = await node({ url: proxied, heartbeatS: 1, reconnectMaxMs: 300 });
    const b = await node();
    await expectFlowBothWays(a, b, 'before');
    p.halfSever();
    await waitFor(() => a.states.includes('down'), { what: 'a down' });
    // The old exclusive queue still exists, so redeclaring it is refused (RESOURCE_LOCKED) for a while.
    await waitFor(() => a.states.filter((s) => s === 'connecting').length >= 2, { timeoutMs: 5_000, what: 'refused attempts' });
    await waitFor(() => a.bridge.state === 'up', { timeoutMs: 15_000, what: 'a up once the broker dropped the old connection' });
    await expectFlowBothWays(a, b, 'after');
  });

  it('send - in-flight sends reject with UnavailableError as soon as the connection drops', async () => {
    const { p, url: proxied } = await proxy();
    const a = await node({ url: proxied, sendTimeoutMs: 10_000 });
    const b = await node();
    p.freeze();
    const inFlight = Array.from({ length: 20 }, (_, i) => a.bridge.send(b.bridge.nodeId, ping(a.bridge.nodeId, `f${i}`)));
    const outcome = Promise.allSettled(inFlight);
    await new Promise((r) => setTimeout(r, 50));
    const t0 = performance.now();
    p.sever();
    const results = await outcome;
    expect(performance.now() - t0).toBeLessThan(1_000);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: ImErrorCode.UNAVAILABLE });
    }
  });

  it('send - rejects with UnavailableError (cause TimeoutError) when the broker never confirms', async () => {
    const { p, url: proxied } = await proxy();
    const a = await node({ url: proxied, sendTimeoutMs: 300, closeTimeoutMs: 500 });
    const b = await node();
    p.freeze();
    const { err, ms } = await timeRejection(a.bridge.send(b.bridge.nodeId, ping(a.bridge.nodeId, 'hung')));
    expect(err).toMatchObject({ code: ImErrorCode.UNAVAILABLE });
    expect((err as Error).cause).toBeInstanceOf(TimeoutError);
    expect(ms).toBeGreaterThanOrEqual(290);
    expect(ms).toBeLessThan(800);
    // close() must not hang on a frozen broker either.
    const t0 = performance.now();
    await a.bridge.close();
    expect(performance.now() - t0).toBeLessThan(1_500);
    expect(a.bridge.state).toBe('closed');
    // The hung connection's socket is dropped, not left behind.
    await waitFor(() => p.connections === 0, { timeoutMs: 1_000, what: 'socket dropped' });
  });

  it('queue bound - a stalled node stops taking messages past queueMaxLength; senders get UnavailableError', async () => {
    const { p, url: proxied } = await proxy();
    const stalled = await node({ url: proxied, prefetch: 1, queueMaxLength: 5, closeTimeoutMs: 300 });
    const a = await node();
    p.freeze(); // the broker keeps pushing into a socket that never acks
    // One send per turn, so one AMQP message each: the bound counts AMQP messages, and sends of one
    // turn would share one (a batch).
    const results: Array<PromiseSettledResult<void>> = [];
    for (let i = 0; i < 10; i++) {
      const [r] = await Promise.allSettled([a.bridge.send(stalled.bridge.nodeId, ping(a.bridge.nodeId, `q${i}`))]);
      results.push(r as PromiseSettledResult<void>);
    }
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    const refused = results.filter((r) => r.status === 'rejected' && (r.reason as { code?: string }).code === ImErrorCode.UNAVAILABLE);
    // 5 ready, plus the one the broker may already have pushed to the consumer (prefetch 1).
    expect(ok === 5 || ok === 6, `${ok} taken`).toBe(true);
    expect(refused).toHaveLength(10 - ok);
    expect(a.bridge.state).toBe('up');
  });

  it('close - during an outage stops reconnecting and clears its timers', async () => {
    const { p, url: proxied } = await proxy();
    const a = await node({ url: proxied });
    await p.stop();
    await waitFor(() => a.bridge.state !== 'up', { what: 'a down' });
    await a.bridge.close();
    const seen = a.states.length;
    await p.start();
    await new Promise((r) => setTimeout(r, 600));
    expect(a.bridge.state).toBe('closed');
    expect(a.states.length).toBe(seen);
    expect(p.connections).toBe(0);
  });
});

/** The broker itself closes the connection (connection.close from the server, not a socket drop). */
async function rabbitmqctlReachesBroker(): Promise<boolean> {
  const host = new URL(await resolveAmqpUrl()).hostname;
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') return false;
  try {
    await run('rabbitmqctl', ['-q', 'status'], { timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

const canCtl = await rabbitmqctlReachesBroker();

describe('AmqpBridge recovery (rabbitmqctl, local broker only)', () => {
  it.skipIf(!canCtl)('broker closes the connection - down, then back up by itself, flows both ways', async () => {
    const a = await node();
    const b = await node();
    await expectFlowBothWays(a, b, 'before');
    // RabbitMQ 3.x has no user_provided_name column: find our connection_name in client_properties.
    const { stdout } = await run('rabbitmqctl', ['-q', 'list_connections', '--no-table-headers', 'pid', 'client_properties'], {
      timeout: 20_000,
    });
    const wanted = `{"connection_name","${a.bridge.connectionName}"}`;
    const pid = stdout
      .split('\n')
      .find((l) => l.includes(wanted))
      ?.split('\t')[0];
    expect(pid, `connection named ${a.bridge.connectionName}`).toBeDefined();
    await run('rabbitmqctl', ['-q', 'close_connection', pid as string, 'switchboard test: forced close'], { timeout: 20_000 });
    await waitFor(() => a.states.includes('down'), { timeoutMs: 10_000, what: 'a down' });
    await waitFor(() => a.bridge.state === 'up', { timeoutMs: 10_000, what: 'a up again' });
    await expectFlowBothWays(a, b, 'after');
  });
});
