import type { ReceiverExists } from './delivery/receiver-check.js';

export interface ReceiverCheckWebhookOptions {
  /** `IM_RECEIVER_CHECK_URL`. */
  url: string;
  /** Per request. */
  timeoutMs: number;
}

/**
 * The receiver check as an HTTP webhook (`IM_RECEIVER_CHECK_URL`): `POST <url>` with
 * `{"userId":"…"}`, answered by `200 {"exists":true|false}`. Anything else (another status, another
 * body, no answer within `timeoutMs`) throws, which the gateway's ReceiverCheck counts as "exists"
 * (fail open) and logs. Answers are cached by the gateway, not here.
 */
export function createReceiverCheckWebhook(o: ReceiverCheckWebhookOptions): ReceiverExists {
  return async (userId) => {
    const res = await fetch(o.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId }),
      signal: AbortSignal.timeout(o.timeoutMs),
    });
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new Error(`receiver check webhook answered HTTP ${res.status}`);
    }
    const body = (await res.json()) as { exists?: unknown };
    if (typeof body?.exists !== 'boolean') throw new Error('receiver check webhook answered without a boolean "exists"');
    return body.exists;
  };
}
