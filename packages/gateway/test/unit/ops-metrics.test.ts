// Metrics an operator needs from an idle or troubled gateway: every known label at 0 from the start,
// build info, backends up or down, the event sinks and the webhook queue; and the admin port logging
// each action it takes.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { asUserId, silentLogger, waitFor } from '@switchboard/core';
import { CONVERSATION_BYTES, MemoryHistoryStore, peerConversation } from '@switchboard/cluster';
import {
  KNOWN_LABELS,
  WebhookSink,
  buildGatewayAdmin,
  countEventSink,
  createGateway,
  createGatewayMetrics,
  registerBackendMetrics,
  registerBuildInfo,
  registerEventsPendingMetric,
  registerHistoryMemoryMetrics,
  registerWebhookMetrics,
  MemoryEventSink,
  type Gateway,
  type ImEvent,
} from '@switchboard/gateway';
import { TestClient } from '@switchboard/testkit';

const value = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('the in-memory history', () => {
  it('shows its counted bytes, limit, buffers, conversations, evictions and forgotten conversations at each scrape', async () => {
    const store = new MemoryHistoryStore({ maxBytes: 2_000 });
    const { registry } = createGatewayMetrics({ defaultMetrics: false });
    registerHistoryMemoryMetrics(registry, () => store.memory);
    let text = await registry.metrics();
    expect(value(text, 'switchboard_history_memory_bytes{kind="counted"}')).toBe(0);
    expect(value(text, 'switchboard_history_memory_bytes{kind="limit"}')).toBe(2_000);
    expect(value(text, 'switchboard_history_memory_bytes{kind="buffers"}')).toBe(0);
    expect(value(text, 'switchboard_history_evicted_total')).toBe(0);
    expect(value(text, 'switchboard_history_forgotten_total')).toBe(0);
    expect(value(text, 'switchboard_history_conversations')).toBe(0);
    const send = (from: string, to: string, fp: string) =>
      store.append(peerConversation(asUserId(from), asUserId(to)), { fp, from: asUserId(from), to, dataContent: 'z'.repeat(300), typeu: 0, sentAt: Date.now() }, { indexFor: [] });
    // Each message counts 120 + 2 × (4 + 1 + 1 + 300) = 732 bytes, the conversation CONVERSATION_BYTES:
    // from the third message on, each evicts one.
    for (let i = 0; i < 5; i++) await send('a', 'b', `fp-${i}`);
    text = await registry.metrics();
    expect(value(text, 'switchboard_history_memory_bytes{kind="counted"}')).toBe(CONVERSATION_BYTES + 2 * 732);
    expect(value(text, 'switchboard_history_memory_bytes{kind="buffers"}')).toBe(1024 * 1024);
    expect(value(text, 'switchboard_history_evicted_total')).toBe(3);
    expect(value(text, 'switchboard_history_conversations')).toBe(1);
    // A second conversation's first message takes the first one's messages, its second one the first
    // conversation itself.
    await send('c', 'd', 'fp-x');
    text = await registry.metrics();
    expect(value(text, 'switchboard_history_memory_bytes{kind="counted"}')).toBe(2 * CONVERSATION_BYTES + 732);
    expect(value(text, 'switchboard_history_evicted_total')).toBe(5);
    expect(value(text, 'switchboard_history_forgotten_total')).toBe(0);
    expect(value(text, 'switchboard_history_conversations')).toBe(2);
    await send('c', 'd', 'fp-y');
    text = await registry.metrics();
    expect(value(text, 'switchboard_history_memory_bytes{kind="counted"}')).toBe(CONVERSATION_BYTES + 2 * 732);
    expect(value(text, 'switchboard_history_forgotten_total')).toBe(1);
    expect(value(text, 'switchboard_history_conversations')).toBe(1);
    registerHistoryMemoryMetrics(registry, () => store.memory); // a second registration shares the series
    expect(value(await registry.metrics(), 'switchboard_history_evicted_total')).toBe(5);
  });
});

describe('an idle gateway', () => {
  it('shows connections, logins, messages, kicks, lost messages and refused connections at 0 for every known label', async () => {
    const text = await createGatewayMetrics({ defaultMetrics: false }).registry.metrics();
    for (const t of KNOWN_LABELS.transport) expect(value(text, `switchboard_connections{transport="${t}"}`), t).toBe(0);
    for (const r of KNOWN_LABELS.loginResult) expect(value(text, `switchboard_logins_total{result="${r}"}`), r).toBe(0);
    for (const k of KNOWN_LABELS.messageKind) expect(value(text, `switchboard_messages_total{kind="${k}"}`), k).toBe(0);
    for (const c of KNOWN_LABELS.kickCode) expect(value(text, `switchboard_kicks_total{code="${c}"}`), String(c)).toBe(0);
    for (const r of KNOWN_LABELS.lostReason) expect(value(text, `switchboard_messages_lost_total{reason="${r}"}`), r).toBe(0);
    for (const r of KNOWN_LABELS.refusedReason) expect(value(text, `switchboard_connections_refused_total{reason="${r}"}`), r).toBe(0);
  });

  it('counts from 0 on: a message kind and a login result go up from their zero', async () => {
    const m = createGatewayMetrics({ defaultMetrics: false });
    m.messages.inc('c2s');
    m.logins.inc({ result: 'ok' });
    m.connections.inc({ transport: 'tcp' });
    const text = await m.registry.metrics();
    expect(value(text, 'switchboard_messages_total{kind="c2s"}')).toBe(1);
    expect(value(text, 'switchboard_messages_total{kind="s2c"}')).toBe(0);
    expect(value(text, 'switchboard_logins_total{result="ok"}')).toBe(1);
    expect(value(text, 'switchboard_connections{transport="tcp"}')).toBe(1);
  });
});

describe('operations metrics', () => {
  it('build info, and backends up or down as they are at scrape time', async () => {
    const { registry } = createGatewayMetrics({ defaultMetrics: false });
    registerBuildInfo(registry, { version: '1.2.3', role: 'gateway' });
    let redis = true;
    registerBackendMetrics(registry, { redis: () => redis, rabbitmq: () => false });
    let text = await registry.metrics();
    expect(value(text, `switchboard_build_info{version="1.2.3",node="${process.version}",role="gateway"}`)).toBe(1);
    expect(value(text, 'switchboard_backend_up{backend="redis"}')).toBe(1);
    expect(value(text, 'switchboard_backend_up{backend="rabbitmq"}')).toBe(0);
    redis = false;
    text = await registry.metrics();
    expect(value(text, 'switchboard_backend_up{backend="redis"}')).toBe(0);
  });

  it('event sinks: published and failed per sink from 0, the exchange\'s pending confirms', async () => {
    const { registry } = createGatewayMetrics({ defaultMetrics: false });
    const inner = new MemoryEventSink();
    const amqp = countEventSink(registry, 'amqp', inner);
    countEventSink(registry, 'webhook', new MemoryEventSink());
    let pending = 3;
    registerEventsPendingMetric(registry, () => pending);
    const ev: ImEvent = { type: 'logout', id: 'e1', at: 1, nodeId: 'gw', userId: 'u', connId: 'c', kickCode: -1 };
    await amqp.publish(ev);
    inner.failNextPublish(new Error('broker down'));
    await expect(amqp.publish({ ...ev, id: 'e2' })).rejects.toThrow('broker down');
    pending = 0;
    const text = await registry.metrics();
    expect(value(text, 'switchboard_events_published_total{sink="amqp"}')).toBe(1);
    expect(value(text, 'switchboard_events_failed_total{sink="amqp"}')).toBe(1);
    expect(value(text, 'switchboard_events_published_total{sink="webhook"}')).toBe(0);
    expect(value(text, 'switchboard_events_failed_total{sink="webhook"}')).toBe(0);
    expect(value(text, 'switchboard_events_pending{sink="amqp"}')).toBe(0);
  });

  it('webhook: queue depth, delivered, failed attempts and drops, from the sink itself', async () => {
    const { registry } = createGatewayMetrics({ defaultMetrics: false });
    // Nothing listens there: every attempt fails; a queue of 2 drops the third event.
    const hook = new WebhookSink({ url: 'http://127.0.0.1:9/hook', secret: 'ops-metrics-secret-0123', maxQueue: 2, flushIntervalMs: 5, retryBaseMs: 10, retryMaxMs: 20, maxAttempts: 50, closeTimeoutMs: 10 });
    registerWebhookMetrics(registry, () => hook.stats());
    const ev = (id: string): ImEvent => ({ type: 'logout', id, at: 1, nodeId: 'gw', userId: 'u', connId: 'c', kickCode: -1 });
    await Promise.all([hook.publish(ev('a')), hook.publish(ev('b')), hook.publish(ev('c'))]);
    await waitFor(() => hook.stats().failedAttempts >= 2, { what: 'two failed attempts' });
    const text = await registry.metrics();
    expect(value(text, 'switchboard_webhook_queue_depth')).toBe(2);
    expect(value(text, 'switchboard_webhook_delivered_total')).toBe(0);
    expect(value(text, 'switchboard_webhook_failed_attempts_total')).toBeGreaterThanOrEqual(2);
    expect(value(text, 'switchboard_webhook_dropped_total')).toBe(1);
    await hook.close();
  });
});

describe('gateway admin port', () => {
  let gw: Gateway | undefined;
  afterEach(async () => gw?.close());

  it('logs each admin action: kick (with its result) and drain, with the caller', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const log = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
          cb();
        },
      }),
    );
    gw = createGateway({ log, wsPort: 0, tcpPort: 0 });
    const ports = await gw.start();
    const admin = buildGatewayAdmin(gw, { log: silentLogger() });
    const c = new TestClient({ url: `ws://127.0.0.1:${ports.ws}/websocket` });
    await c.connect();
    await c.login('u1');
    await admin.inject({ method: 'POST', url: '/admin/users/u1/kick', payload: { reason: 'abuse' } });
    await admin.inject({ method: 'POST', url: '/admin/users/ghost/kick' });
    await admin.inject({ method: 'POST', url: '/admin/drain' });
    await gw.closed;
    const got = lines.filter((l) => typeof l['admin'] === 'string');
    expect(got).toEqual([
      expect.objectContaining({ admin: 'kick', msg: 'admin kick', userId: 'u1', reason: 'abuse', result: 'kicked', remote: '127.0.0.1' }),
      expect.objectContaining({ admin: 'kick', userId: 'ghost', reason: null, result: 'not_online' }),
      expect.objectContaining({ admin: 'drain', msg: 'admin drain', nodeId: gw.nodeId, remote: '127.0.0.1' }),
    ]);
    await c.close({ abrupt: true });
    await admin.close();
  });
});
