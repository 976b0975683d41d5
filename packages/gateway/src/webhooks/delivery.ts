import type { ImEvent } from '../events.js';
import {
  STANDARD_WEBHOOK_ID_HEADER,
  STANDARD_WEBHOOK_SIGNATURE_HEADER,
  STANDARD_WEBHOOK_TIMESTAMP_HEADER,
  WEBHOOK_ATTEMPT_HEADER,
  WEBHOOK_DELIVERY_HEADER,
  WEBHOOK_SIGNATURE_HEADER,
  WEBHOOK_TIMESTAMP_HEADER,
  signStandardWebhook,
  signWebhookBody,
  type WebhookBody,
} from './wire.js';

/**
 * One attempt at delivering a batch (WebhookSink's network side): the signed POST and what its
 * answer means for the batch (delivered, retry, or drop).
 */

/** A batch of events on its way; its id is the `webhook-id` (and `X-Switchboard-Delivery`) of every attempt. */
export interface WebhookBatch {
  id: string;
  events: ImEvent[];
  /** Attempts made so far, the one under way included (1 for the first). */
  attempt: number;
}

/** What an attempt's answer means: delivered, worth retrying (with the receiver's `Retry-After`), or never going to work. */
export type WebhookOutcome =
  | { kind: 'ok' }
  | { kind: 'retry'; why: string; err?: unknown; retryAfterMs?: number }
  | { kind: 'drop'; why: string };

/** Where and how a batch is POSTed. */
export interface WebhookTarget {
  url: string;
  secret: string;
  /** Deadline of one POST, response headers included. */
  timeoutMs: number;
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
 * POST `batch` (attempt `batch.attempt`) to `target`, signed, without following redirects. 2xx is
 * `ok`; network errors, timeouts, 408, 429 and 5xx are `retry`; any other status is `drop`.
 * `abort` cuts the request short (the caller's close deadline); `aborting()` says whether that was
 * the caller's doing, so the outcome tells it from this attempt's own timeout. Never rejects.
 */
export async function postWebhookBatch(
  target: WebhookTarget,
  batch: WebhookBatch,
  abort: AbortController,
  aborting: () => boolean,
): Promise<WebhookOutcome> {
  const sentAt = Date.now();
  const timestampS = Math.floor(sentAt / 1000);
  const body = JSON.stringify({ sentAt, events: batch.events } satisfies WebhookBody);
  const timer = setTimeout(() => abort.abort(), target.timeoutMs);
  timer.unref();
  try {
    const res = await fetch(target.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'switchboard-webhook/1',
        [STANDARD_WEBHOOK_ID_HEADER]: batch.id,
        [STANDARD_WEBHOOK_TIMESTAMP_HEADER]: String(timestampS),
        [STANDARD_WEBHOOK_SIGNATURE_HEADER]: signStandardWebhook(target.secret, batch.id, timestampS, body),
        // Deprecated, kept for one release (docs/events.md): receivers move to webhook-signature.
        [WEBHOOK_SIGNATURE_HEADER]: signWebhookBody(target.secret, body),
        [WEBHOOK_TIMESTAMP_HEADER]: String(sentAt),
        [WEBHOOK_DELIVERY_HEADER]: batch.id,
        [WEBHOOK_ATTEMPT_HEADER]: String(batch.attempt),
      },
      body,
      redirect: 'manual',
      signal: abort.signal,
    });
    // The answer's body is not used; release the connection without reading it. Cancelling fails
    // only when that body already failed (the connection dropped after the status line): the
    // status is in hand and the connection is gone either way, so there is nothing to report.
    await res.body?.cancel().catch(() => undefined);
    if (res.status >= 200 && res.status < 300) return { kind: 'ok' };
    if (res.status >= 500 || res.status === 408 || res.status === 429) {
      const after = retryAfterMs(res.headers.get('retry-after'));
      return { kind: 'retry', why: `HTTP ${res.status}`, ...(after === undefined ? {} : { retryAfterMs: after }) };
    }
    return { kind: 'drop', why: `HTTP ${res.status} (not retried)` };
  } catch (err) {
    if (abort.signal.aborted) return { kind: 'retry', why: aborting() ? 'aborted at close' : `no answer within ${target.timeoutMs} ms`, err };
    return { kind: 'retry', why: 'network error', err };
  } finally {
    clearTimeout(timer);
  }
}
