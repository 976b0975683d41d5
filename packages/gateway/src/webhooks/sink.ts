import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { InvalidArgumentError, UnavailableError, backoffMs, silentLogger, type Logger } from '@switchboard/core';
import type { EventSink, ImEvent } from '../events.js';
import { postWebhookBatch, type WebhookBatch, type WebhookOutcome, type WebhookTarget } from './delivery.js';

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

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v <= 0) throw new InvalidArgumentError(`WebhookSink: ${name} must be a positive integer, got ${v}`);
  return v;
}

/**
 * Delivers events to an HTTP endpoint (architecture §12, docs/events.md "Webhooks"): batches of up
 * to `batchSize` events, sent `flushIntervalMs` after the first one arrives (at once when a batch is
 * full), as `POST {sentAt, events:[...]}` signed the Standard Webhooks way (`webhook-signature`) and,
 * for one more release, with `X-Switchboard-Signature`.
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
  private readonly target: WebhookTarget;
  private readonly log: Logger;
  private readonly batchSize: number;
  private readonly flushIntervalMs: number;
  private readonly maxAttempts: number;
  private readonly maxQueue: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly closeTimeoutMs: number;

  private queue: ImEvent[] = [];
  /** The batch being sent, or waiting for its retry. */
  private batch: WebhookBatch | null = null;
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
    this.batchSize = positiveInt('batchSize', opts.batchSize ?? DEFAULT_WEBHOOK_BATCH_SIZE);
    this.flushIntervalMs = positiveInt('flushIntervalMs', opts.flushIntervalMs ?? DEFAULT_WEBHOOK_FLUSH_INTERVAL_MS);
    this.maxAttempts = positiveInt('maxAttempts', opts.maxAttempts ?? DEFAULT_WEBHOOK_MAX_ATTEMPTS);
    this.maxQueue = positiveInt('maxQueue', opts.maxQueue ?? DEFAULT_WEBHOOK_MAX_QUEUE);
    const timeoutMs = positiveInt('timeoutMs', opts.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS);
    this.target = { url: u.toString(), secret: opts.secret, timeoutMs };
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
    const batch: WebhookBatch = { id: randomUUID(), events, attempt: 0 };
    this.batch = batch;
    void this.attempt(batch);
  }

  private async attempt(batch: WebhookBatch): Promise<void> {
    if (this.stopped || this.batch !== batch) return;
    batch.attempt += 1;
    this.sending = true;
    let outcome: WebhookOutcome;
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

  /** One POST of `batch`, abortable by the close deadline (`this.abort`). */
  private async post(batch: WebhookBatch): Promise<WebhookOutcome> {
    const abort = new AbortController();
    this.abort = abort;
    try {
      return await postWebhookBatch(this.target, batch, abort, () => this.stopped);
    } finally {
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
