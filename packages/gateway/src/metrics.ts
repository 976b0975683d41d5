import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { LostReason } from './delivery/outcomes.js';

/**
 * A counter with one label, counted in a plain Map and handed to prom-client at scrape time.
 * prom-client hashes and validates the label object on every `inc`, which showed up in the
 * gateway's profile on the per-packet paths; this costs one Map lookup instead.
 */
export class LabelledCounter {
  private readonly counts = new Map<string | number, number>();

  constructor(opts: { name: string; help: string; label: string; registry: Registry }) {
    const counts = this.counts;
    const label = opts.label;
    new Counter({
      name: opts.name,
      help: opts.help,
      labelNames: [label],
      registers: [opts.registry],
      collect() {
        this.reset();
        for (const [value, n] of counts) this.inc({ [label]: String(value) }, n);
      },
    });
  }

  inc(value: string | number, by = 1): void {
    this.counts.set(value, (this.counts.get(value) ?? 0) + by);
  }

  /** Show `values` at 0 until they are counted, so the series exist before their first event. */
  zero(values: ReadonlyArray<string | number>): void {
    for (const v of values) if (!this.counts.has(v)) this.counts.set(v, 0);
  }

  /** Current count for one label value (0 when never counted). */
  get(value: string | number): number {
    return this.counts.get(value) ?? 0;
  }
}

/** The gateway's Prometheus metrics, on a registry of its own (standalone hosts two apps per process). */
export function createGatewayMetrics(opts: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const m = {
    registry,
    connections: new Gauge({ name: 'switchboard_connections', help: 'Open client connections', labelNames: ['transport'] as const, registers: [registry] }),
    logins: new Counter({ name: 'switchboard_logins_total', help: 'Login attempts by result', labelNames: ['result'] as const, registers: [registry] }),
    packetsIn: new LabelledCounter({ name: 'switchboard_packets_in_total', help: 'Packets received by type', label: 'type', registry }),
    packetsOut: new LabelledCounter({ name: 'switchboard_packets_out_total', help: 'Packets sent by type', label: 'type', registry }),
    messages: new LabelledCounter({
      name: 'switchboard_messages_total',
      help: 'Messages handled, by kind (c2c_local, c2c_remote, c2s, s2c)',
      label: 'kind',
      registry,
    }),
    routeCache: new LabelledCounter({
      name: 'switchboard_route_cache_total',
      help: 'Route lookups of the relay by result: hit (a cached route of a user on another node) or miss (asked the route store)',
      label: 'result',
      registry,
    }),
    routeMisses: new Counter({ name: 'switchboard_route_misses_total', help: 'Relayed messages whose target node answered that the receiver is not there (a stale route)', registers: [registry] }),
    acksRelayed: new Counter({ name: 'switchboard_acks_relayed_total', help: 'Receiver acks relayed to the sender', registers: [registry] }),
    custodyPending: new Gauge({ name: 'switchboard_custody_pending', help: 'QoS messages in custody awaiting an ack', registers: [registry] }),
    offlineStored: new Counter({ name: 'switchboard_offline_stored_total', help: 'Messages stored in offline queues', registers: [registry] }),
    offlineDelivered: new Counter({ name: 'switchboard_offline_delivered_total', help: 'Offline messages acked by their receiver', registers: [registry] }),
    lost: new Counter({ name: 'switchboard_messages_lost_total', help: 'Messages neither delivered nor stored', labelNames: ['reason'] as const, registers: [registry] }),
    deliveryLatency: new Histogram({
      name: 'switchboard_delivery_latency_seconds',
      help: 'Received from the sender → ack from the receiver',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    bridgePublish: new Histogram({
      name: 'switchboard_bridge_publish_seconds',
      help: 'Bridge send until broker confirm',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    historyAppends: new LabelledCounter({
      name: 'switchboard_history_appends_total',
      help: 'Messages written to conversation history by result (written, duplicate, error)',
      label: 'result',
      registry,
    }),
    groupFanout: new Counter({
      name: 'switchboard_group_fanout_messages_total',
      help: 'Bridge messages sent to other gateways for group messages (at most one per gateway with online members per message)',
      registers: [registry],
    }),
    kicks: new Counter({ name: 'switchboard_kicks_total', help: 'Kickouts sent by code', labelNames: ['code'] as const, registers: [registry] }),
    slowConsumerCloses: new Counter({ name: 'switchboard_slow_consumer_closes_total', help: 'Connections closed as slow consumers', registers: [registry] }),
    rateLimited: new Counter({ name: 'switchboard_rate_limited_total', help: 'Packets refused by the rate limit', registers: [registry] }),
    protocolErrors: new Counter({ name: 'switchboard_protocol_errors_total', help: 'Connections or packets refused for bad input', labelNames: ['reason'] as const, registers: [registry] }),
    connectionsRefused: new Counter({
      name: 'switchboard_connections_refused_total',
      help: 'Connections closed at once by a cap: max_connections (4004), max_unauth_per_ip (4005)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    loginTimeouts: new Counter({ name: 'switchboard_login_timeouts_total', help: 'Connections closed for not logging in within the login deadline (4003)', registers: [registry] }),
    offlineOverCeiling: new Gauge({
      name: 'switchboard_offline_storage_over_ceiling',
      help: '1 while offline storage (Redis memory, or the standalone heap) is over its ceiling and offline stores are refused (1035)',
      registers: [registry],
    }),
    presenceChanges: new Counter({ name: 'switchboard_presence_changes_total', help: 'Presence changes (online/offline) this gateway broadcast', registers: [registry] }),
    presenceBroadcasts: new LabelledCounter({
      name: 'switchboard_presence_broadcasts_total',
      help: 'Presence broadcast messages on the fanout exchange by result (sent, failed)',
      label: 'result',
      registry,
    }),
    typing: new LabelledCounter({ name: 'switchboard_typing_signals_total', help: 'Typing signals by result (relayed, rate_limited)', label: 'result', registry }),
    pushNeeded: new Counter({ name: 'switchboard_push_needed_total', help: 'push.needed reports (one per offline user per window)', registers: [registry] }),
    loopLag: new Gauge({ name: 'switchboard_event_loop_lag_seconds', help: 'Event-loop lag p99 over the last report interval', registers: [registry] }),
  };
  zeroKnownLabels(m);
  return m;
}

/**
 * The label values each labelled series is known to take. They are shown at 0 from the start, so an
 * idle gateway's dashboards and alerts see 0 rather than "no data".
 */
export const KNOWN_LABELS = {
  transport: ['ws', 'tcp', 'udp'],
  loginResult: ['ok', 'rejected', 'unavailable', 'superseded', 'malformed', 'reserved'],
  messageKind: ['c2c_local', 'c2c_remote', 'c2s', 's2c', 'group'],
  kickCode: [1, 2],
  lostReason: ['too_large', 'full', 'error', 'sender_budget', 'storage_full', 'unknown_receiver'] satisfies LostReason[],
  refusedReason: ['max_connections', 'max_unauth_per_ip'],
  broadcastResult: ['sent', 'failed'],
  typingResult: ['relayed', 'rate_limited'],
  routeCacheResult: ['hit', 'miss'],
} as const;

function zeroKnownLabels(m: GatewayMetrics): void {
  for (const transport of KNOWN_LABELS.transport) m.connections.set({ transport }, 0);
  for (const result of KNOWN_LABELS.loginResult) m.logins.inc({ result }, 0);
  m.messages.zero(KNOWN_LABELS.messageKind);
  for (const code of KNOWN_LABELS.kickCode) m.kicks.inc({ code }, 0);
  for (const reason of KNOWN_LABELS.lostReason) m.lost.inc({ reason }, 0);
  for (const reason of KNOWN_LABELS.refusedReason) m.connectionsRefused.inc({ reason }, 0);
  m.presenceBroadcasts.zero(KNOWN_LABELS.broadcastResult);
  m.typing.zero(KNOWN_LABELS.typingResult);
  m.routeCache.zero(KNOWN_LABELS.routeCacheResult);
}

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;

/** What a bridge that batches can tell about itself (AmqpBridge.stats()). */
export interface BridgeCounters {
  itemsPublished: number;
  amqpMessagesPublished: number;
  itemsReceived: number;
  amqpMessagesReceived: number;
}

/**
 * Bridge traffic as counters read at scrape time: items (messages, acks, kicks) and the broker
 * messages that carried them; items ÷ messages is the batching factor.
 */
export function registerBridgeMetrics(registry: Registry, read: () => BridgeCounters): void {
  const counter = (name: string, help: string, pick: (c: BridgeCounters) => number) => counterReadAtScrape(registry, name, help, () => pick(read()));
  counter('switchboard_bridge_items_published_total', 'Items (deliveries, acks, kicks…) sent over the bridge', (c) => c.itemsPublished);
  counter('switchboard_bridge_broker_messages_published_total', 'Broker messages that carried them (batches)', (c) => c.amqpMessagesPublished);
  counter('switchboard_bridge_items_received_total', 'Items received from the bridge', (c) => c.itemsReceived);
  counter('switchboard_bridge_broker_messages_received_total', 'Broker messages that carried them', (c) => c.amqpMessagesReceived);
}

/** A counter whose value is read from elsewhere (a running total kept by its owner) at every scrape. */
export function counterReadAtScrape(registry: Registry, name: string, help: string, read: () => number): Counter {
  return new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}
