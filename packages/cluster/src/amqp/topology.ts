import type { NodeId } from '@switchboard/core';

/**
 * Every RabbitMQ name Switchboard uses is built here, from one prefix (`IM_KEY_PREFIX`, default `im`),
 * so two clusters (or two test files) share a broker without seeing each other.
 *
 * Bridge topology (architecture §4):
 * - `<prefix>.bridge`: durable direct exchange; routing key = target node id.
 * - `<prefix>.bridge.<nodeId>`: one queue per gateway, bound with its node id. The queue is
 *   **exclusive** (so not durable): RabbitMQ deletes it the moment its owning connection closes or
 *   is found dead by heartbeat, so a message for a dead node is returned at once (`mandatory`) and
 *   falls to offline delivery. A gateway whose connection drops declares it again when it
 *   reconnects; messages sent meanwhile are returned to their senders, who keep custody. A queue
 *   that outlives its connection (`x-expires` alone) would instead swallow messages for a dead node
 *   until it expired, and each sender would only learn it at its custody timeout.
 *   `x-max-length` + `x-overflow: reject-publish` bound what a stalled gateway can pile up: past
 *   the bound the broker nacks and senders fall back at once. The bound counts AMQP messages, each
 *   a batch of one or more sends; `x-max-length-bytes` bounds their size too.
 *
 * - `<prefix>.bridge.all`: durable fanout exchange; every node queue is bound to it too, so one
 *   publish reaches every gateway (batched presence changes, docs/presence.md). Never used for
 *   per-message traffic (architecture §4: one publish per message per target node).
 *
 * Events topology (architecture §12, docs/events.md):
 * - `<prefix>.events`: durable topic exchange; routing key = event type (`login`, `c2s`,
 *   `c2c.delivered`, ...). Gateways only publish to it. Application backends declare and bind their
 *   own queues (durable, named by the application), so nothing piles up when nobody listens.
 */

/** Name prefix used when none is configured. */
export const DEFAULT_AMQP_PREFIX = 'im';

/**
 * Ready messages a node queue holds before the broker refuses new ones (senders get a nack →
 * UnavailableError). Each AMQP message is one batch of 1 to 64 bridge sends (AmqpBridge
 * `maxBatchItems`), so this is at least 20 s of a busy gateway's cross-node traffic, and more when
 * sends are batched.
 */
export const DEFAULT_NODE_QUEUE_MAX_LENGTH = 100_000;

/**
 * Byte bound of a node queue, next to the message bound: a batch can be 64 KiB, so 100k batches
 * could be ~6 GiB of broker memory. 256 MiB is still minutes of a busy gateway's traffic.
 */
export const DEFAULT_NODE_QUEUE_MAX_BYTES = 256 * 1024 * 1024;

/** The bridge's direct exchange: `<prefix>.bridge`. */
export function bridgeExchange(prefix: string): string {
  return `${prefix}.bridge`;
}

/** The bridge's fanout exchange: `<prefix>.bridge.all` (one publish reaches every node). */
export function broadcastExchange(prefix: string): string {
  return `${prefix}.bridge.all`;
}

/** Arguments of `assertExchange` for the fanout exchange. */
export const BROADCAST_EXCHANGE_TYPE = 'fanout';

/** The queue a node consumes: `<prefix>.bridge.<nodeId>`. */
export function nodeQueue(prefix: string, nodeId: NodeId): string {
  return `${prefix}.bridge.${nodeId}`;
}

/** Routing key that reaches `nodeId`'s queue on the bridge exchange. */
export function nodeRoutingKey(nodeId: NodeId): string {
  return nodeId;
}

/** Topic exchange for application events (architecture §12): `<prefix>.events`. */
export function eventsExchange(prefix: string): string {
  return `${prefix}.events`;
}

/** Routing key of an event on the events exchange: its type, as is (`c2c.delivered`). */
export function eventRoutingKey(type: string): string {
  return type;
}

/** Client-provided connection name of an events publisher (`name` is usually the node id). */
export function eventsConnectionName(prefix: string, name: string): string {
  return `switchboard ${prefix} events ${name}`;
}

/** Arguments of `assertExchange` for the events exchange. */
export const EVENTS_EXCHANGE_TYPE = 'topic';
export const EVENTS_EXCHANGE_OPTIONS = { durable: true, autoDelete: false, internal: false } as const;

/** Declare the events exchange. Idempotent. */
export async function declareEventsTopology(ch: Pick<DeclaringChannel, 'assertExchange'>, prefix: string): Promise<{ exchange: string }> {
  const exchange = eventsExchange(prefix);
  await ch.assertExchange(exchange, EVENTS_EXCHANGE_TYPE, EVENTS_EXCHANGE_OPTIONS);
  return { exchange };
}

/** Client-provided connection name (shown in the management UI and `rabbitmqctl list_connections`). */
export function bridgeConnectionName(prefix: string, nodeId: NodeId): string {
  return `switchboard ${prefix} bridge ${nodeId}`;
}

/** Arguments of `assertExchange` for the bridge exchange. */
export const BRIDGE_EXCHANGE_TYPE = 'direct';
export const BRIDGE_EXCHANGE_OPTIONS = { durable: true, autoDelete: false, internal: false } as const;

/** Arguments of `assertQueue` for a node queue. */
export function nodeQueueOptions(maxLength: number = DEFAULT_NODE_QUEUE_MAX_LENGTH): {
  exclusive: true;
  durable: false;
  autoDelete: false;
  arguments: Record<string, unknown>;
} {
  return {
    exclusive: true,
    durable: false,
    autoDelete: false,
    arguments: { 'x-max-length': maxLength, 'x-max-length-bytes': DEFAULT_NODE_QUEUE_MAX_BYTES, 'x-overflow': 'reject-publish' },
  };
}

/** The subset of an amqplib channel that declaring needs (keeps this module free of amqplib types). */
export interface DeclaringChannel {
  assertExchange(exchange: string, type: string, options?: object): Promise<unknown>;
  assertQueue(queue: string, options?: object): Promise<unknown>;
  bindQueue(queue: string, source: string, pattern: string): Promise<unknown>;
}

/** Declare the bridge's exchanges and `nodeId`'s queue, bound by node id and to the fanout exchange. Idempotent. */
export async function declareBridgeTopology(
  ch: DeclaringChannel,
  prefix: string,
  nodeId: NodeId,
  maxLength: number = DEFAULT_NODE_QUEUE_MAX_LENGTH,
): Promise<{ exchange: string; queue: string; broadcast: string }> {
  const exchange = bridgeExchange(prefix);
  const broadcast = broadcastExchange(prefix);
  const queue = nodeQueue(prefix, nodeId);
  await ch.assertExchange(exchange, BRIDGE_EXCHANGE_TYPE, BRIDGE_EXCHANGE_OPTIONS);
  await ch.assertExchange(broadcast, BROADCAST_EXCHANGE_TYPE, BRIDGE_EXCHANGE_OPTIONS);
  await ch.assertQueue(queue, nodeQueueOptions(maxLength));
  await ch.bindQueue(queue, exchange, nodeRoutingKey(nodeId));
  await ch.bindQueue(queue, broadcast, '');
  return { exchange, queue, broadcast };
}
