// Standard Webhooks signatures (webhook-id, webhook-timestamp, webhook-signature): the spec's own
// example, the reference verifier (the standardwebhooks package) taking what a WebhookSink sends,
// and the receiver helper checking both the standard and the older X-Switchboard-Signature.
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@switchboard/core';
import {
  STANDARD_WEBHOOK_ID_HEADER,
  STANDARD_WEBHOOK_SIGNATURE_HEADER,
  STANDARD_WEBHOOK_TIMESTAMP_HEADER,
  WEBHOOK_SIGNATURE_HEADER,
  WebhookSink,
  createWebhookHandler,
  signStandardWebhook,
  signWebhookBody,
  standardWebhookKey,
  verifyStandardWebhook,
  verifyWebhookSignature,
  type ImEvent,
  type WebhookBody,
} from '../../src/index.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
}

/** A receiver that records each request's raw body and headers and answers `status(n)` to the n-th (1-based), 204 by default. */
async function recorder(status: (n: number) => number = () => 204): Promise<{ url: string; got: Array<{ raw: Buffer; headers: IncomingHttpHeaders }> }> {
  const got: Array<{ raw: Buffer; headers: IncomingHttpHeaders }> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ raw: Buffer.concat(chunks), headers: req.headers });
      res.writeHead(status(got.length)).end();
    });
  });
  return { url: await listen(server), got };
}

function sink(url: string, secret: string): WebhookSink {
  const s = new WebhookSink({ url, secret, flushIntervalMs: 10, retryBaseMs: 20, retryMaxMs: 100, timeoutMs: 1_000 });
  cleanups.push(() => s.close());
  return s;
}

let n = 0;
function login(userId = 'alice'): ImEvent {
  n += 1;
  return { type: 'login', id: `s${n}`, at: Date.now(), nodeId: 'gw-unit', userId, connId: `c${n}`, transport: 'ws', extra: null };
}

/** The three standard headers of a recorded request, as plain strings. */
function standardHeaders(h: IncomingHttpHeaders): Record<string, string> {
  return {
    'webhook-id': String(h['webhook-id']),
    'webhook-timestamp': String(h['webhook-timestamp']),
    'webhook-signature': String(h['webhook-signature']),
  };
}

describe('signStandardWebhook / verifyStandardWebhook', () => {
  // The example of the Standard Webhooks specification (and of its reference libraries' tests).
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
  const ts = 1614265330;
  const body = '{"test": 2432232314}';
  const sig = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';
  const at = ts * 1000;

  it('signs the spec example: v1,<base64 HMAC-SHA256 of "id.timestamp.body"> keyed by the decoded whsec_ secret', () => {
    expect(signStandardWebhook(secret, id, ts, body)).toBe(sig);
    expect(standardWebhookKey(secret)).toEqual(Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64'));
    // A plain secret is its own bytes: the reference verifier's "raw" format.
    expect(standardWebhookKey('plain-secret-0123456789')).toEqual(Buffer.from('plain-secret-0123456789'));
  });

  it('verifies one of several signatures and one of several secrets; the timestamp within the tolerance', () => {
    const h = { id, timestamp: String(ts), signature: sig };
    expect(verifyStandardWebhook(secret, h, body, { nowMs: at })).toBe(true);
    expect(verifyStandardWebhook(secret, h, Buffer.from(body), { toleranceMs: 300_000, nowMs: at + 299_000 })).toBe(true);
    expect(verifyStandardWebhook(['whsec_b2xkLXNlY3JldC0wMTIzNDU2Nzg5', secret], h, body)).toBe(true);
    expect(verifyStandardWebhook(secret, { ...h, signature: `v1,${'A'.repeat(43)}= ${sig} v2,xyz` }, body)).toBe(true);
    expect(verifyStandardWebhook(secret, { id: [id], timestamp: [String(ts)], signature: [sig] }, body)).toBe(true);
  });

  it('refuses a tampered body, id or timestamp, a stale timestamp, another secret and malformed headers, without throwing', () => {
    const h = { id, timestamp: String(ts), signature: sig };
    expect(verifyStandardWebhook(secret, h, body + ' ')).toBe(false);
    expect(verifyStandardWebhook(secret, { ...h, id: 'msg_other' }, body)).toBe(false);
    expect(verifyStandardWebhook(secret, { ...h, timestamp: String(ts + 1) }, body)).toBe(false);
    expect(verifyStandardWebhook(secret, h, body, { toleranceMs: 300_000, nowMs: at + 301_000 })).toBe(false);
    expect(verifyStandardWebhook('whsec_b3RoZXI=', h, body)).toBe(false);
    for (const bad of [
      { ...h, signature: undefined },
      { ...h, id: null },
      { ...h, timestamp: '' },
      { ...h, timestamp: '1e9' },
      { ...h, signature: sig.replace('v1,', 'v2,') },
      { ...h, signature: 'v1,' },
      { ...h, signature: 'v1,!!!' },
      { ...h, signature: [] as string[] },
    ]) {
      expect(verifyStandardWebhook(secret, bad, body), JSON.stringify(bad)).toBe(false);
    }
  });
});

describe('WebhookSink with Standard Webhooks', () => {
  it('every POST carries webhook-id (the batch id), webhook-timestamp (s) and webhook-signature, which the reference verifier accepts', async () => {
    const r = await recorder();
    const secret = 'a-plain-secret-of-32-characters!';
    const s = sink(r.url, secret);
    await s.publish(login('alice'));
    await waitFor(() => s.stats().delivered === 1, { what: 'the batch delivered' });
    const { raw, headers } = r.got[0]!;
    const body = JSON.parse(raw.toString('utf8')) as WebhookBody;
    expect(headers[STANDARD_WEBHOOK_ID_HEADER]).toBe(headers['x-switchboard-delivery']);
    expect(Number(headers[STANDARD_WEBHOOK_TIMESTAMP_HEADER])).toBe(Math.floor(body.sentAt / 1000));
    expect(String(headers[STANDARD_WEBHOOK_SIGNATURE_HEADER])).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    // Receivers with an existing verifier: a plain secret in its raw format, or as whsec_<base64>.
    expect(new Webhook(secret, { format: 'raw' }).verify(raw, standardHeaders(headers))).toEqual(body);
    expect(new Webhook('whsec_' + Buffer.from(secret).toString('base64')).verify(raw, standardHeaders(headers))).toEqual(body);
    expect(() => new Webhook('whsec_' + Buffer.from('another-secret-0123').toString('base64')).verify(raw, standardHeaders(headers))).toThrow();
    // The older header is still there, for one release, and still valid.
    expect(verifyWebhookSignature(secret, raw, headers[WEBHOOK_SIGNATURE_HEADER.toLowerCase()])).toBe(true);
  });

  it('a whsec_ secret (as Standard Webhooks tools generate) signs with its decoded bytes; retries keep webhook-id', async () => {
    const { url, got } = await recorder((n) => (n === 1 ? 503 : 204));
    const secret = 'whsec_' + Buffer.from('0123456789abcdef0123456789abcdef').toString('base64');
    const s = sink(url, secret);
    await s.publish(login('bob'));
    await waitFor(() => s.stats().delivered === 1, { what: 'the batch delivered after a retry' });
    expect(got).toHaveLength(2);
    expect(got[1]!.headers['webhook-id']).toBe(got[0]!.headers['webhook-id']);
    for (const g of got) expect(new Webhook(secret).verify(g.raw, standardHeaders(g.headers))).toBeTruthy();
  });
});

describe('createWebhookHandler verifies both signatures', () => {
  const SECRET = 'handler-secret-0123456789';

  async function serve(toleranceMs = 60_000): Promise<{ url: string; got: ImEvent[] }> {
    const got: ImEvent[] = [];
    const handler = createWebhookHandler({ secret: SECRET, toleranceMs, onEvents: (events) => void got.push(...events) });
    return { url: await listen(createServer((req, res) => void handler(req, res))), got };
  }

  function post(url: string, body: string, headers: Record<string, string>): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  const standard = (body: string, id = 'msg_1', ts = Math.floor(Date.now() / 1000)) => ({
    'webhook-id': id,
    'webhook-timestamp': String(ts),
    'webhook-signature': signStandardWebhook(SECRET, id, ts, body),
  });
  const legacy = (body: string) => ({ 'x-switchboard-signature': signWebhookBody(SECRET, body) });

  it('takes a request signed both ways (this release), only the older way (the previous) or only the standard way (the next)', async () => {
    const { url, got } = await serve();
    for (const headers of [(b: string) => ({ ...standard(b), ...legacy(b) }), legacy, standard]) {
      const body = JSON.stringify({ sentAt: Date.now(), events: [login()] });
      expect(await post(url, body, headers(body))).toBe(204);
    }
    expect(got).toHaveLength(3);
  });

  it('refuses (401) a request with either signature wrong, with neither, or with a stale webhook-timestamp', async () => {
    const { url, got } = await serve(60_000);
    const body = JSON.stringify({ sentAt: Date.now(), events: [login()] });
    const other = JSON.stringify({ sentAt: Date.now(), events: [login('mallory')] });
    expect(await post(url, body, {})).toBe(401);
    expect(await post(url, body, { ...standard(body), ...legacy(other) })).toBe(401);
    expect(await post(url, body, { ...standard(other), ...legacy(body) })).toBe(401);
    expect(await post(url, body, { ...standard(body), 'webhook-id': 'msg_2' })).toBe(401);
    expect(await post(url, body, standard(body, 'msg_3', Math.floor(Date.now() / 1000) - 120))).toBe(401);
    expect(got).toEqual([]);
  });

  it('end to end: a WebhookSink with a whsec_ secret and a handler given the same secret', async () => {
    const secret = 'whsec_' + Buffer.from('fedcba9876543210fedcba9876543210').toString('base64');
    const got: ImEvent[] = [];
    const handler = createWebhookHandler({ secret, onEvents: (events) => void got.push(...events) });
    const url = await listen(createServer((req, res) => void handler(req, res)));
    const s = sink(url, secret);
    await s.publish(login('carol'));
    await waitFor(() => s.stats().delivered === 1, { what: 'delivered to the handler' });
    expect(got.map((e) => e.type === 'login' && e.userId)).toEqual(['carol']);
  });
});
