import { silentLogger, type Logger } from '@switchboard/core';
import type { ImEvent } from '../events.js';
import {
  STANDARD_WEBHOOK_ID_HEADER,
  STANDARD_WEBHOOK_SIGNATURE_HEADER,
  STANDARD_WEBHOOK_TIMESTAMP_HEADER,
  WEBHOOK_ATTEMPT_HEADER,
  WEBHOOK_DELIVERY_HEADER,
  WEBHOOK_SIGNATURE_HEADER,
  verifyStandardWebhook,
  verifyWebhookSignature,
  type WebhookBody,
} from './wire.js';

/** The receiving end of webhooks: a request handler that checks and unpacks what a WebhookSink sends. */

/** Largest request body `createWebhookHandler` reads by default: 16 MiB. */
export const DEFAULT_WEBHOOK_MAX_BODY_BYTES = 16 * 1024 * 1024;
/** How far a request's `sentAt` may be from the receiver's clock by default: 5 minutes. */
export const DEFAULT_WEBHOOK_TOLERANCE_MS = 5 * 60_000;

/** What `createWebhookHandler` tells `onEvents` about the request besides its events. */
export interface WebhookDeliveryInfo {
  /** `webhook-id` (or `X-Switchboard-Delivery`): the batch id, equal on every attempt of the batch. */
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
  /** Refuse requests whose signed `sentAt` or `webhook-timestamp` is further than this from now (replays); 0 = no check. @default DEFAULT_WEBHOOK_TOLERANCE_MS (300000) */
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

type Headers = RequestLike['headers'];

/**
 * Both signatures a request carries must hold: the Standard Webhooks one (`webhook-signature` over
 * id, timestamp and body) and the older `X-Switchboard-Signature` (over the body), and at least one
 * must be there. So a request from a gateway of this release (both), of the previous one (only the
 * older) or of the next one (only the standard) is taken. Null when verified, else why not.
 */
function signatureProblem(secret: WebhookHandlerOptions['secret'], headers: Headers, raw: Buffer, toleranceMs: number): string | null {
  const standard = headers[STANDARD_WEBHOOK_SIGNATURE_HEADER];
  const legacy = headers[WEBHOOK_SIGNATURE_HEADER.toLowerCase()];
  if (standard === undefined && legacy === undefined) return 'bad signature';
  if (legacy !== undefined && !verifyWebhookSignature(secret, raw, legacy)) return 'bad signature';
  if (standard === undefined) return null;
  const timestamp = headers[STANDARD_WEBHOOK_TIMESTAMP_HEADER];
  if (!verifyStandardWebhook(secret, { id: headers[STANDARD_WEBHOOK_ID_HEADER], timestamp, signature: standard }, raw)) return 'bad signature';
  if (toleranceMs > 0 && Math.abs(Date.now() - Number(timestamp) * 1000) > toleranceMs) return 'stale request';
  return null;
}

/**
 * A Node `(req, res)` request handler for a webhook receiver: reads the raw body, checks the
 * signatures (401; see `signatureProblem`), the freshness of `sentAt` and `webhook-timestamp` (401),
 * the JSON shape (400), then awaits `onEvents`
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
      // The request stream failed (the sender hung up or sent a broken body): the answer is all the
      // sender can get, and its retry sends the batch again.
      return answer(res, 400, 'body could not be read');
    }
    const raw = Buffer.concat(chunks);
    const problem = signatureProblem(opts.secret, req.headers, raw, toleranceMs);
    if (problem !== null) return answer(res, 401, problem);
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      // Signed by a holder of the secret yet not JSON: the sender's bug, told in the answer.
      return answer(res, 400, 'body is not JSON');
    }
    const b = body as Partial<WebhookBody> | null;
    if (b === null || typeof b !== 'object' || !Array.isArray(b.events) || typeof b.sentAt !== 'number') {
      return answer(res, 400, 'body is not {sentAt, events}');
    }
    if (toleranceMs > 0 && Math.abs(Date.now() - b.sentAt) > toleranceMs) return answer(res, 401, 'stale request');
    const delivery = req.headers[STANDARD_WEBHOOK_ID_HEADER] ?? req.headers[WEBHOOK_DELIVERY_HEADER.toLowerCase()];
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
