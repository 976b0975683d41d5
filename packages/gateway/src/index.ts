export { Gateway, type GatewayOptions, type GatewayState, type PushResult } from './gateway.js';
export { type GatewayHooks } from './hooks.js';
export { createLoginVerifier, type LoginVerifier, type LoginCredentials, type AuthMode, type AuthOptions } from './auth.js';
export { buildGatewayAdmin } from './admin-http.js';
export { adminGuard } from './admin-auth.js';
export { createGatewayMetrics, type GatewayMetrics } from './metrics.js';
export * from './defaults.js';
export { type Transport, type TransportKind } from './transport/transport.js';
export { type ImEvent, type ImEventType, type EventSink, IM_EVENT_TYPES } from './events.js';
