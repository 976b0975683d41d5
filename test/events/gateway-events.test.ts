/**
 * PENDING until the gateway publishes events (IM_EVENTS / IM_WEBHOOK_URL wiring, issue #9): rename
 * to `gateway-events.test.ts` in the same change. Not matched by vitest's `*.test.ts` until then.
 *
 * Two real gateways on Redis + RabbitMQ: every occurrence appears exactly once on a bound queue,
 * with its routing key, published by the gateway that saw it, and the same events reach a real,
 * signature-checking webhook receiver.
 */
import { createServer, type Server } from 'node:http';
import { connect, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@switchboard/core';
import { createWebhookHandler, type ImEvent } from '@switchboard/gateway';
import { connectClient, resolveAmqpUrl, type TestClient } from '@switchboard/testkit';
import { TestCluster } from '../cluster/harness.js';

const SECRET = 'gateway-events-test-secret';
let cluster: TestCluster;
let admin: ChannelModel;
let server: Server;
const onQueue: Array<{ key: string; event: ImEvent; messageId: unknown }> = [];
const onWebhook: ImEvent[] = [];
const clients: TestClient[] = [];

beforeAll(async () => {
  server = createServer(
    createWebhookHandler({
      secret: SECRET,
      onEvents: (events) => {
        onWebhook.push(...events);
      },
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const hook = `http://127.0.0.1:${(server.address() as { port: number }).port}/events`;
  admin = await connect(await resolveAmqpUrl());
  cluster = await TestCluster.start('gw-events', {
    gateways: 2,
    env: { IM_EVENTS: 'amqp', IM_WEBHOOK_URL: hook, IM_WEBHOOK_SECRET: SECRET, IM_WEBHOOK_FLUSH_INTERVAL_MS: '50' },
  });
  // Bound before any client connects, as a backend would be.
  const ch = await admin.createChannel();
  const exchange = `${cluster.prefix}.events`;
  await ch.assertExchange(exchange, 'topic', { durable: true });
  const { queue } = await ch.assertQueue('', { exclusive: true });
  await ch.bindQueue(queue, exchange, '#');
  await ch.consume(
    queue,
    (m: ConsumeMessage | null) => {
      if (m === null) return;
      onQueue.push({ key: m.fields.routingKey, event: JSON.parse(m.content.toString('utf8')) as ImEvent, messageId: m.properties.messageId });
    },
    { noAck: true },
  );
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close({ abrupt: true }).catch(() => undefined)));
  await cluster?.stop();
  if (admin) {
    const ch = await admin.createChannel();
    await ch.deleteExchange(`${cluster.prefix}.events`).catch(() => undefined);
    await admin.close();
  }
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function login(gw: number, uid: string): Promise<TestClient> {
  const c = await connectClient({ url: `ws://127.0.0.1:${cluster.gateways[gw]!.ports.ws}/websocket`, uid });
  clients.push(c);
  return c;
}

const quiet = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('gateway events', () => {
  it('each occurrence appears once, with its routing key, from the gateway that saw it; webhooks get the same', async () => {
    const [gw1, gw2] = cluster.gateways;
    const alice = await login(0, 'alice');
    const bob = await login(1, 'bob');

    const fps: string[] = [];
    for (let i = 0; i < 3; i++) {
      const fp = await alice.send('bob', `hi ${i}`);
      await alice.waitForAck(fp);
      fps.push(fp);
    }
    // C2S, then a resend of the same fp: one event (gateway dedupe; same id anyway).
    const c2s = await alice.send('0', '{"friendRequest":"bob"}', { typeu: 10 });
    await alice.waitForAck(c2s);
    await alice.send('0', '{"friendRequest":"bob"}', { typeu: 10, fp: c2s });
    // Bob leaves; the next message is stored offline.
    await bob.close();
    await waitFor(() => onQueue.some((q) => q.key === 'logout'), { timeoutMs: 10_000, what: 'logout' });
    const offline = await alice.send('bob', 'later');
    await alice.waitForAck(offline);

    await waitFor(() => onQueue.some((q) => q.key === 'c2c.offline'), { timeoutMs: 10_000, what: 'c2c.offline' });
    await quiet(500);
    const keys = onQueue.map((q) => q.key).sort();
    expect(keys).toEqual(['c2c.delivered', 'c2c.delivered', 'c2c.delivered', 'c2c.offline', 'c2s', 'login', 'login', 'logout'].sort());
    for (const q of onQueue) {
      expect(q.event.type).toBe(q.key);
      expect(q.messageId).toBe(q.event.id);
    }
    const delivered = onQueue.filter((q) => q.key === 'c2c.delivered').map((q) => q.event);
    expect(delivered.map((e) => (e as { fp: string }).fp).sort()).toEqual([...fps].sort());
    // Published by the sender's gateway only, never also by the receiver's.
    expect(delivered.every((e) => e.nodeId === gw1!.nodeId)).toBe(true);
    const logins = onQueue.filter((q) => q.key === 'login').map((q) => q.event as Extract<ImEvent, { type: 'login' }>);
    expect(logins.find((e) => e.userId === 'bob')!.nodeId).toBe(gw2!.nodeId);
    const c2sEvent = onQueue.find((q) => q.key === 'c2s')!.event as Extract<ImEvent, { type: 'c2s' }>;
    expect(c2sEvent).toMatchObject({ from: 'alice', fp: c2s, typeu: 10, dataContent: '{"friendRequest":"bob"}' });

    await waitFor(() => onWebhook.length >= onQueue.length, { timeoutMs: 10_000, what: 'webhook events' });
    expect(new Set(onWebhook.map((e) => e.id))).toEqual(new Set(onQueue.map((q) => q.event.id)));
  });
});
