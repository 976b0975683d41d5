import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@switchboard/core';
import type { Packet } from '@switchboard/protocol';
import {
  WebhookSink,
  createWebhookHandler,
  withEventId,
  type ImEvent,
  type WebhookDeliveryInfo,
  type WebhookSinkOptions,
} from '../../src/index.js';
import { cleanup, startGateway, uid } from '../fixtures.js';

const SECRET = 'integration-webhook-secret';

type Mode = 'ok' | 'slow' | 'fail';

/**
 * A real webhook receiver: Node's HTTP server with `createWebhookHandler`, so every request it
 * counts passed signature verification. `mode` switches it between answering at once, holding each
 * request `slowMs` before taking it, and failing with 500.
 */
class Receiver {
  mode: Mode = 'ok';
  slowMs = 5_000;
  /** Events taken (the handler answered 2xx or is about to), in order, duplicates included. */
  readonly events: ImEvent[] = [];
  readonly deliveries: WebhookDeliveryInfo[] = [];
  requests = 0;
  url = '';
  private server: Server | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();

  async start(): Promise<this> {
    const handler = createWebhookHandler({
      secret: SECRET,
      onEvents: async (events, info) => {
        if (this.mode === 'fail') throw new Error('receiver failing');
        if (this.mode === 'slow') {
          await new Promise<void>((resolve) => {
            const t = setTimeout(() => {
              this.timers.delete(t);
              resolve();
            }, this.slowMs);
            this.timers.add(t);
          });
        }
        this.events.push(...events);
        this.deliveries.push(info);
      },
    });
    const server = createServer((req, res) => {
      this.requests += 1;
      void handler(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as { port: number }).port}/events`;
    return this;
  }

  /** Distinct event ids taken. */
  get unique(): Set<string> {
    return new Set(this.events.map((e) => e.id));
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    const s = this.server;
    this.server = undefined;
    if (s === undefined) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  await cleanup();
  for (const fn of stops.splice(0).reverse()) await fn();
});

async function receiver(): Promise<Receiver> {
  const r = await new Receiver().start();
  stops.push(() => r.stop());
  return r;
}

function sink(url: string, opts: Partial<WebhookSinkOptions> = {}): WebhookSink {
  const s = new WebhookSink({ url, secret: SECRET, retryBaseMs: 100, retryMaxMs: 500, maxAttempts: 30, ...opts });
  stops.push(() => s.close());
  return s;
}

let n = 0;
function event(): ImEvent {
  n += 1;
  return withEventId({
    type: 'c2s',
    at: Date.now(),
    nodeId: 'gw-int',
    from: 'alice',
    fp: `fp-${n}-${Math.random().toString(36).slice(2)}`,
    typeu: 0,
    dataContent: `command ${n}`,
  });
}

/** Publish 1000 events; returns them and how long the 1000 `publish` calls took, in ms. */
async function publish1000(s: WebhookSink): Promise<{ events: ImEvent[]; ms: number }> {
  const events = Array.from({ length: 1000 }, event);
  const t0 = performance.now();
  await Promise.all(events.map((e) => s.publish(e)));
  return { events, ms: performance.now() - t0 };
}

describe('WebhookSink against a real HTTP receiver', () => {
  it('slow receiver (5 s per request) - 1000 publishes return at once; every event arrives once, in order, when it speeds up', async () => {
    const r = await receiver();
    r.mode = 'slow';
    const s = sink(r.url, { timeoutMs: 8_000 });
    const { events, ms } = await publish1000(s);
    expect(ms).toBeLessThan(100);
    await waitFor(() => r.requests === 1, { what: 'first batch in flight' });
    r.mode = 'ok';
    await waitFor(() => s.stats().delivered === 1000, { timeoutMs: 15_000, what: 'all 1000 delivered' });
    expect(r.events.map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(r.events).toEqual(events);
    expect(s.stats()).toMatchObject({ dropped: 0, failedAttempts: 0 });
  });

  it('failing receiver (500) - publishes still return at once; batches are retried and delivered once it recovers', async () => {
    const r = await receiver();
    r.mode = 'fail';
    const s = sink(r.url);
    const { events, ms } = await publish1000(s);
    expect(ms).toBeLessThan(100);
    await waitFor(() => s.stats().failedAttempts >= 3, { timeoutMs: 5_000, what: 'failed attempts' });
    // Still fast while the receiver fails and retries are pending.
    const more = await publish1000(s);
    expect(more.ms).toBeLessThan(100);
    r.mode = 'ok';
    await waitFor(() => s.stats().delivered === 2000, { timeoutMs: 20_000, what: 'all 2000 delivered' });
    // 500 means "not taken": nothing was taken twice, and the order held.
    expect(r.events.map((e) => e.id)).toEqual([...events, ...more.events].map((e) => e.id));
    const retried = r.deliveries.filter((d) => d.attempt > 1);
    expect(retried.length).toBeGreaterThanOrEqual(1);
    expect(s.stats().dropped).toBe(0);
  });

  it('receiver slower than the timeout - the batch is retried under its delivery id; every event arrives', async () => {
    const r = await receiver();
    r.mode = 'slow';
    r.slowMs = 5_000;
    const s = sink(r.url, { timeoutMs: 500, batchSize: 500 });
    const { events, ms } = await publish1000(s);
    expect(ms).toBeLessThan(100);
    await waitFor(() => s.stats().failedAttempts >= 2, { timeoutMs: 5_000, what: 'timed-out attempts' });
    r.mode = 'ok';
    await waitFor(() => s.stats().delivered === 1000, { timeoutMs: 20_000, what: 'all delivered' });
    // Every event arrived; a batch whose answer timed out may arrive twice (its slow handler may
    // still finish), always with the same event ids, so receivers dedupe on `id`.
    expect(new Set(events.map((e) => e.id))).toEqual(r.unique);
    expect(r.events.length).toBeGreaterThanOrEqual(1000);
    expect(new Set(r.deliveries.filter((d) => d.attempt > 1).map((d) => d.delivery)).size).toBeGreaterThanOrEqual(1);
  });

  it('a gateway whose hooks feed a hanging webhook keeps acking messages at full speed', async () => {
    const r = await receiver();
    r.mode = 'slow';
    r.slowMs = 60_000;
    const s = sink(r.url, { timeoutMs: 1_000 });
    const gw = await startGateway({
      hooks: {
        onDelivered: (p: Packet) => {
          void s.publish(
            withEventId({
              type: 'c2c.delivered',
              at: Date.now(),
              nodeId: 'gw',
              from: p.from,
              to: p.to,
              fp: p.fp ?? '',
              typeu: p.typeu,
              dataContent: p.dataContent,
              latencyMs: 0,
            }),
          );
        },
      },
    });
    const alice = await gw.login(uid('alice'), 'ws');
    const bobId = uid('bob');
    await gw.login(bobId, 'ws');
    const t0 = performance.now();
    for (let i = 0; i < 300; i++) {
      const fp = await alice.send(bobId, `m${i}`);
      await alice.waitForAck(fp);
    }
    const perMessageMs = (performance.now() - t0) / 300;
    expect(perMessageMs).toBeLessThan(20);
    expect(r.requests).toBeGreaterThanOrEqual(1);
    expect(s.stats().queued + s.stats().inFlight).toBe(300);
    // Once the receiver answers again, the retried batch and the rest arrive.
    r.mode = 'ok';
    await waitFor(() => s.stats().delivered === 300, { timeoutMs: 10_000, what: 'the 300 delivered events' });
    expect(r.unique.size).toBe(300);
    expect(s.stats().dropped).toBe(0);
  });
});
