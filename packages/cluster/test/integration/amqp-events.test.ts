import { connect, type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ImErrorCode, TimeoutError, waitFor } from '@switchboard/core';
import { TcpProxy, resolveAmqpUrl, uniquePrefix, timeRejection } from '@switchboard/testkit';
import {
  AmqpEventsPublisher,
  EVENTS_EXCHANGE_OPTIONS,
  eventsExchange,
  type AmqpEventsPublisherOptions,
  type EventsPublisherState,
  type PublishableEvent,
} from '../../src/amqp/index.js';

let url = '';
let admin: ChannelModel;
const prefix = uniquePrefix('amqp-events');
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  url = await resolveAmqpUrl();
  admin = await connect(url);
});

afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

afterAll(async () => {
  const ch = await admin.createChannel();
  await ch.deleteExchange(eventsExchange(prefix)).catch(() => undefined);
  await admin.close();
});

/** A TCP proxy toward the broker, so a test can cut, refuse or freeze its own connection. */
async function proxy(): Promise<{ p: TcpProxy; url: string }> {
  const p = await TcpProxy.toward(url, 5672);
  cleanups.push(() => p.close());
  return { p, url: p.url(url) };
}

interface Started {
  pub: AmqpEventsPublisher;
  states: EventsPublisherState[];
}

async function publisher(opts: Partial<AmqpEventsPublisherOptions> = {}): Promise<Started> {
  const pub = new AmqpEventsPublisher({ url, prefix, name: 'test', reconnectBaseMs: 50, reconnectMaxMs: 400, ...opts });
  const states: EventsPublisherState[] = [];
  pub.onStateChange((s) => states.push(s));
  cleanups.push(() => pub.close());
  await pub.start();
  return { pub, states };
}

/** An exclusive queue bound to the events exchange with `patterns`, collecting what arrives. */
async function subscriber(patterns: string[]): Promise<{ got: ConsumeMessage[]; ch: Channel }> {
  const ch = await admin.createChannel();
  await ch.assertExchange(eventsExchange(prefix), 'topic', EVENTS_EXCHANGE_OPTIONS);
  const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true });
  for (const p of patterns) await ch.bindQueue(queue, eventsExchange(prefix), p);
  const got: ConsumeMessage[] = [];
  await ch.consume(
    queue,
    (m) => {
      if (m !== null) got.push(m);
    },
    { noAck: true },
  );
  cleanups.push(() => ch.close().catch(() => undefined));
  return { got, ch };
}

let seq = 0;
function ev(type: string, extra: Record<string, unknown> = {}): PublishableEvent & Record<string, unknown> {
  seq += 1;
  return { id: `${type}:${seq}:${Math.random().toString(36).slice(2)}`, type, at: Date.now(), nodeId: 'gw-test', ...extra };
}

const SAMPLES = (): Array<PublishableEvent & Record<string, unknown>> => [
  ev('login', { userId: 'alice', connId: 'c1', transport: 'ws', extra: null }),
  ev('logout', { userId: 'alice', connId: 'c1', kickCode: -1 }),
  ev('c2s', { from: 'alice', fp: 'fp-1', typeu: 7, dataContent: '{"friend":"bob"}' }),
  ev('c2c.delivered', { from: 'alice', to: 'bob', fp: 'fp-2', typeu: -1, dataContent: 'hi', latencyMs: 3 }),
  ev('c2c.offline', { from: 'alice', to: 'carol', fp: 'fp-3', typeu: -1, dataContent: 'hey' }),
  ev('lost', { from: 'alice', to: 'dave', fp: 'fp-4', typeu: -1, reason: 'full' }),
];

/** Give stray duplicates time to show up before counting. */
const settle = (ms = 200): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('AmqpEventsPublisher', () => {
  it('publish - each event appears once on a bound queue, routing key = type, persistent JSON, messageId = id', async () => {
    const all = await subscriber(['#']);
    const { pub } = await publisher();
    const events = SAMPLES();
    await Promise.all(events.map((e) => pub.publish(e)));
    await waitFor(() => all.got.length >= events.length, { what: 'every event' });
    await settle();
    expect(all.got).toHaveLength(events.length);
    for (const [i, m] of all.got.entries()) {
      const e = events[i]!;
      expect(m.fields.routingKey).toBe(e.type);
      expect(m.fields.exchange).toBe(`${prefix}.events`);
      expect(m.properties.messageId).toBe(e.id);
      expect(m.properties.contentType).toBe('application/json');
      expect(m.properties.deliveryMode).toBe(2);
      expect(m.properties.type).toBe(e.type);
      expect(m.properties.appId).toBe('switchboard');
      expect(m.properties.timestamp).toBe(Math.floor(e.at! / 1000));
      expect(JSON.parse(m.content.toString('utf8'))).toEqual(e);
    }
  });

  it('publish - topic bindings select by type; 1000 concurrent publishes arrive once each, in order', async () => {
    const c2s = await subscriber(['c2s']);
    const c2c = await subscriber(['c2c.*']);
    const { pub } = await publisher();
    const burst = Array.from({ length: 1000 }, (_, i) => ev(i % 2 === 0 ? 'c2s' : 'c2c.delivered', { n: i }));
    await Promise.all([...burst, ...SAMPLES()].map((e) => pub.publish(e)));
    await waitFor(() => c2s.got.length >= 501 && c2c.got.length >= 502, { what: 'both queues filled' });
    await settle();
    expect(c2s.got.map((m) => m.fields.routingKey)).toEqual(Array(501).fill('c2s'));
    expect(new Set(c2c.got.map((m) => m.fields.routingKey))).toEqual(new Set(['c2c.delivered', 'c2c.offline']));
    expect(c2c.got).toHaveLength(502);
    const ns = c2s.got.map((m) => (JSON.parse(m.content.toString()) as { n?: number }).n).filter((n) => n !== undefined);
    expect(ns).toEqual(burst.filter((e) => e.type === 'c2s').map((e) => e['n']));
    expect(new Set(c2s.got.map((m) => m.properties.messageId)).size).toBe(501);
    expect(pub.pendingCount).toBe(0);
  });

  it('exchange - is a durable topic exchange named <prefix>.events', async () => {
    const { pub } = await publisher();
    expect(pub.exchange).toBe(`${prefix}.events`);
    const ch = await admin.createChannel();
    await ch.checkExchange(pub.exchange);
    // Re-asserting with the same type and durability succeeds; any mismatch would close the channel.
    await ch.assertExchange(pub.exchange, 'topic', { durable: true, autoDelete: false });
    await ch.close();
    const other = await admin.createChannel();
    other.on('error', () => undefined);
    await expect(other.assertExchange(pub.exchange, 'topic', { durable: false })).rejects.toThrow(/PRECONDITION_FAILED/);
  });

  it('publish - an event no queue is bound for still resolves (not mandatory)', async () => {
    const { pub } = await publisher({ prefix: uniquePrefix('amqp-events-none') });
    await pub.publish(ev('login', { userId: 'nobody' }));
    const ch = await admin.createChannel();
    await ch.deleteExchange(pub.exchange);
    await ch.close();
  });

  it('publish - rejects with UnavailableError before start and after close; close is idempotent', async () => {
    const pub = new AmqpEventsPublisher({ url, prefix });
    await expect(pub.publish(ev('login'))).rejects.toMatchObject({ code: ImErrorCode.UNAVAILABLE });
    await pub.start();
    await pub.publish(ev('login'));
    const a = pub.close();
    const b = pub.close();
    expect(a).toBe(b);
    await a;
    expect(pub.state).toBe('closed');
    await expect(pub.publish(ev('login'))).rejects.toMatchObject({ code: ImErrorCode.UNAVAILABLE });
    await expect(pub.start()).rejects.toMatchObject({ code: ImErrorCode.UNAVAILABLE });
  });

  it('publish - rejects events without a type or id with InvalidArgumentError', async () => {
    const { pub } = await publisher();
    await expect(pub.publish({ type: '', id: 'x' })).rejects.toMatchObject({ code: ImErrorCode.INVALID_ARGUMENT });
    await expect(pub.publish({ type: 'login', id: '' })).rejects.toMatchObject({ code: ImErrorCode.INVALID_ARGUMENT });
    await expect(pub.publish({ type: 'x'.repeat(256), id: 'y' })).rejects.toMatchObject({ code: ImErrorCode.INVALID_ARGUMENT });
    const cyclic: Record<string, unknown> = { type: 'login', id: 'z' };
    cyclic['self'] = cyclic;
    await expect(pub.publish(cyclic as unknown as PublishableEvent)).rejects.toMatchObject({ code: ImErrorCode.INVALID_ARGUMENT });
    expect(pub.state).toBe('up');
  });

  it('options - bad values are refused at construction', () => {
    expect(() => new AmqpEventsPublisher({ url: 'http://localhost' })).toThrow(/amqp/);
    expect(() => new AmqpEventsPublisher({ url: '' })).toThrow(/url is required/);
    expect(() => new AmqpEventsPublisher({ url, publishTimeoutMs: 0 })).toThrow(/publishTimeoutMs/);
    expect(() => new AmqpEventsPublisher({ url, maxPending: -1 })).toThrow(/maxPending/);
  });

  it('start - fails fast with UnavailableError when the broker is unreachable', async () => {
    const { p, url: proxied } = await proxy();
    await p.stop();
    const pub = new AmqpEventsPublisher({ url: proxied, prefix, connectTimeoutMs: 1_000 });
    const { err, ms } = await timeRejection(pub.start());
    expect(err).toMatchObject({ code: ImErrorCode.UNAVAILABLE });
    expect(ms).toBeLessThan(1_500);
    expect(pub.state).toBe('down');
    await pub.close();
  });
});

describe('AmqpEventsPublisher recovery', () => {
  it('connection dropped - rejects at once while down, reconnects with backoff, redeclares, each later event arrives once', async () => {
    const sub = await subscriber(['#']);
    const { p, url: proxied } = await proxy();
    const { pub, states } = await publisher({ url: proxied });
    const before = ev('c2s', { tag: 'before' });
    await pub.publish(before);

    for (let round = 0; round < 3; round++) {
      await p.stop();
      await waitFor(() => pub.state !== 'up', { what: `down #${round + 1}` });
      const { err, ms } = await timeRejection(pub.publish(ev('c2s', { tag: 'during' })));
      expect(err).toMatchObject({ code: ImErrorCode.UNAVAILABLE });
      expect(ms).toBeLessThan(50);
      // Refused attempts while the broker looks down.
      const seen = states.filter((s) => s === 'connecting').length;
      await waitFor(() => states.filter((s) => s === 'connecting').length >= seen + 2, { what: 'reconnect attempts' });
      await p.start();
      await waitFor(() => pub.state === 'up', { timeoutMs: 5_000, what: `up again #${round + 1}` });
      await pub.publish(ev('c2s', { tag: `after-${round}` }));
    }
    // Delete the exchange behind its back: the next reconnect declares it again.
    const ch = await admin.createChannel();
    await ch.deleteExchange(pub.exchange);
    await ch.close();
    const mark = states.length;
    p.sever();
    await waitFor(() => states.slice(mark).includes('down') && pub.state === 'up', { timeoutMs: 5_000, what: 'up after sever' });
    const check = await admin.createChannel();
    await check.checkExchange(pub.exchange);
    await check.close();
    const late = await subscriber(['#']);
    await pub.publish(ev('c2s', { tag: 'redeclared' }));
    await waitFor(() => late.got.length === 1, { what: 'event on the redeclared exchange' });

    await waitFor(() => sub.got.length >= 4, { what: 'events before the exchange was deleted' });
    await settle();
    const tags = sub.got.map((m) => (JSON.parse(m.content.toString()) as { tag: string }).tag);
    expect(tags).toEqual(['before', 'after-0', 'after-1', 'after-2']);
    for (let i = 1; i < states.length; i++) expect(states[i]).not.toBe(states[i - 1]);
  });

  it('exchange deleted under a live publisher - the publish fails, the publisher reconnects and declares it again', async () => {
    const { pub, states } = await publisher({ prefix: uniquePrefix('amqp-events-del') });
    const ch = await admin.createChannel();
    await ch.deleteExchange(pub.exchange);
    await expect(pub.publish(ev('login'))).rejects.toMatchObject({ code: ImErrorCode.UNAVAILABLE });
    await waitFor(() => pub.state === 'up' && states.includes('down'), { timeoutMs: 5_000, what: 'up again' });
    await ch.checkExchange(pub.exchange);
    await pub.publish(ev('login'));
    await ch.deleteExchange(pub.exchange);
    await ch.close();
  });

  it('publish - in-flight publishes reject with UnavailableError as soon as the connection drops', async () => {
    const { p, url: proxied } = await proxy();
    const { pub } = await publisher({ url: proxied, publishTimeoutMs: 10_000 });
    p.freeze();
    const outcome = Promise.allSettled(Array.from({ length: 20 }, () => pub.publish(ev('login'))));
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

  it('publish - rejects with UnavailableError (cause TimeoutError) when the broker never confirms; close does not hang', async () => {
    const { p, url: proxied } = await proxy();
    const { pub } = await publisher({ url: proxied, publishTimeoutMs: 300, closeTimeoutMs: 500 });
    p.freeze();
    const { err, ms } = await timeRejection(pub.publish(ev('c2s')));
    expect(err).toMatchObject({ code: ImErrorCode.UNAVAILABLE });
    expect((err as Error).cause).toBeInstanceOf(TimeoutError);
    expect(ms).toBeGreaterThanOrEqual(290);
    expect(ms).toBeLessThan(800);
    const t0 = performance.now();
    await pub.close();
    expect(performance.now() - t0).toBeLessThan(1_500);
    expect(pub.state).toBe('closed');
    await waitFor(() => p.connections === 0, { timeoutMs: 1_000, what: 'socket dropped' });
  });

  it('publish - past maxPending unconfirmed events it rejects at once instead of queueing', async () => {
    const { p, url: proxied } = await proxy();
    const { pub } = await publisher({ url: proxied, maxPending: 5, publishTimeoutMs: 5_000, closeTimeoutMs: 300 });
    p.freeze();
    const held = Array.from({ length: 5 }, () => pub.publish(ev('login')).catch((e: unknown) => e));
    const { err, ms } = await timeRejection(pub.publish(ev('login')));
    expect(err).toMatchObject({ code: ImErrorCode.UNAVAILABLE });
    expect(ms).toBeLessThan(50);
    expect(pub.pendingCount).toBe(5);
    await pub.close();
    for (const e of await Promise.all(held)) expect(e).toMatchObject({ code: ImErrorCode.UNAVAILABLE });
  });

  it('close - during an outage stops reconnecting and clears its timers', async () => {
    const { p, url: proxied } = await proxy();
    const { pub, states } = await publisher({ url: proxied });
    await p.stop();
    await waitFor(() => pub.state !== 'up', { what: 'down' });
    const timersBefore = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    await pub.close();
    const seen = states.length;
    await p.start();
    await new Promise((r) => setTimeout(r, 600));
    expect(pub.state).toBe('closed');
    expect(states.length).toBe(seen);
    expect(p.connections).toBe(0);
    expect(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length).toBeLessThanOrEqual(timersBefore);
  });
});
