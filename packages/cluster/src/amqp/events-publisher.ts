import { performance } from 'node:perf_hooks';
import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { InvalidArgumentError, TimeoutError, UnavailableError, silentLogger, withTimeout, type Logger } from '@switchboard/core';
import {
  DEFAULT_BRIDGE_CLOSE_TIMEOUT_MS,
  DEFAULT_BRIDGE_CONNECT_TIMEOUT_MS,
  DEFAULT_BRIDGE_HEARTBEAT_S,
  DEFAULT_BRIDGE_RECONNECT_BASE_MS,
  DEFAULT_BRIDGE_RECONNECT_MAX_MS,
} from './amqp-bridge.js';
import { ReconnectTimer, amqpUrlWithHeartbeat, destroySocket, requirePositiveInts } from './connection.js';
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
export type EventsPublisherState = 'connecting' | 'up' | 'down' | 'closed';

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

interface Pending {
  resolve: () => void;
  reject: (err: Error) => void;
  /** performance.now() deadline; entries sit in the Map in deadline order (one timeout for all). */
  deadline: number;
  type: string;
}

/** One live connection with its confirm channel; replaced as a whole on every reconnect. */
interface Link {
  conn: ChannelModel;
  ch: ConfirmChannel;
  lastError: Error | undefined;
  dead: boolean;
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
  private readonly url: string;
  private readonly prefix: string;
  private readonly log: Logger;
  private readonly publishTimeoutMs: number;
  private readonly maxPending: number;
  private readonly connectTimeoutMs: number;
  private readonly closeTimeoutMs: number;
  private readonly reconnect: ReconnectTimer;

  private _state: EventsPublisherState = 'connecting';
  private readonly listeners: Array<(s: EventsPublisherState) => void> = [];
  private link: Link | undefined;
  private started = false;
  private closing = false;
  private closed: Promise<void> | undefined;
  private connecting: Promise<void> | undefined;
  private blockedReason: string | undefined;

  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private drainWaiters: Array<() => void> = [];

  constructor(opts: AmqpEventsPublisherOptions) {
    this.prefix = opts.prefix ?? DEFAULT_AMQP_PREFIX;
    this.name = opts.name ?? 'gateway';
    this.publishTimeoutMs = opts.publishTimeoutMs ?? DEFAULT_EVENTS_PUBLISH_TIMEOUT_MS;
    this.maxPending = opts.maxPending ?? DEFAULT_EVENTS_MAX_PENDING;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? DEFAULT_BRIDGE_CONNECT_TIMEOUT_MS;
    this.closeTimeoutMs = opts.closeTimeoutMs ?? DEFAULT_BRIDGE_CLOSE_TIMEOUT_MS;
    const reconnectBaseMs = opts.reconnectBaseMs ?? DEFAULT_BRIDGE_RECONNECT_BASE_MS;
    const reconnectMaxMs = opts.reconnectMaxMs ?? DEFAULT_BRIDGE_RECONNECT_MAX_MS;
    requirePositiveInts('AmqpEventsPublisher', {
      publishTimeoutMs: this.publishTimeoutMs,
      maxPending: this.maxPending,
      connectTimeoutMs: this.connectTimeoutMs,
      closeTimeoutMs: this.closeTimeoutMs,
      reconnectBaseMs,
      reconnectMaxMs,
    });
    if (this.name.length === 0) throw new InvalidArgumentError('AmqpEventsPublisher: name must not be empty');
    this.url = amqpUrlWithHeartbeat('AmqpEventsPublisher', opts.url, opts.heartbeatS ?? DEFAULT_BRIDGE_HEARTBEAT_S);
    this.exchange = eventsExchange(this.prefix);
    this.reconnect = new ReconnectTimer(reconnectBaseMs, reconnectMaxMs);
    this.log = (opts.log ?? silentLogger()).child({ component: 'events', name: this.name });
  }

  get state(): EventsPublisherState {
    return this._state;
  }

  /** Client-provided connection name the broker shows for this publisher's connection. */
  get connectionName(): string {
    return eventsConnectionName(this.prefix, this.name);
  }

  /** Publishes awaiting the broker's confirm. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Called on every state change (not for the initial `connecting`). A listener that throws is logged. */
  onStateChange(fn: (state: EventsPublisherState) => void): void {
    this.listeners.push(fn);
  }

  /**
   * Connect and declare the exchange. Rejects with UnavailableError when the broker cannot be reached
   * or refuses the declaration (fail fast at boot: no retry before the first success; the publisher
   * stays `down` and `start` may be called again).
   */
  async start(): Promise<void> {
    if (this.closing) throw new UnavailableError('events publisher is closed');
    if (this.started) throw new InvalidArgumentError('AmqpEventsPublisher.start called twice');
    this.started = true;
    this.setState('connecting');
    try {
      await this.connectOnce();
    } catch (err) {
      this.started = false;
      if (!this.closing) this.setState('down');
      throw err instanceof UnavailableError ? err : new UnavailableError('events publisher cannot connect to RabbitMQ', { cause: err });
    }
  }

  publish<E extends PublishableEvent>(event: E): Promise<void> {
    const link = this.link;
    if (this._state !== 'up' || link === undefined) {
      return Promise.reject(new UnavailableError(`events publisher is ${this._state}`));
    }
    if (this.blockedReason !== undefined) {
      return Promise.reject(new UnavailableError(`broker blocked the events connection: ${this.blockedReason}`));
    }
    if (this.pending.size >= this.maxPending) {
      return Promise.reject(new UnavailableError(`${this.pending.size} events await a broker confirm; not taking more`));
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
    return new Promise<void>((resolve, reject) => {
      this.pending.set(tag, { resolve, reject, deadline: performance.now() + this.publishTimeoutMs, type });
      try {
        link.ch.publish(
          this.exchange,
          eventRoutingKey(type),
          body,
          { persistent: true, messageId: id, contentType: 'application/json', type, timestamp, appId: 'switchboard' },
          (err) => this.settle(tag, err === null || err === undefined ? null : new UnavailableError('broker did not take the event', { cause: err })),
        );
      } catch (err) {
        // amqplib throws synchronously when the channel is already closing.
        this.settle(tag, new UnavailableError('events publish failed', { cause: err }));
        return;
      }
      if (this.sweepTimer === undefined) {
        this.sweepTimer = setInterval(() => this.sweep(), Math.min(250, Math.max(10, this.publishTimeoutMs >> 2)));
        this.sweepTimer.unref();
      }
    });
  }

  /**
   * Stop reconnecting, wait (up to `closeTimeoutMs`) for confirms of publishes already made, and
   * close the connection. Idempotent; clears every timer. Publishes made after `close()` reject at
   * once; those still unconfirmed at the deadline reject with UnavailableError.
   */
  close(): Promise<void> {
    this.closed ??= this.doClose();
    return this.closed;
  }

  private async doClose(): Promise<void> {
    this.closing = true;
    this.reconnect.cancel();
    const wasUp = this._state === 'up';
    this.setState('closed');
    if (this.connecting !== undefined) await this.connecting.catch(() => undefined);
    const link = this.link;
    if (link !== undefined) {
      const deadline = performance.now() + this.closeTimeoutMs;
      const left = (): number => Math.max(1, deadline - performance.now());
      await withTimeout(this.drained(), left(), 'events close: waiting for confirms').catch((err: unknown) => {
        this.log.warn({ err, pending: this.pending.size }, 'events close: confirms still outstanding');
      });
      this.dropLink(link);
      await withTimeout(link.conn.close(), left(), 'events close: connection close').catch((err: unknown) => {
        this.log.debug({ err }, 'events close: connection close failed; dropping the socket');
        destroySocket(link.conn);
      });
    }
    this.failPending(new UnavailableError('events publisher closed'));
    if (wasUp || link !== undefined) this.log.info('events publisher closed');
  }

  // ---- connection management -------------------------------------------------------------

  private connectOnce(): Promise<void> {
    const p = this.openLink().finally(() => {
      if (this.connecting === p) this.connecting = undefined;
    });
    this.connecting = p;
    return p;
  }

  private async openLink(): Promise<void> {
    const conn = await connect(this.url, {
      timeout: this.connectTimeoutMs,
      noDelay: true,
      clientProperties: { connection_name: this.connectionName },
    });
    let link: Link | undefined;
    let lastError: Error | undefined;
    // Until the link is live a drop is remembered here (and the awaited calls below reject);
    // afterwards it goes to `lost`.
    let gone: string | undefined;
    const onError = (what: string) => (err: Error): void => {
      if (link !== undefined) link.lastError = err;
      else lastError = err;
      this.log.debug({ err }, `events ${what} error`);
    };
    const onClose = (why: string) => (err?: Error): void => {
      if (link !== undefined) this.lost(link, why, err);
      else {
        gone ??= why;
        lastError = err ?? lastError;
      }
    };
    const current = (): boolean => link === undefined || this.link === link;
    try {
      if (this.closing) throw new UnavailableError('events publisher closed while connecting');
      this.blockedReason = undefined;
      conn.on('error', onError('connection'));
      conn.on('close', onClose('connection closed'));
      conn.on('blocked', (reason: string) => {
        if (!current()) return;
        this.blockedReason = reason;
        this.log.warn({ reason }, 'broker blocked the events connection; publishes fail until unblocked');
      });
      conn.on('unblocked', () => {
        if (!current()) return;
        this.blockedReason = undefined;
        this.log.info('broker unblocked the events connection');
      });
      const ch = await conn.createConfirmChannel();
      ch.on('error', onError('channel'));
      ch.on('close', onClose('channel closed'));
      await declareEventsTopology(ch, this.prefix);
      if (this.closing) throw new UnavailableError('events publisher closed while connecting');
      if (gone !== undefined) {
        throw new UnavailableError(`events connection lost during setup (${gone})`, { cause: lastError });
      }
      const live: Link = { conn, ch, lastError: undefined, dead: false };
      link = live;
      this.link = live;
      this.reconnect.reset();
      this.setState('up');
    } catch (err) {
      await conn.close().catch(() => undefined);
      throw err;
    }
  }

  /** A live link died: fail its publishes, go `down`, schedule a reconnect. Stale links are ignored. */
  private lost(link: Link, why: string, closeErr?: Error): void {
    if (link.dead) return;
    const err = closeErr ?? link.lastError;
    this.dropLink(link);
    if (this.closing) return;
    this.log.warn({ err, why }, 'events connection lost; reconnecting');
    link.conn.close().catch(() => undefined);
    this.failPending(new UnavailableError(`events connection lost (${why})`, { cause: err }));
    this.setState('down');
    this.scheduleReconnect();
  }

  private dropLink(link: Link): void {
    link.dead = true;
    if (this.link === link) this.link = undefined;
  }

  private scheduleReconnect(): void {
    if (this.closing) return;
    const wait = this.reconnect.schedule(() => {
      if (this.closing) return;
      this.setState('connecting');
      const attempts = this.reconnect.attempt;
      this.connectOnce().then(
        () => this.log.info({ attempts }, 'events publisher reconnected'),
        (err: unknown) => {
          if (this.closing) return;
          this.log.warn({ err, attempt: this.reconnect.attempt }, 'events reconnect failed');
          this.setState('down');
          this.scheduleReconnect();
        },
      );
    });
    if (wait !== undefined) this.log.debug({ attempt: this.reconnect.attempt, delayMs: wait }, 'events reconnect scheduled');
  }

  private setState(s: EventsPublisherState): void {
    if (this._state === s || this._state === 'closed') return;
    this._state = s;
    if (s === 'up') this.log.info({ exchange: this.exchange }, 'events publisher up');
    for (const fn of this.listeners) {
      try {
        fn(s);
      } catch (err) {
        this.log.error({ err }, 'events state listener threw');
      }
    }
  }

  // ---- confirms --------------------------------------------------------------------------

  private settle(tag: number, err: Error | null): void {
    const p = this.pending.get(tag);
    if (p === undefined) return;
    this.pending.delete(tag);
    if (err === null) p.resolve();
    else p.reject(err);
    if (this.pending.size === 0) {
      this.stopSweep();
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  private sweep(): void {
    const now = performance.now();
    for (const [tag, p] of this.pending) {
      if (p.deadline > now) break;
      this.settle(
        tag,
        new UnavailableError(`no broker confirm within ${this.publishTimeoutMs} ms`, {
          cause: new TimeoutError(`events publish of ${p.type} timed out`),
        }),
      );
    }
  }

  private stopSweep(): void {
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  private failPending(err: Error): void {
    for (const tag of [...this.pending.keys()]) this.settle(tag, err);
    this.stopSweep();
  }

  private drained(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }
}
