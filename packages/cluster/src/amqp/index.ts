export {
  AmqpBridge,
  type AmqpBridgeOptions,
  DEFAULT_BRIDGE_SEND_TIMEOUT_MS,
  DEFAULT_BRIDGE_PREFETCH,
  DEFAULT_BRIDGE_CONNECT_TIMEOUT_MS,
  DEFAULT_BRIDGE_HEARTBEAT_S,
  DEFAULT_BRIDGE_RECONNECT_BASE_MS,
  DEFAULT_BRIDGE_RECONNECT_MAX_MS,
  DEFAULT_BRIDGE_CLOSE_TIMEOUT_MS,
} from './amqp-bridge.js';
export { encodeBridgeMessage, decodeBridgeMessage, MalformedBridgeMessage } from './codec.js';
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
  type DeclaringChannel,
} from './topology.js';
