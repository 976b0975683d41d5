import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { InvalidArgumentError, UnavailableError, backoffMs, silentLogger, type Logger } from '@switchboard/core';
import type { EventSink, ImEvent } from './events.js';

/** Events per POST at most (`IM_WEBHOOK_BATCH_SIZE`). */
export const DEFAULT_WEBHOOK_BATCH_SIZE = 100;
/** How long the first event of an idle sink waits for company before it is sent (`IM_WEBHOOK_FLUSH_INTERVAL_MS`). */
export const DEFAULT_WEBHOOK_FLUSH_INTERVAL_MS = 200;
/** Attempts per batch, the first included, before the batch is dropped (`IM_WEBHOOK_MAX_ATTEMPTS`). */
export const DEFAULT_WEBHOOK_MAX_ATTEMPTS = 8;
/** Events held in memory (queued + being sent); past it new events are dropped (`IM_WEBHOOK_MAX_QUEUE`). */
export const DEFAULT_WEBHOOK_MAX_QUEUE = 10_000;
/** Deadline of one POST, response headers included (`IM_WEBHOOK_TIMEOUT_MS`). */
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 5_000;
/** First retry delay ceiling; doubles per attempt, jittered between half and full. */
export const DEFAULT_WEBHOOK_RETRY_BASE_MS = 500;
/** Cap of the retry delay. */
export const DEFAULT_WEBHOOK_RETRY_MAX_MS = 30_000;
/** How long `close()` keeps sending what is queued. */
export const DEFAULT_WEBHOOK_CLOSE_TIMEOUT_MS = 5_000;
/** Interval between two "events dropped" warnings; drops in between are summed into the next one. */
export const WEBHOOK_DROP_LOG_INTERVAL_MS = 10_000;

/** `sha256=<hex HMAC-SHA256 of the raw body>`. */
export const WEBHOOK_SIGNATURE_HEADER = 'X-Switchboard-Signature';
/** When this attempt was sent, ms since epoch; equal to the body's `sentAt`, which the signature covers. */
export const WEBHOOK_TIMESTAMP_HEADER = 'X-Switchboard-Timestamp';
/** Id of the batch, the same on every attempt of it. */
export const WEBHOOK_DELIVERY_HEADER = 'X-Switchboard-Delivery';
/** 1 for the first attempt of a batch, 2 for the first retry... */
export const WEBHOOK_ATTEMPT_HEADER = 'X-Switchboard-Attempt';

const SIGNATURE_PREFIX = 'sha256=';

/** The JSON body of a webhook POST. */
export interface WebhookBody {
  /** When this attempt was sent, ms since epoch (covered by the signature, unlike the header). */
  sentAt: number;
  /** In the order they happened on this gateway. */
  events: ImEvent[];
}

/**
 * `sha256=<hex>`: the value of `X-Switchboard-Signature` for `body` (the exact bytes sent, or a
 * string taken as UTF-8).
 */
export function signWebhookBody(secret: string | Buffer, body: string | Buffer): string {
  return SIGNATURE_PREFIX + createHmac('sha256', secret).update(body).digest('hex');
}

/**
 * Whether `header` (the `X-Switchboard-Signature` value) signs `body` — the raw request body, byte
 * for byte, before any JSON parsing — with `secret`, or with one of several secrets (while rotating).
 * Compares in constant time; never throws: a missing or malformed header is `false`.
 */
export function verifyWebhookSignature(
  secret: string | Buffer | ReadonlyArray<string | Buffer>,
  body: string | Buffer,
  header: string | readonly string[] | null | undefined,
): boolean {
  const value = Array.isArray(header) ? header[0] : header;
  if (typeof value !== 'string' || !value.startsWith(SIGNATURE_PREFIX)) return false;
  const hex = value.slice(SIGNATURE_PREFIX.length).trim();
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) return false;
  const given = Buffer.from(hex, 'hex');
  const secrets: ReadonlyArray<string | Buffer> = typeof secret === 'string' || Buffer.isBuffer(secret) ? [secret] : secret;
  let ok = false;
  for (const s of secrets) {
    const expected = createHmac('sha256', s).update(body).digest();
    // Every secret is tried, so the time taken does not tell which one matched.
    if (timingSafeEqual(expected, given)) ok = true;
  }
  return ok;
}

/** Largest request body `createWebhookHandler` reads by default: 16 MiB. */
export const DEFAULT_WEBHOOK_MAX_BODY_BYTES = 16 * 1024 * 1024;
/** How far a request's `sentAt` may be from the receiver's clock by default: 5 minutes. */
export const DEFAULT_WEBHOOK_TOLERANCE_MS = 5 * 60_000;

/** What `createWebhookHandler` tells `onEvents` about the request besides its events. */
export interface WebhookDeliveryInfo {
  /** `X-Switchboard-Delivery`: the batch id, equal on every attempt of the batch. */
  delivery: string | undefined;
  /** `X-Switchboard-Attempt`. */
  attempt: number;
  sentAt: number;
}

export interface WebhookHandlerOptions {
  /** The shared secret, or several while rotating it. */
  secret: string | Buffer | ReadonlyArray<string | Buffer>;
  /**
   * Called with each verified batch, in the sender's order. Resolve when the events are safe (stored
   * or queued): the request is then answered 204. A throw or rejection answers 500, so the sender
   * retries the batch; events may therefore arrive more than once — dedupe on `event.id`.
   */
  onEvents(events: ImEvent[], info: WebhookDeliveryInfo): Promise<void> | void;
  /** @default DEFAULT_WEBHOOK_MAX_BODY_BYTES (16 MiB) */
  maxBodyBytes?: number;
  /** Refuse requests whose signed `sentAt` is further than this from now (replays); 0 = no check. @default DEFAULT_WEBHOOK_TOLERANCE_MS (300000) */
  toleranceMs?: number;
  /** Where a failing `onEvents` is logged (warn). @default silent */
  log?: Logger;
}

/** The subset of Node's IncomingMessage / ServerResponse the handler uses (Express and Fastify's raw objects fit). */
interface RequestLike extends AsyncIterable<Buffer | string> {
  method?: string | undefined;
  headers: Record<string, string | string[] | undefined>;
}
interface ResponseLike {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(body?: string): unknown;
}

/**
 * A Node `(req, res)` request handler for a webhook receiver: reads the raw body, checks the
 * signature (401), the freshness of `sentAt` (401), the JSON shape (400), then awaits `onEvents`
 * (204, or 500 when it throws, so the sender retries). Mount it where the raw body is still
 * unread: `http.createServer(handler)`, or before any JSON body parser.
 */
export function createWebhookHandler(opts: WebhookHandlerOptions): (req: RequestLike, res: ResponseLike) => Promise<void> {
  const maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_WEBHOOK_MAX_BODY_BYTES;
  const toleranceMs = opts.toleranceMs ?? DEFAULT_WEBHOOK_TOLERANCE_MS;
  const log = opts.log ?? silentLogger();
  const answer = (res: ResponseLike, status: number, error?: string): void => {
    res.statusCode = status;
    if (error === undefined) {
      res.end();
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ error }));
  };
  return async (req, res) => {
    if (req.method !== 'POST') return answer(res, 405, 'POST only');
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of req) {
        const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        size += b.length;
        if (size > maxBodyBytes) return answer(res, 413, 'body too large');
        chunks.push(b);
      }
    } catch {
      return answer(res, 400, 'body could not be read');
    }
    const raw = Buffer.concat(chunks);
    const header = req.headers[WEBHOOK_SIGNATURE_HEADER.toLowerCase()];
    if (!verifyWebhookSignature(opts.secret, raw, header)) return answer(res, 401, 'bad signature');
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return answer(res, 400, 'body is not JSON');
    }
    const b = body as Partial<WebhookBody> | null;
    if (b === null || typeof b !== 'object' || !Array.isArray(b.events) || typeof b.sentAt !== 'number') {
      return answer(res, 400, 'body is not {sentAt, events}');
    }
    if (toleranceMs > 0 && Math.abs(Date.now() - b.sentAt) > toleranceMs) return answer(res, 401, 'stale request');
    const delivery = req.headers[WEBHOOK_DELIVERY_HEADER.toLowerCase()];
    const attempt = Number(req.headers[WEBHOOK_ATTEMPT_HEADER.toLowerCase()]);
    try {
      await opts.onEvents(b.events, {
        delivery: typeof delivery === 'string' ? delivery : undefined,
        attempt: Number.isInteger(attempt) ? attempt : 1,
        sentAt: b.sentAt,
      });
    } catch (err) {
      log.warn({ err, delivery, events: b.events.length }, 'webhook onEvents failed; answering 500 so the sender retries');
      return answer(res, 500, 'not processed');
    }
    answer(res, 204);
  };
}

export interface WebhookSinkOptions {
  /** `http(s)://` URL the batches are POSTed to (`IM_WEBHOOK_URL`). */
  url: string;
  /** HMAC-SHA256 key of the signature (`IM_WEBHOOK_SECRET`). */
  secret: string;
  /** Parent logger; the sink logs through a child with `{ component: 'webhook' }`. */
  log?: Logger;
  /** @default DEFAULT_WEBHOOK_BATCH_SIZE (100) */
  batchSize?: number;
  /** @default DEFAULT_WEBHOOK_FLUSH_INTERVAL_MS (200) */
  flushIntervalMs?: number;
  /** @default DEFAULT_WEBHOOK_MAX_ATTEMPTS (8) */
  maxAttempts?: number;
  /** @default DEFAULT_WEBHOOK_MAX_QUEUE (10000) */
  maxQueue?: number;
  /** @default DEFAULT_WEBHOOK_TIMEOUT_MS (5000) */
  timeoutMs?: number;
  /** @default DEFAULT_WEBHOOK_RETRY_BASE_MS (500) */
  retryBaseMs?: number;
  /** @default DEFAULT_WEBHOOK_RETRY_MAX_MS (30000) */
  retryMaxMs?: number;
  /** @default DEFAULT_WEBHOOK_CLOSE_TIMEOUT_MS (5000) */
  closeTimeoutMs?: number;
}

/** Counters of a WebhookSink since it was created. */
export interface WebhookSinkStats {
  /** Events waiting for their first attempt. */
  queued: number;
  /** Events of the batch being sent or waiting for a retry. */
  inFlight: number;
  /** Events the receiver took (2xx). */
  delivered: number;
  /** Events given up: queue full, attempts exhausted, refused by the receiver (3xx/4xx), or left at close. */
  dropped: number;
  /** POSTs that failed (network error, timeout, non-2xx). */
  failedAttempts: number;
}

interface Batch {
  id: string;
  events: ImEvent[];
  attempt: number;
}

type Outcome = { kind: 'ok' } | { kind: 'retry'; why: string; err?: unknown; retryAfterMs?: number } | { kind: 'drop'; why: string };

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v <= 0) throw new InvalidArgumentError(`WebhookSink: ${name} must be a positive integer, got ${v}`);
  return v;
}

/** `Retry-After` in ms (seconds or an HTTP date), or undefined. */
function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined;
  const s = Number(header);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/**
 * Delivers events to an HTTP endpoint (architecture §12, docs/events.md "Webhooks"): batches of up
 * to `batchSize` events, sent `flushIntervalMs` after the first one arrives (at once when a batch is
 * full), as `POST {sentAt, events:[...]}` signed with `X-Switchboard-Signature`.
 *
 * - `publish` never waits for the network: it resolves once the event is queued. It never rejects
 *   for a full queue either — past `maxQueue` held events, new events are dropped, counted in
 *   `stats().dropped` and logged (warn, at most every 10 s) — so a slow or dead receiver can never
 *   hold up messaging or grow memory without bound. It rejects (UnavailableError) only after `close()`.
 * - Ordered: one batch in flight at a time; a batch is retried until it succeeds or is dropped
 *   before the next one goes. Events reach the receiver in publish order, except those dropped.
 * - Retried with exponential backoff and jitter on network errors, timeouts, 408, 429 (honouring
 *   `Retry-After` up to `retryMaxMs`) and 5xx, at most `maxAttempts` attempts per batch. Other
 *   answers (3xx, 4xx) drop the batch at once: retrying would not change them.
 * - At least once: a batch whose answer was lost (timeout) is sent again, with the same
 *   `X-Switchboard-Delivery` id; receivers dedupe on event ids.
 * - `close()` stops taking events and keeps sending what is queued for up to `closeTimeoutMs`, then
 *   aborts and drops the rest (counted, logged). Idempotent; clears every timer.
 */
export class WebhookSink implements EventSink {
  private readonly url: string;
  private readonly secret: string;
  private readonly log: Logger;
  private readonly batchSize: number;
  private readonly flushIntervalMs: number;
  private readonly maxAttempts: number;
  private readonly maxQueue: number;
  private readonly timeoutMs: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly closeTimeoutMs: number;

  private queue: ImEvent[] = [];
  /** The batch being sent, or waiting for its retry. */
  private batch: Batch | null = null;
  private sending = false;
  /** Pending send of a partial batch (flush interval) or of a full one (next turn of the loop). */
  private flushTimeout: NodeJS.Timeout | null = null;
  private flushImmediate: NodeJS.Immediate | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private abort: AbortController | null = null;
  private failing = false;

  private closing = false;
  /** Set at the close deadline: nothing is sent any more. */
  private stopped = false;
  private closed: Promise<void> | null = null;
  private closeDeadline = 0;
  private idleWaiters: Array<() => void> = [];

  private delivered = 0;
  private dropped = 0;
  private failedAttempts = 0;
  private dropsUnlogged = 0;
  private lastDropLogAt = -Infinity;

  constructor(opts: WebhookSinkOptions) {
    let u: URL;
    try {
      u = new URL(opts.url);
    } catch (err) {
      throw new InvalidArgumentError('WebhookSink: url is not a valid URL', { cause: err });
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new InvalidArgumentError(`WebhookSink: url must be http(s), got ${u.protocol}`);
    if (typeof opts.secret !== 'string' || opts.secret.length === 0) throw new InvalidArgumentError('WebhookSink: secret is required');
    this.url = u.toString();
    this.secret = opts.secret;
    this.batchSize = positiveInt('batchSize', opts.batchSize ?? DEFAULT_WEBHOOK_BATCH_SIZE);
    this.flushIntervalMs = positiveInt('flushIntervalMs', opts.flushIntervalMs ?? DEFAULT_WEBHOOK_FLUSH_INTERVAL_MS);
    this.maxAttempts = positiveInt('maxAttempts', opts.maxAttempts ?? DEFAULT_WEBHOOK_MAX_ATTEMPTS);
    this.maxQueue = positiveInt('maxQueue', opts.maxQueue ?? DEFAULT_WEBHOOK_MAX_QUEUE);
    this.timeoutMs = positiveInt('timeoutMs', opts.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS);
    this.retryBaseMs = positiveInt('retryBaseMs', opts.retryBaseMs ?? DEFAULT_WEBHOOK_RETRY_BASE_MS);
    this.retryMaxMs = positiveInt('retryMaxMs', opts.retryMaxMs ?? DEFAULT_WEBHOOK_RETRY_MAX_MS);
    this.closeTimeoutMs = positiveInt('closeTimeoutMs', opts.closeTimeoutMs ?? DEFAULT_WEBHOOK_CLOSE_TIMEOUT_MS);
    // The URL may carry credentials or tokens: log only where it points.
    this.log = (opts.log ?? silentLogger()).child({ component: 'webhook', target: u.origin });
  }

  stats(): WebhookSinkStats {
    return {
      queued: this.queue.length,
      inFlight: this.batch?.events.length ?? 0,
      delivered: this.delivered,
      dropped: this.dropped,
      failedAttempts: this.failedAttempts,
    };
  }

  publish(event: ImEvent): Promise<void> {
    if (this.closing) {
      this.drop(1, 'sink closed');
      return Promise.reject(new UnavailableError('webhook sink is closed'));
    }
    if (this.queue.length + (this.batch?.events.length ?? 0) >= this.maxQueue) {
      this.drop(1, 'queue full');
      return Promise.resolve();
    }
    this.queue.push(event);
    this.schedule();
    return Promise.resolve();
  }

  /**
   * Stop taking events, send what is queued for up to `closeTimeoutMs`, then drop the rest.
   * Idempotent. Never rejects.
   */
  close(): Promise<void> {
    this.closed ??= this.doClose();
    return this.closed;
  }

  private async doClose(): Promise<void> {
    this.closing = true;
    this.closeDeadline = performance.now() + this.closeTimeoutMs;
    this.clearFlushTimer();
    if (this.batch !== null && !this.sending) {
      // Waiting for a retry: try again now rather than after the backoff.
      this.clearRetryTimer();
      void this.attempt(this.batch);
    } else {
      this.pump();
    }
    if (this.isIdle()) return;
    let deadline: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.idleWaiters.push(resolve);
      deadline = setTimeout(() => {
        this.stopped = true;
        this.clearRetryTimer();
        this.abort?.abort();
        const left = this.queue.length + (this.batch?.events.length ?? 0);
        this.queue = [];
        this.batch = null;
        if (left > 0) this.drop(left, `not delivered within the close deadline (${this.closeTimeoutMs} ms)`, true);
        this.wakeIdle();
      }, this.closeTimeoutMs);
      deadline.unref();
    });
    clearTimeout(deadline);
  }

  // ---- batching ----------------------------------------------------------------------------

  /** Arrange the next send: at once for a full batch, else after the flush interval. */
  private schedule(): void {
    if (this.batch !== null) return; // the current batch's completion sends the rest
    if (this.queue.length >= this.batchSize) {
      // Not inside publish(): building and signing a batch is work the caller should not wait for.
      this.flushImmediate ??= setImmediate(() => {
        this.flushImmediate = null;
        this.pump();
      });
      return;
    }
    if (this.flushTimeout === null) {
      this.flushTimeout = setTimeout(() => {
        this.flushTimeout = null;
        this.pump();
      }, this.flushIntervalMs);
      this.flushTimeout.unref();
    }
  }

  private clearFlushTimer(): void {
    if (this.flushTimeout !== null) clearTimeout(this.flushTimeout);
    if (this.flushImmediate !== null) clearImmediate(this.flushImmediate);
    this.flushTimeout = null;
    this.flushImmediate = null;
  }

  private clearRetryTimer(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  /** Start the next batch if none is under way. */
  private pump(): void {
    if (this.stopped || this.batch !== null) return;
    if (this.queue.length === 0) {
      this.wakeIdle();
      return;
    }
    this.clearFlushTimer();
    const events = this.queue.length <= this.batchSize ? this.queue : this.queue.slice(0, this.batchSize);
    this.queue = this.queue.length <= this.batchSize ? [] : this.queue.slice(this.batchSize);
    const batch: Batch = { id: randomUUID(), events, attempt: 0 };
    this.batch = batch;
    void this.attempt(batch);
  }

  private async attempt(batch: Batch): Promise<void> {
    if (this.stopped || this.batch !== batch) return;
    batch.attempt += 1;
    this.sending = true;
    let outcome: Outcome;
    try {
      outcome = await this.post(batch);
    } finally {
      this.sending = false;
    }
    if (this.stopped || this.batch !== batch) return;
    if (outcome.kind === 'ok') {
      this.delivered += batch.events.length;
      if (this.failing) {
        this.failing = false;
        this.log.info({ attempt: batch.attempt }, 'webhook receiver answers again');
      }
      return this.next();
    }
    this.failedAttempts += 1;
    if (outcome.kind === 'drop') {
      this.drop(batch.events.length, outcome.why, true);
      return this.next();
    }
    if (batch.attempt >= this.maxAttempts) {
      this.log.debug({ err: outcome.err, delivery: batch.id }, 'webhook attempt failed');
      this.drop(batch.events.length, `${outcome.why}; gave up after ${batch.attempt} attempts`, true);
      return this.next();
    }
    if (!this.failing) {
      this.failing = true;
      this.log.warn({ err: outcome.err, why: outcome.why, delivery: batch.id }, 'webhook delivery failing; retrying with backoff');
    } else {
      this.log.debug({ err: outcome.err, why: outcome.why, delivery: batch.id, attempt: batch.attempt }, 'webhook attempt failed');
    }
    let wait = Math.max(backoffMs(batch.attempt - 1, this.retryBaseMs, this.retryMaxMs), Math.min(outcome.retryAfterMs ?? 0, this.retryMaxMs));
    if (this.closing) {
      // Closing: retry sooner, within the deadline; when no time is left, the deadline drops the batch.
      const left = this.closeDeadline - performance.now();
      if (left <= wait) wait = Math.max(0, left - 50);
      if (wait <= 0) return;
    }
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.attempt(batch);
    }, wait);
    this.retryTimer.unref();
  }

  private next(): void {
    this.batch = null;
    // Events that arrived meanwhile have waited at least as long as the request: send them now.
    this.pump();
  }

  private async post(batch: Batch): Promise<Outcome> {
    const sentAt = Date.now();
    const body = JSON.stringify({ sentAt, events: batch.events } satisfies WebhookBody);
    const abort = new AbortController();
    this.abort = abort;
    const timer = setTimeout(() => abort.abort(), this.timeoutMs);
    timer.unref();
    try {
      const res = await fetch(this.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'switchboard-webhook/1',
          [WEBHOOK_SIGNATURE_HEADER]: signWebhookBody(this.secret, body),
          [WEBHOOK_TIMESTAMP_HEADER]: String(sentAt),
          [WEBHOOK_DELIVERY_HEADER]: batch.id,
          [WEBHOOK_ATTEMPT_HEADER]: String(batch.attempt),
        },
        body,
        redirect: 'manual',
        signal: abort.signal,
      });
      // The answer's body is not used; release the connection without reading it.
      await res.body?.cancel().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return { kind: 'ok' };
      if (res.status >= 500 || res.status === 408 || res.status === 429) {
        const after = retryAfterMs(res.headers.get('retry-after'));
        return { kind: 'retry', why: `HTTP ${res.status}`, ...(after === undefined ? {} : { retryAfterMs: after }) };
      }
      return { kind: 'drop', why: `HTTP ${res.status} (not retried)` };
    } catch (err) {
      if (abort.signal.aborted) return { kind: 'retry', why: this.stopped ? 'aborted at close' : `no answer within ${this.timeoutMs} ms`, err };
      return { kind: 'retry', why: 'network error', err };
    } finally {
      clearTimeout(timer);
      if (this.abort === abort) this.abort = null;
    }
  }

  // ---- bookkeeping -------------------------------------------------------------------------

  private drop(n: number, why: string, always = false): void {
    this.dropped += n;
    this.dropsUnlogged += n;
    const now = performance.now();
    // Per-event drops (queue full) would flood the log: summed, at most one line per interval.
    if (!always && now - this.lastDropLogAt < WEBHOOK_DROP_LOG_INTERVAL_MS) return;
    this.lastDropLogAt = now;
    this.log.warn({ dropped: this.dropsUnlogged, droppedTotal: this.dropped, why }, 'webhook events dropped');
    this.dropsUnlogged = 0;
  }

  private isIdle(): boolean {
    return this.queue.length === 0 && this.batch === null;
  }

  private wakeIdle(): void {
    if (!this.isIdle() && !this.stopped) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
