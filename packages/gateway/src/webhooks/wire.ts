import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ImEvent } from '../events.js';

/**
 * The webhook wire format, shared by the sender (WebhookSink) and receivers (createWebhookHandler):
 * the headers, the JSON body and its HMAC-SHA256 signature.
 */

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
