import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ImErrorCode, waitFor, type Logger } from '@switchboard/core';
import {
  WebhookSink,
  createWebhookHandler,
  signWebhookBody,
  verifyWebhookSignature,
  type ImEvent,
  type WebhookBody,
  type WebhookSinkOptions,
} from '../../src/index.js';

const SECRET = 'unit-test-secret-0123456789';

interface Received {
  raw: Buffer;
  headers: IncomingHttpHeaders;
  body: WebhookBody;
  at: number;
}

/**
 * A real HTTP receiver on loopback: records every request (raw body and headers) and answers with
 * `status` (default 204) after `delayMs`.
 */
class Receiver {
  readonly got: Received[] = [];
  status = 204;
  delayMs = 0;
  headers: Record<string, string> = {};
  private server: Server | undefined;
  url = '';

  async start(): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        this.got.push({ raw, headers: req.headers, body: JSON.parse(raw.toString('utf8')) as WebhookBody, at: performance.now() });
        const status = this.status;
        const headers = this.headers;
        const t = setTimeout(() => {
          if (res.destroyed) return;
          res.writeHead(status, headers).end();
        }, this.delayMs);
        res.on('close', () => clearTimeout(t));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
    return this;
  }

  /** Every event received, in arrival order. */
  get events(): ImEvent[] {
    return this.got.flatMap((r) => r.body.events);
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s === undefined) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

/** A pino logger writing parsed lines into `lines`. */
function memoryLogger(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function receiver(): Promise<Receiver> {
  const r = await new Receiver().start();
  cleanups.push(() => r.stop());
  return r;
}

function sink(url: string, opts: Partial<WebhookSinkOptions> = {}): WebhookSink {
  const s = new WebhookSink({ url, secret: SECRET, flushIntervalMs: 20, retryBaseMs: 20, retryMaxMs: 100, timeoutMs: 1_000, ...opts });
  cleanups.push(() => s.close());
  return s;
}

let n = 0;
function login(userId = 'alice'): ImEvent {
  n += 1;
  return { type: 'login', id: `e${n}`, at: Date.now(), nodeId: 'gw-unit', userId, connId: `c${n}`, transport: 'ws', extra: null };
}

describe('signWebhookBody / verifyWebhookSignature', () => {
  // The example GitHub documents for its X-Hub-Signature-256, same construction.
  const body = 'Hello, World!';
  const secret = "It's a Secret to Everybody";
  const sig = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';

  it('sign - sha256=<hex HMAC-SHA256 of the raw body>', () => {
    expect(signWebhookBody(secret, body)).toBe(sig);
    expect(signWebhookBody(Buffer.from(secret), Buffer.from(body))).toBe(sig);
  });

  it('verify - accepts the signature of the exact body, with one secret or a rotation list', () => {
    expect(verifyWebhookSignature(secret, body, sig)).toBe(true);
    expect(verifyWebhookSignature(secret, Buffer.from(body), sig.toUpperCase().replace('SHA256=', 'sha256='))).toBe(true);
    expect(verifyWebhookSignature(['old-secret', secret], body, sig)).toBe(true);
    expect(verifyWebhookSignature(secret, body, [sig])).toBe(true);
  });

  it('verify - refuses a tampered body, a wrong secret and malformed headers without throwing', () => {
    expect(verifyWebhookSignature(secret, 'Hello, World?', sig)).toBe(false);
    expect(verifyWebhookSignature(secret, `${body} `, sig)).toBe(false);
    expect(verifyWebhookSignature('other', body, sig)).toBe(false);
    expect(verifyWebhookSignature(['a', 'b'], body, sig)).toBe(false);
    for (const h of [undefined, null, '', 'sha256=', 'sha1=757107ea', sig.slice(0, -2), `${sig}00`, 'sha256=zz' + sig.slice(9), []]) {
      expect(verifyWebhookSignature(secret, body, h)).toBe(false);
    }
  });
});

describe('WebhookSink', () => {
  it('batches - 250 events go as 100 + 100 + 50, in order, signed over the raw body, with the documented headers', async () => {
    const r = await receiver();
    const s = sink(r.url);
    const events = Array.from({ length: 250 }, () => login());
    for (const e of events) await s.publish(e);
    await waitFor(() => s.stats().delivered === 250, { what: '250 events delivered' });
    expect(r.got.map((g) => g.body.events.length)).toEqual([100, 100, 50]);
    expect(r.events.map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(r.events).toEqual(events);
    for (const g of r.got) {
      expect(verifyWebhookSignature(SECRET, g.raw, g.headers['x-switchboard-signature'])).toBe(true);
      expect(g.headers['content-type']).toBe('application/json');
      expect(Number(g.headers['x-switchboard-timestamp'])).toBe(g.body.sentAt);
      expect(Math.abs(g.body.sentAt - Date.now())).toBeLessThan(5_000);
      expect(g.headers['x-switchboard-delivery']).toMatch(/^[0-9a-f-]{36}$/);
      expect(g.headers['x-switchboard-attempt']).toBe('1');
      // Tampering with one byte breaks the signature.
      const tampered = Buffer.from(g.raw);
      const i = tampered.length - 3;
      tampered.writeUInt8(tampered.readUInt8(i) ^ 1, i);
      expect(verifyWebhookSignature(SECRET, tampered, g.headers['x-switchboard-signature'])).toBe(false);
    }
    expect(s.stats()).toMatchObject({ queued: 0, inFlight: 0, delivered: 250, dropped: 0, failedAttempts: 0 });
  });

  it('flush interval - a lone event waits flushIntervalMs for company, then goes alone', async () => {
    const r = await receiver();
    const s = sink(r.url, { flushIntervalMs: 150 });
    const t0 = performance.now();
    await s.publish(login());
    // publish() does not wait for the flush: the event is still queued, nothing has been sent.
    expect(s.stats()).toMatchObject({ queued: 1, inFlight: 0, delivered: 0 });
    expect(r.got).toHaveLength(0);
    await waitFor(() => r.got.length === 1, { what: 'the batch' });
    expect(r.got[0]!.at - t0).toBeGreaterThanOrEqual(140);
    await s.publish(login());
    await s.publish(login());
    await waitFor(() => r.got.length === 2, { what: 'the second batch' });
    expect(r.got[1]!.body.events).toHaveLength(2);
  });

  it('retries - 5xx and 429 are retried with backoff under the same delivery id until the receiver takes the batch', async () => {
    const r = await receiver();
    const s = sink(r.url);
    r.status = 503;
    await s.publish(login());
    await waitFor(() => r.got.length >= 3, { what: 'three failed attempts' });
    r.status = 429;
    r.headers = { 'retry-after': '0' };
    await waitFor(() => r.got.length >= 4, { what: 'a 429' });
    r.status = 200;
    await waitFor(() => s.stats().delivered === 1, { what: 'delivered' });
    const ids = new Set(r.got.map((g) => g.headers['x-switchboard-delivery']));
    expect(ids.size).toBe(1);
    expect(r.got.map((g) => Number(g.headers['x-switchboard-attempt']))).toEqual(r.got.map((_, i) => i + 1));
    // Backoff: the gaps grow (jittered between half and all of 20, 40, 80, 100 ms).
    const gaps = r.got.slice(1).map((g, i) => g.at - r.got[i]!.at);
    expect(gaps[0]!).toBeGreaterThanOrEqual(9);
    expect(Math.max(...gaps)).toBeGreaterThanOrEqual(35);
    expect(s.stats()).toMatchObject({ delivered: 1, dropped: 0, failedAttempts: r.got.length - 1 });
  });

  it('timeouts - an answer slower than timeoutMs counts as a failure and is retried', async () => {
    const r = await receiver();
    const s = sink(r.url, { timeoutMs: 100 });
    r.delayMs = 1_000;
    await s.publish(login());
    await waitFor(() => r.got.length >= 2, { what: 'a retry after the timeout' });
    r.delayMs = 0;
    await waitFor(() => s.stats().delivered === 1, { what: 'delivered' });
    expect(r.got[1]!.at - r.got[0]!.at).toBeGreaterThanOrEqual(100);
  });

  it('4xx - the batch is dropped at once (counted, logged), and the next one still goes', async () => {
    const r = await receiver();
    const { log, lines } = memoryLogger();
    const s = sink(r.url, { log, batchSize: 2 });
    r.status = 400;
    await s.publish(login());
    await s.publish(login());
    await waitFor(() => s.stats().dropped === 2, { what: 'dropped' });
    r.status = 204;
    await s.publish(login());
    await waitFor(() => s.stats().delivered === 1, { what: 'the next batch' });
    expect(r.got).toHaveLength(2);
    expect(lines.some((l) => l['msg'] === 'webhook events dropped' && l['level'] === 40 && String(l['why']).includes('HTTP 400'))).toBe(true);
  });

  it('max attempts - a batch is dropped after maxAttempts; the counter and a warn say so', async () => {
    const r = await receiver();
    const { log, lines } = memoryLogger();
    const s = sink(r.url, { log, maxAttempts: 3 });
    r.status = 500;
    await s.publish(login());
    await s.publish(login());
    await waitFor(() => s.stats().dropped === 2, { what: 'dropped after 3 attempts' });
    expect(r.got).toHaveLength(3);
    expect(s.stats()).toMatchObject({ queued: 0, inFlight: 0, delivered: 0, dropped: 2, failedAttempts: 3 });
    expect(lines.filter((l) => l['msg'] === 'webhook delivery failing; retrying with backoff')).toHaveLength(1);
    const drop = lines.find((l) => l['msg'] === 'webhook events dropped');
    expect(drop).toMatchObject({ level: 40, dropped: 2, droppedTotal: 2 });
    expect(String(drop!['why'])).toMatch(/gave up after 3 attempts/);
  });

  it('network errors - a receiver that is not there is retried; the events arrive once it listens', async () => {
    const r = await receiver();
    const url = r.url;
    await r.stop();
    const s = sink(url);
    await s.publish(login());
    await waitFor(() => s.stats().failedAttempts >= 2, { what: 'refused attempts' });
    const port = Number(new URL(url).port);
    const again = new Receiver();
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => {
        again.got.push({ raw: Buffer.concat(chunks), headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString()) as WebhookBody, at: 0 });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    await waitFor(() => again.got.length === 1, { timeoutMs: 3_000, what: 'delivered after the receiver came up' });
    // The sink counts the batch once the receiver's answer arrived, a moment after the receiver saw it.
    await waitFor(() => s.stats().delivered === 1, { timeoutMs: 3_000, what: 'the sink to count the delivery' });
    expect(s.stats().delivered).toBe(1);
  });

  it('queue cap - past maxQueue new events are dropped at once, counted, with one warn; publish still resolves', async () => {
    const r = await receiver();
    const { log, lines } = memoryLogger();
    const s = sink(r.url, { log, maxQueue: 50, batchSize: 10 });
    r.delayMs = 300;
    const results = await Promise.allSettled(Array.from({ length: 80 }, () => s.publish(login())));
    expect(results.every((x) => x.status === 'fulfilled')).toBe(true);
    expect(s.stats().dropped).toBe(30);
    expect(s.stats().queued + s.stats().inFlight).toBe(50);
    expect(lines.filter((l) => l['msg'] === 'webhook events dropped')).toHaveLength(1);
    r.delayMs = 0;
    await waitFor(() => s.stats().delivered === 50, { what: 'the 50 kept events' });
    expect(r.events).toHaveLength(50);
  });

  it('close - sends what is queued before resolving; publish afterwards rejects; idempotent', async () => {
    const r = await receiver();
    const s = sink(r.url, { flushIntervalMs: 10_000 });
    for (let i = 0; i < 30; i++) await s.publish(login());
    expect(r.got).toHaveLength(0);
    const a = s.close();
    expect(s.close()).toBe(a);
    await a;
    expect(r.events).toHaveLength(30);
    await expect(s.publish(login())).rejects.toMatchObject({ code: ImErrorCode.UNAVAILABLE });
  });

  it('close - against a dead receiver gives up at closeTimeoutMs, drops the rest, stops for good', async () => {
    const r = await receiver();
    const { log, lines } = memoryLogger();
    const s = sink(r.url, { log, closeTimeoutMs: 300, retryBaseMs: 1_000, retryMaxMs: 5_000 });
    r.status = 500;
    for (let i = 0; i < 5; i++) await s.publish(login());
    await waitFor(() => r.got.length >= 1, { what: 'first attempt' });
    const t0 = performance.now();
    await s.close();
    const ms = performance.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(250);
    // Without the deadline it would retry for good; the slack is for timers on a busy machine.
    expect(ms).toBeLessThan(3_000);
    // Retries were brought forward into the close window instead of waiting a full backoff.
    expect(r.got.length).toBeGreaterThanOrEqual(2);
    expect(s.stats()).toMatchObject({ queued: 0, inFlight: 0, dropped: 5, delivered: 0 });
    expect(lines.some((l) => l['msg'] === 'webhook events dropped' && String(l['why']).includes('close deadline'))).toBe(true);
    // Nothing keeps trying after close (a request aborted at the deadline may still land just after).
    await new Promise((resolve) => setTimeout(resolve, 50));
    const seen = r.got.length;
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(r.got.length).toBe(seen);
  });

  it('close - aborts a request the receiver sits on', async () => {
    const r = await receiver();
    const s = sink(r.url, { closeTimeoutMs: 200, timeoutMs: 10_000 });
    r.delayMs = 5_000;
    await s.publish(login());
    await waitFor(() => r.got.length === 1, { what: 'request in flight' });
    const t0 = performance.now();
    await s.close();
    // Well before the receiver's 5 s answer: the request was aborted at the 200 ms deadline.
    expect(performance.now() - t0).toBeLessThan(3_000);
    expect(s.stats().dropped).toBe(1);
  });

  it('options - bad values are refused at construction', () => {
    expect(() => new WebhookSink({ url: 'ftp://x', secret: 's' })).toThrow(/http/);
    expect(() => new WebhookSink({ url: 'not a url', secret: 's' })).toThrow(/valid URL/);
    expect(() => new WebhookSink({ url: 'http://127.0.0.1/', secret: '' })).toThrow(/secret/);
    expect(() => new WebhookSink({ url: 'http://127.0.0.1/', secret: 's', batchSize: 0 })).toThrow(/batchSize/);
    expect(() => new WebhookSink({ url: 'http://127.0.0.1/', secret: 's', maxQueue: 1.5 })).toThrow(/maxQueue/);
  });
});

describe('createWebhookHandler', () => {
  async function serve(onEvents: (events: ImEvent[]) => Promise<void> | void, toleranceMs?: number): Promise<string> {
    const handler = createWebhookHandler({ secret: SECRET, onEvents, maxBodyBytes: 10_000, ...(toleranceMs === undefined ? {} : { toleranceMs }) });
    const server = createServer((req, res) => void handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    return `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  }

  function post(url: string, body: string | Buffer, headers: Record<string, string> = {}, method = 'POST'): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = request(url, { method, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  const signed = (body: string): Record<string, string> => ({ 'x-switchboard-signature': signWebhookBody(SECRET, body) });

  it('answers 204 and hands over the events of a verified request; a WebhookSink talks to it end to end', async () => {
    const got: ImEvent[] = [];
    const url = await serve((events) => {
      got.push(...events);
    });
    const e = login();
    const body = JSON.stringify({ sentAt: Date.now(), events: [e] });
    expect(await post(url, body, signed(body))).toBe(204);
    expect(got).toEqual([e]);
    const s = sink(url);
    await s.publish(login('bob'));
    await waitFor(() => s.stats().delivered === 1, { what: 'event from the sink' });
    expect(got).toHaveLength(2);
  });

  it('answers 401 for a bad or missing signature or a stale request, 400 for bad JSON, 405, 413, 500 when onEvents throws', async () => {
    let fail = false;
    const url = await serve(() => {
      if (fail) throw new Error('db down');
    }, 60_000);
    const body = JSON.stringify({ sentAt: Date.now(), events: [login()] });
    expect(await post(url, body)).toBe(401);
    expect(await post(url, body.replace('alice', 'mallory'), signed(body))).toBe(401);
    const stale = JSON.stringify({ sentAt: Date.now() - 120_000, events: [] });
    expect(await post(url, stale, signed(stale))).toBe(401);
    expect(await post(url, '{nope', signed('{nope'))).toBe(400);
    expect(await post(url, '{"events":1}', signed('{"events":1}'))).toBe(400);
    expect(await post(url, '', {}, 'GET')).toBe(405);
    const big = JSON.stringify({ sentAt: Date.now(), events: [], pad: 'x'.repeat(20_000) });
    expect(await post(url, big, signed(big))).toBe(413);
    fail = true;
    expect(await post(url, body, signed(body))).toBe(500);
  });
});
