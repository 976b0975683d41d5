export {
  AmqpBridge,
  type AmqpBridgeOptions,
  type AmqpBridgeStats,
  DEFAULT_BRIDGE_SEND_TIMEOUT_MS,
  DEFAULT_BRIDGE_PREFETCH,
  DEFAULT_BRIDGE_CONNECT_TIMEOUT_MS,
  DEFAULT_BRIDGE_HEARTBEAT_S,
  DEFAULT_BRIDGE_RECONNECT_BASE_MS,
  DEFAULT_BRIDGE_RECONNECT_MAX_MS,
  DEFAULT_BRIDGE_CLOSE_TIMEOUT_MS,
  DEFAULT_BRIDGE_BATCH_MAX_ITEMS,
  DEFAULT_BRIDGE_BATCH_MAX_BYTES,
} from './amqp-bridge.js';
export {
  encodeBridgeMessage,
  decodeBridgeMessage,
  encodeBridgeBatch,
  splitBridgeBody,
  isBridgeBatch,
  MalformedBridgeMessage,
} from './codec.js';
export {
  DEFAULT_AMQP_PREFIX,
  DEFAULT_NODE_QUEUE_MAX_LENGTH,
  BRIDGE_EXCHANGE_TYPE,
  BRIDGE_EXCHANGE_OPTIONS,
  bridgeExchange,
  nodeQueue,
  nodeRoutingKey,
  nodeQueueOptions,
  eventsExchange,
  bridgeConnectionName,
  declareBridgeTopology,
  broadcastExchange,
  BROADCAST_EXCHANGE_TYPE,
  type DeclaringChannel,
} from './topology.js';
export {
  AmqpEventsPublisher,
  type AmqpEventsPublisherOptions,
  type EventPublisher,
  type EventsPublisherState,
  type PublishableEvent,
  DEFAULT_EVENTS_PUBLISH_TIMEOUT_MS,
  DEFAULT_EVENTS_MAX_PENDING,
} from './events-publisher.js';
export {
  EVENTS_EXCHANGE_TYPE,
  EVENTS_EXCHANGE_OPTIONS,
  eventRoutingKey,
  eventsConnectionName,
  declareEventsTopology,
} from './topology.js';
