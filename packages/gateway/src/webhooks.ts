/**
 * Webhooks (architecture §12, docs/events.md "Webhooks"), in webhooks/: the wire format and its
 * signature (wire.ts), the sender WebhookSink (sink.ts: queue, batching, retries, close) with one
 * POST attempt in delivery.ts, and the receiver's request handler (handler.ts).
 */
export {
  STANDARD_WEBHOOK_ID_HEADER,
  STANDARD_WEBHOOK_TIMESTAMP_HEADER,
  STANDARD_WEBHOOK_SIGNATURE_HEADER,
  type StandardWebhookHeaders,
  signStandardWebhook,
  verifyStandardWebhook,
  standardWebhookKey,
  WEBHOOK_SIGNATURE_HEADER,
  WEBHOOK_TIMESTAMP_HEADER,
  WEBHOOK_DELIVERY_HEADER,
  WEBHOOK_ATTEMPT_HEADER,
  type WebhookBody,
  signWebhookBody,
  verifyWebhookSignature,
} from './webhooks/wire.js';
export {
  DEFAULT_WEBHOOK_MAX_BODY_BYTES,
  DEFAULT_WEBHOOK_TOLERANCE_MS,
  type WebhookDeliveryInfo,
  type WebhookHandlerOptions,
  createWebhookHandler,
} from './webhooks/handler.js';
export {
  DEFAULT_WEBHOOK_BATCH_SIZE,
  DEFAULT_WEBHOOK_FLUSH_INTERVAL_MS,
  DEFAULT_WEBHOOK_MAX_ATTEMPTS,
  DEFAULT_WEBHOOK_MAX_QUEUE,
  DEFAULT_WEBHOOK_TIMEOUT_MS,
  DEFAULT_WEBHOOK_RETRY_BASE_MS,
  DEFAULT_WEBHOOK_RETRY_MAX_MS,
  DEFAULT_WEBHOOK_CLOSE_TIMEOUT_MS,
  WEBHOOK_DROP_LOG_INTERVAL_MS,
  type WebhookSinkOptions,
  type WebhookSinkStats,
  WebhookSink,
} from './webhooks/sink.js';
