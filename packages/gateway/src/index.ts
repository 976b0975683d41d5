export { Gateway, type GatewayOptions, type GatewayState, type PushResult } from './gateway.js';
export { type GatewayHooks } from './hooks.js';
export { createLoginVerifier, type LoginVerifier, type LoginCredentials, type AuthMode, type AuthOptions } from './auth.js';
export {
  createUserAuthenticator,
  type UserAuthenticator,
  type UserAuthenticatorOptions,
  type UserAuthResult,
  type UserCredentials,
  DEFAULT_USER_AUTH_CACHE_MS,
  DEFAULT_USER_AUTH_CACHE_SIZE,
  DEFAULT_USER_AUTH_MAX_PENDING,
} from './auth.js';
export { buildGatewayAdmin } from './admin-http.js';
export { adminGuard, metricsGuard } from './admin-auth.js';
export { createGatewayMetrics, registerBridgeMetrics, KNOWN_LABELS, type BridgeCounters, type GatewayMetrics } from './metrics.js';
export { registerBuildInfo, registerBackendMetrics, countEventSink, registerEventsPendingMetric, registerHistoryMemoryMetrics, registerWebhookMetrics } from './ops-metrics.js';
export * from './defaults.js';
export { type Transport, type TransportKind } from './transport/transport.js';
export { type ImEvent, type ImEventType, type EventSink, type PushNeeded, IM_EVENT_TYPES } from './events.js';
export { fanOut, nullEventSink, MemoryEventSink, imEventId, withEventId, type ImEventDraft } from './event-sinks.js';
export {
  WebhookSink,
  type WebhookSinkOptions,
  type WebhookSinkStats,
  type WebhookBody,
  signWebhookBody,
  verifyWebhookSignature,
  createWebhookHandler,
  type WebhookHandlerOptions,
  type WebhookDeliveryInfo,
  DEFAULT_WEBHOOK_MAX_BODY_BYTES,
  DEFAULT_WEBHOOK_TOLERANCE_MS,
  DEFAULT_WEBHOOK_BATCH_SIZE,
  DEFAULT_WEBHOOK_FLUSH_INTERVAL_MS,
  DEFAULT_WEBHOOK_MAX_ATTEMPTS,
  DEFAULT_WEBHOOK_MAX_QUEUE,
  DEFAULT_WEBHOOK_TIMEOUT_MS,
  DEFAULT_WEBHOOK_RETRY_BASE_MS,
  DEFAULT_WEBHOOK_RETRY_MAX_MS,
  DEFAULT_WEBHOOK_CLOSE_TIMEOUT_MS,
  WEBHOOK_SIGNATURE_HEADER,
  WEBHOOK_TIMESTAMP_HEADER,
  WEBHOOK_DELIVERY_HEADER,
  WEBHOOK_ATTEMPT_HEADER,
  STANDARD_WEBHOOK_ID_HEADER,
  STANDARD_WEBHOOK_TIMESTAMP_HEADER,
  STANDARD_WEBHOOK_SIGNATURE_HEADER,
  type StandardWebhookHeaders,
  signStandardWebhook,
  verifyStandardWebhook,
  standardWebhookKey,
} from './webhooks.js';
export { createGateway, type CreateGatewayOptions } from './create.js';
export { createReceiverCheckWebhook, type ReceiverCheckWebhookOptions } from './receiver-webhook.js';
export { type ReceiverExists } from './delivery/receiver-check.js';
