import type { ChannelModel, ConfirmChannel } from 'amqplib';
import { InvalidArgumentError, UnavailableError, silentLogger, withTimeout, type Logger } from '@switchboard/core';
import {
  DEFAULT_BRIDGE_CLOSE_TIMEOUT_MS,
  DEFAULT_BRIDGE_CONNECT_TIMEOUT_MS,
  DEFAULT_BRIDGE_HEARTBEAT_S,
  DEFAULT_BRIDGE_RECONNECT_BASE_MS,
  DEFAULT_BRIDGE_RECONNECT_MAX_MS,
} from './amqp-bridge.js';
import {
  ConfirmTracker,
  ConnectionKeeper,
  amqpUrlWithHeartbeat,
  requirePositiveInts,
  type KeeperState,
  type KeptLink,
  type LinkHandlers,
} from './connection.js';
import { BrokerWrites } from './amqplib-internals.js';
import { DEFAULT_AMQP_PREFIX, declareEventsTopology, eventRoutingKey, eventsConnectionName, eventsExchange } from './topology.js';

/**
 * How long `publish` waits for the broker's confirm before it rejects with UnavailableError (cause
 * TimeoutError). A gateway holds a C2S ack for this long at most, so it stays well under a
 * MobileIMSDK client's first resend (≥ 3 s).
 */
export const DEFAULT_EVENTS_PUBLISH_TIMEOUT_MS = 2_000;
/** Publishes awaiting a confirm; past this `publish` rejects at once instead of queueing more. */
export const DEFAULT_EVENTS_MAX_PENDING = 10_000;

/**
 * What the publisher needs of an event: `type` (the routing key) and `id` (the AMQP `messageId`,
 * the consumers' idempotency key); `at` (ms since epoch) becomes the AMQP `timestamp` when present.
 * The whole object is the JSON body.
 *
 * Structurally a supertype of `ImEvent` from `@switchboard/gateway`, so an AmqpEventsPublisher *is*
 * a gateway `EventSink` without this package depending on the gateway (which depends on this one).
 */
export interface PublishableEvent {
  readonly type: string;
  readonly id: string;
  readonly at?: number;
}

/**
 * The shape of the gateway's `EventSink`, restated here (see the note on PublishableEvent).
 * `publish` resolves once the event is safe and rejects when it is not.
 */
export interface EventPublisher<E extends PublishableEvent = PublishableEvent> {
  publish(event: E): Promise<void>;
  close(): Promise<void>;
}

/** `connecting` until the first start succeeds or while reconnecting, `up`, `down` between attempts, `closed`. */
export type EventsPublisherState = KeeperState;

export interface AmqpEventsPublisherOptions {
  /** `amqp://user:pass@host:port/vhost`. A `heartbeat` query parameter overrides `heartbeatS`. */
  url: string;
  /** Name prefix: the exchange is `<prefix>.events`. @default 'im' */
  prefix?: string;
  /** Who publishes (usually the node id): in the connection name and the logs. @default 'gateway' */
  name?: string;
  /** Parent logger; the publisher logs through a child with `{ component: 'events', name }`. */
  log?: Logger;
  /** @default DEFAULT_EVENTS_PUBLISH_TIMEOUT_MS (2000) */
  publishTimeoutMs?: number;
  /** @default DEFAULT_EVENTS_MAX_PENDING (10000) */
  maxPending?: number;
  /** @default DEFAULT_BRIDGE_CONNECT_TIMEOUT_MS (5000) */
  connectTimeoutMs?: number;
  /** @default DEFAULT_BRIDGE_HEARTBEAT_S (10) */
  heartbeatS?: number;
  /** @default DEFAULT_BRIDGE_RECONNECT_BASE_MS (200) */
  reconnectBaseMs?: number;
  /** @default DEFAULT_BRIDGE_RECONNECT_MAX_MS (10000) */
  reconnectMaxMs?: number;
  /** Limit for `close()` (wait for confirms, close the connection). @default DEFAULT_BRIDGE_CLOSE_TIMEOUT_MS (3000) */
  closeTimeoutMs?: number;
}

/** One live connection with its confirm channel; replaced as a whole on every reconnect. */
interface Link extends KeptLink {
  ch: ConfirmChannel;
  /** The turn's publishes leave in one write. */
  writes: BrokerWrites | null;
}

/**
 * Publishes application events to the durable topic exchange `<prefix>.events` (architecture §12,
 * docs/events.md): routing key = event type, JSON body, `persistent`, `messageId` = event id,
 * `contentType: application/json`, `type` = event type, `timestamp` = event time (s), `appId`
 * `switchboard`. Not `mandatory`: an event no queue is bound for is dropped by the broker, and
 * `publish` still resolves.
 *
 * - `publish` resolves on the broker's confirm (for a durable queue: the event is on disk) and
 *   rejects with UnavailableError when the publisher is not `up`, the broker blocked the connection
 *   or nacked, the connection dropped before the confirm, `maxPending` confirms are outstanding, or
 *   no confirm came within `publishTimeoutMs` (cause: TimeoutError). A rejected event may still have
 *   been delivered: retrying is at least once, so consumers dedupe on `messageId`.
 * - Events from one publisher reach each queue in `publish` order (one channel).
 * - After the first successful `start`, a lost connection turns the state `down`, fails pending
 *   publishes, and reconnects forever with capped exponential backoff with jitter, declaring the
 *   exchange again. Publishes reject at once until it is `up`; nothing is buffered, so memory stays
 *   bounded by `maxPending`.
 */
export class AmqpEventsPublisher implements EventPublisher {
  readonly name: string;
  /** `<prefix>.events`. */
  readonly exchange: string;
  private readonly prefix: string;
  private readonly log: Logger;
  private readonly maxPending: number;
  private readonly keeper: ConnectionKeeper<Link>;
  private seq = 0;
  private readonly confirms: ConfirmTracker<number, string>;

  constructor(opts: AmqpEventsPublisherOptions) {
    this.prefix = opts.prefix ?? DEFAULT_AMQP_PREFIX;
    this.name = opts.name ?? 'gateway';
    const publishTimeoutMs = opts.publishTimeoutMs ?? DEFAULT_EVENTS_PUBLISH_TIMEOUT_MS;
    this.maxPending = opts.maxPending ?? DEFAULT_EVENTS_MAX_PENDING;
    const connectTimeoutMs = opts.connectTimeoutMs ?? DEFAULT_BRIDGE_CONNECT_TIMEOUT_MS;
    const closeTimeoutMs = opts.closeTimeoutMs ?? DEFAULT_BRIDGE_CLOSE_TIMEOUT_MS;
    const reconnectBaseMs = opts.reconnectBaseMs ?? DEFAULT_BRIDGE_RECONNECT_BASE_MS;
    const reconnectMaxMs = opts.reconnectMaxMs ?? DEFAULT_BRIDGE_RECONNECT_MAX_MS;
    requirePositiveInts('AmqpEventsPublisher', {
      publishTimeoutMs,
      maxPending: this.maxPending,
      connectTimeoutMs,
      closeTimeoutMs,
      reconnectBaseMs,
      reconnectMaxMs,
    });
    if (this.name.length === 0) throw new InvalidArgumentError('AmqpEventsPublisher: name must not be empty');
    const url = amqpUrlWithHeartbeat('AmqpEventsPublisher', opts.url, opts.heartbeatS ?? DEFAULT_BRIDGE_HEARTBEAT_S);
    this.exchange = eventsExchange(this.prefix);
    this.log = (opts.log ?? silentLogger()).child({ component: 'events', name: this.name });
    this.confirms = new ConfirmTracker(publishTimeoutMs, (type) => `events publish of ${type}`);
    this.keeper = new ConnectionKeeper<Link>({
      url,
      connectionName: this.connectionName,
      connectTimeoutMs,
      closeTimeoutMs,
      reconnectBaseMs,
      reconnectMaxMs,
      log: this.log,
      wording: { conn: 'events', client: 'events publisher', ops: 'publishes', className: 'AmqpEventsPublisher' },
      confirms: this.confirms,
      upFields: { exchange: this.exchange },
      setup: (conn, on) => this.setup(conn, on),
      drain: (_link, left) => this.awaitConfirms(left),
    });
  }

  get state(): EventsPublisherState {
    return this.keeper.state;
  }

  /** Client-provided connection name the broker shows for this publisher's connection. */
  get connectionName(): string {
    return eventsConnectionName(this.prefix, this.name);
  }

  /** Publishes awaiting the broker's confirm. */
  get pendingCount(): number {
    return this.confirms.size;
  }

  /** Called on every state change (not for the initial `connecting`). A listener that throws is logged. */
  onStateChange(fn: (state: EventsPublisherState) => void): void {
    this.keeper.onStateChange(fn);
  }

  /**
   * Connect and declare the exchange. Rejects with UnavailableError when the broker cannot be reached
   * or refuses the declaration (fail fast at boot: no retry before the first success; the publisher
   * stays `down` and `start` may be called again).
   */
  start(): Promise<void> {
    return this.keeper.start();
  }

  publish<E extends PublishableEvent>(event: E): Promise<void> {
    const link = this.keeper.usable();
    if (link instanceof UnavailableError) return Promise.reject(link);
    if (this.confirms.size >= this.maxPending) {
      return Promise.reject(new UnavailableError(`${this.confirms.size} events await a broker confirm; not taking more`));
    }
    const type: unknown = event?.type;
    const id: unknown = event?.id;
    if (typeof type !== 'string' || type.length === 0 || Buffer.byteLength(type) > 255) {
      return Promise.reject(new InvalidArgumentError('event type must be a string of 1..255 bytes (it is the routing key)'));
    }
    if (typeof id !== 'string' || id.length === 0) {
      return Promise.reject(new InvalidArgumentError('event id must be a non-empty string'));
    }
    let body: Buffer;
    try {
      body = Buffer.from(JSON.stringify(event), 'utf8');
    } catch (err) {
      return Promise.reject(new InvalidArgumentError('event cannot be encoded as JSON', { cause: err }));
    }
    const at = event.at;
    const timestamp = Math.floor((typeof at === 'number' && Number.isFinite(at) && at > 0 ? at : Date.now()) / 1000);
    this.seq += 1;
    const tag = this.seq;
    const confirmed = this.confirms.add(tag, type);
    try {
      link.writes?.batch();
      link.ch.publish(
        this.exchange,
        eventRoutingKey(type),
        body,
        { persistent: true, messageId: id, contentType: 'application/json', type, timestamp, appId: 'switchboard' },
        (err) => this.confirms.confirm(tag, err, 'broker did not take the event'),
      );
    } catch (err) {
      // amqplib throws synchronously when the channel is already closing.
      this.confirms.settle(tag, new UnavailableError('events publish failed', { cause: err }));
    }
    return confirmed;
  }

  /**
   * Stop reconnecting, wait (up to `closeTimeoutMs`) for confirms of publishes already made, and
   * close the connection. Idempotent; clears every timer. Publishes made after `close()` reject at
   * once; those still unconfirmed at the deadline reject with UnavailableError.
   */
  close(): Promise<void> {
    return this.keeper.close();
  }

  /** Open the confirm channel and declare the exchange (ConnectionKeeper `setup`). */
  private async setup(conn: ChannelModel, on: LinkHandlers): Promise<Link> {
    const ch = await conn.createConfirmChannel();
    ch.on('error', on.error('channel'));
    ch.on('close', on.close('channel closed'));
    await declareEventsTopology(ch, this.prefix);
    return { conn, ch, lastError: undefined, dead: false, writes: BrokerWrites.of(conn) };
  }

  /** The graceful part of `close()` (ConnectionKeeper `drain`): wait for outstanding confirms. */
  private async awaitConfirms(left: () => number): Promise<void> {
    await withTimeout(this.confirms.drained(), left(), 'events close: waiting for confirms').catch((err: unknown) => {
      this.log.warn({ err, pending: this.confirms.size }, 'events close: confirms still outstanding');
    });
  }
}
