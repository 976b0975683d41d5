import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ImEvent } from '../events.js';

/**
 * The webhook wire format, shared by the sender (WebhookSink) and receivers (createWebhookHandler):
 * the headers, the JSON body and its HMAC-SHA256 signatures. Requests are signed the Standard
 * Webhooks way (`webhook-id`, `webhook-timestamp`, `webhook-signature`: any Standard Webhooks
 * verifier checks them) and, for one more release, with the older `X-Switchboard-Signature`.
 */

/** Standard Webhooks: the message id, the batch's, equal on every attempt of it. */
export const STANDARD_WEBHOOK_ID_HEADER = 'webhook-id';
/** Standard Webhooks: when this attempt was sent, whole seconds since epoch; signed. */
export const STANDARD_WEBHOOK_TIMESTAMP_HEADER = 'webhook-timestamp';
/** Standard Webhooks: `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">`, space-separated when several. */
export const STANDARD_WEBHOOK_SIGNATURE_HEADER = 'webhook-signature';

/** Deprecated (removed in the next release; verify `webhook-signature`): `sha256=<hex HMAC-SHA256 of the raw body>`. */
export const WEBHOOK_SIGNATURE_HEADER = 'X-Switchboard-Signature';
/** Deprecated with the signature above: when this attempt was sent, ms since epoch; equal to the body's `sentAt`. */
export const WEBHOOK_TIMESTAMP_HEADER = 'X-Switchboard-Timestamp';
/** Id of the batch, the same on every attempt of it (equal to `webhook-id`). */
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

const STANDARD_SECRET_PREFIX = 'whsec_';

/**
 * The HMAC key of a Standard Webhooks signature: a `whsec_<base64>` secret is decoded as the
 * standard says; any other secret is used as it is (its UTF-8 bytes), so a Standard Webhooks verifier
 * is given `whsec_` + base64 of it, or the secret with its "raw" format option.
 */
export function standardWebhookKey(secret: string | Buffer): Buffer {
  if (Buffer.isBuffer(secret)) return secret;
  return secret.startsWith(STANDARD_SECRET_PREFIX) ? Buffer.from(secret.slice(STANDARD_SECRET_PREFIX.length), 'base64') : Buffer.from(secret, 'utf8');
}

function standardMac(key: Buffer, id: string, timestampS: number | string, body: string | Buffer): Buffer {
  return createHmac('sha256', key).update(`${id}.${timestampS}.`).update(body).digest();
}

/** `v1,<base64>`: the value of `webhook-signature` for message `id` sent at `timestampS` (seconds) with `body`. */
export function signStandardWebhook(secret: string | Buffer, id: string, timestampS: number, body: string | Buffer): string {
  return 'v1,' + standardMac(standardWebhookKey(secret), id, timestampS, body).toString('base64');
}

/** The three Standard Webhooks headers of a request, as received. */
export interface StandardWebhookHeaders {
  id: string | readonly string[] | null | undefined;
  timestamp: string | readonly string[] | null | undefined;
  signature: string | readonly string[] | null | undefined;
}

const first = (h: string | readonly string[] | null | undefined): string | undefined => (Array.isArray(h) ? h[0] : (h as string | null | undefined) ?? undefined);

/**
 * Whether the Standard Webhooks headers sign `body` (the raw bytes) with `secret`, or one of several
 * secrets while rotating: one of the space-separated `v1,<base64>` signatures must match, and
 * `webhook-timestamp` must be within `toleranceMs` of `nowMs` (0: not checked). Constant time per
 * comparison; never throws: missing or malformed headers are `false`.
 */
export function verifyStandardWebhook(
  secret: string | Buffer | ReadonlyArray<string | Buffer>,
  headers: StandardWebhookHeaders,
  body: string | Buffer,
  opts: { toleranceMs?: number; nowMs?: number } = {},
): boolean {
  const id = first(headers.id);
  const ts = first(headers.timestamp);
  const sig = first(headers.signature);
  if (!id || !ts || !sig || !/^\d{1,15}$/.test(ts)) return false;
  const toleranceMs = opts.toleranceMs ?? 0;
  if (toleranceMs > 0 && Math.abs((opts.nowMs ?? Date.now()) - Number(ts) * 1000) > toleranceMs) return false;
  const given = sig
    .split(' ')
    .filter((p) => p.startsWith('v1,'))
    .map((p) => Buffer.from(p.slice(3), 'base64'))
    .filter((b) => b.length === 32);
  if (given.length === 0) return false;
  const secrets: ReadonlyArray<string | Buffer> = typeof secret === 'string' || Buffer.isBuffer(secret) ? [secret] : secret;
  let ok = false;
  for (const s of secrets) {
    const expected = standardMac(standardWebhookKey(s), id, ts, body);
    for (const g of given) if (timingSafeEqual(expected, g)) ok = true;
  }
  return ok;
}
