import { performance } from 'node:perf_hooks';
import { connect, type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage, type Message } from 'amqplib';
import {
  InvalidArgumentError,
  TimeoutError,
  UnavailableError,
  UnroutableError,
  silentLogger,
  type Logger,
  type NodeId,
} from '@switchboard/core';
import type { Bridge, BridgeMessage, BridgeState } from '../bridge.js';
import { decodeBridgeMessage, encodeBridgeMessage } from './codec.js';
import { ReconnectTimer, amqpUrlWithHeartbeat, destroySocket, isPositiveInt, requirePositiveInts } from './connection.js';
import {
  DEFAULT_AMQP_PREFIX,
  DEFAULT_NODE_QUEUE_MAX_LENGTH,
  bridgeConnectionName,
  bridgeExchange,
  declareBridgeTopology,
  nodeQueue,
  nodeRoutingKey,
} from './topology.js';

/** How long a `send` waits for the broker's confirm before it rejects with UnavailableError. */
export const DEFAULT_BRIDGE_SEND_TIMEOUT_MS = 2_000;
/** Unacknowledged deliveries the broker may push to this node's consumer. */
export const DEFAULT_BRIDGE_PREFETCH = 1_000;
/** Limit for opening the TCP connection plus the AMQP handshake. */
export const DEFAULT_BRIDGE_CONNECT_TIMEOUT_MS = 5_000;
/** AMQP heartbeat: a silent peer is declared dead after about twice this. */
export const DEFAULT_BRIDGE_HEARTBEAT_S = 10;
/** First reconnect delay ceiling; doubles per failed attempt (jittered between half and full). */
export const DEFAULT_BRIDGE_RECONNECT_BASE_MS = 200;
/** Cap of the reconnect delay. */
export const DEFAULT_BRIDGE_RECONNECT_MAX_MS = 10_000;
/** Limit for `close()` talking to the broker (cancel, delete queue, close) before it gives up. */
export const DEFAULT_BRIDGE_CLOSE_TIMEOUT_MS = 3_000;

export interface AmqpBridgeOptions {
  /** `amqp://user:pass@host:port/vhost`. A `heartbeat` query parameter overrides `heartbeatS`. */
  url: string;
  /** Name prefix of every exchange and queue. @default 'im' */
  prefix?: string;
  /** This gateway's node id: routing key and queue name suffix. */
  nodeId: NodeId;
  /** Parent logger; the bridge logs through a child with `{ component: 'bridge', nodeId }`. */
  log?: Logger;
  /** @default DEFAULT_BRIDGE_SEND_TIMEOUT_MS (2000) */
  sendTimeoutMs?: number;
  /** @default DEFAULT_BRIDGE_PREFETCH (1000) */
  prefetch?: number;
  /** @default DEFAULT_BRIDGE_CONNECT_TIMEOUT_MS (5000) */
  connectTimeoutMs?: number;
  /** @default DEFAULT_BRIDGE_HEARTBEAT_S (10) */
  heartbeatS?: number;
  /** @default DEFAULT_BRIDGE_RECONNECT_BASE_MS (200) */
  reconnectBaseMs?: number;
  /** @default DEFAULT_BRIDGE_RECONNECT_MAX_MS (10000) */
  reconnectMaxMs?: number;
  /** @default DEFAULT_BRIDGE_CLOSE_TIMEOUT_MS (3000) */
  closeTimeoutMs?: number;
  /** Bound of this node's queue (ready messages). @default DEFAULT_NODE_QUEUE_MAX_LENGTH (100000) */
  queueMaxLength?: number;
}

interface PendingSend {
  resolve: () => void;
  reject: (err: Error) => void;
  /** performance.now() deadline; sends are queued in the Map in deadline order. */
  deadline: number;
  target: NodeId;
}

/** One live connection with its two channels; replaced as a whole on every reconnect. */
interface Link {
  conn: ChannelModel;
  pub: ConfirmChannel;
  sub: Channel;
  consumerTag: string;
  exchange: string;
  queue: string;
  /** Last error the connection reported, for the log line when it goes away. */
  lastError: Error | undefined;
  /** Last delivery not yet acked (acks are batched with `multiple`). */
  lastUnacked: ConsumeMessage | null;
  unackedCount: number;
  ackTimer: NodeJS.Immediate | undefined;
  dead: boolean;
}

/**
 * Bridge over RabbitMQ (architecture §4): a durable direct exchange `<prefix>.bridge` and one
 * exclusive queue per node bound by node id (see topology.ts).
 *
 * - `send` publishes on a confirm channel with `mandatory`. It resolves on the broker's ack and
 *   rejects with UnroutableError when the broker returns the message (no queue: the node is gone),
 *   with UnavailableError when the bridge is not up, the broker is blocked or nacks, the
 *   connection drops before the confirm, or no confirm comes within `sendTimeoutMs` (cause:
 *   TimeoutError). A send that timed out may still have been delivered: at most once *per
 *   successful send*, the caller keeps custody.
 * - Messages from one bridge to one node arrive in send order (one channel, one queue).
 * - The consumer uses a prefetch window and acks in batches (`multiple`); bodies that do not decode
 *   are logged and dropped; a handler that throws is logged, never fatal.
 * - After the first successful `start`, a lost connection (broker restart, forced close, network)
 *   turns the state `down`, fails pending sends, and reconnects forever with capped exponential
 *   backoff with jitter, redeclaring the topology and consuming again (`connecting` → `up`).
 *   While not `up`, `send` rejects at once.
 */
export class AmqpBridge implements Bridge {
  readonly nodeId: NodeId;
  private readonly url: string;
  private readonly prefix: string;
  private readonly log: Logger;
  private readonly sendTimeoutMs: number;
  private readonly prefetch: number;
  private readonly connectTimeoutMs: number;
  private readonly reconnectBaseMs: number;
  private readonly reconnectMaxMs: number;
  private readonly closeTimeoutMs: number;
  private readonly queueMaxLength: number;
  private readonly exchange: string;
  private readonly ackBatch: number;

  private _state: BridgeState = 'connecting';
  private readonly listeners: Array<(s: BridgeState) => void> = [];
  private handler: ((msg: BridgeMessage) => void) | undefined;
  private link: Link | undefined;
  private started = false;
  private closing = false;
  private closed: Promise<void> | undefined;
  private connecting: Promise<void> | undefined;
  private readonly reconnect: ReconnectTimer;
  private blockedReason: string | undefined;

  private seq = 0;
  private readonly pending = new Map<string, PendingSend>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private drainWaiters: Array<() => void> = [];

  constructor(opts: AmqpBridgeOptions) {
    if (typeof opts.url !== 'string' || opts.url.length === 0) throw new InvalidArgumentError('AmqpBridge: url is required');
    if (typeof opts.nodeId !== 'string' || opts.nodeId.length === 0) throw new InvalidArgumentError('AmqpBridge: nodeId is required');
    this.nodeId = opts.nodeId;
    this.prefix = opts.prefix ?? DEFAULT_AMQP_PREFIX;
    this.sendTimeoutMs = opts.sendTimeoutMs ?? DEFAULT_BRIDGE_SEND_TIMEOUT_MS;
    this.prefetch = opts.prefetch ?? DEFAULT_BRIDGE_PREFETCH;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? DEFAULT_BRIDGE_CONNECT_TIMEOUT_MS;
    this.reconnectBaseMs = opts.reconnectBaseMs ?? DEFAULT_BRIDGE_RECONNECT_BASE_MS;
    this.reconnectMaxMs = opts.reconnectMaxMs ?? DEFAULT_BRIDGE_RECONNECT_MAX_MS;
    this.closeTimeoutMs = opts.closeTimeoutMs ?? DEFAULT_BRIDGE_CLOSE_TIMEOUT_MS;
    this.queueMaxLength = opts.queueMaxLength ?? DEFAULT_NODE_QUEUE_MAX_LENGTH;
    const heartbeatS = opts.heartbeatS ?? DEFAULT_BRIDGE_HEARTBEAT_S;
    requirePositiveInts('AmqpBridge', {
      sendTimeoutMs: this.sendTimeoutMs,
      connectTimeoutMs: this.connectTimeoutMs,
      reconnectBaseMs: this.reconnectBaseMs,
      reconnectMaxMs: this.reconnectMaxMs,
      closeTimeoutMs: this.closeTimeoutMs,
      queueMaxLength: this.queueMaxLength,
    });
    if (!isPositiveInt(this.prefetch) || this.prefetch > 65_535) {
      throw new InvalidArgumentError(`AmqpBridge: prefetch must be an integer in 1..65535, got ${this.prefetch}`);
    }
    this.url = amqpUrlWithHeartbeat('AmqpBridge', opts.url, heartbeatS);
    this.reconnect = new ReconnectTimer(this.reconnectBaseMs, this.reconnectMaxMs);
    this.exchange = bridgeExchange(this.prefix);
    this.ackBatch = Math.max(1, Math.floor(this.prefetch / 4));
    this.log = (opts.log ?? silentLogger()).child({ component: 'bridge', nodeId: this.nodeId });
  }

  get state(): BridgeState {
    return this._state;
  }

  /** Name of this node's queue (for operators and tests). */
  get queueName(): string {
    return nodeQueue(this.prefix, this.nodeId);
  }

  /** Client-provided connection name the broker shows for this bridge's connection. */
  get connectionName(): string {
    return bridgeConnectionName(this.prefix, this.nodeId);
  }

  /**
   * Connect, declare the topology and start consuming. Rejects with UnavailableError when the
   * broker cannot be reached or refuses the declarations (fail fast at boot: no retry before the
   * first success; the bridge stays `down` and `start` may be called again).
   */
  async start(handler: (msg: BridgeMessage) => void): Promise<void> {
    if (this.closing) throw new UnavailableError('bridge is closed');
    if (this.started) throw new InvalidArgumentError('AmqpBridge.start called twice');
    this.started = true;
    this.handler = handler;
    this.setState('connecting');
    try {
      await this.connectOnce();
    } catch (err) {
      this.started = false;
      this.handler = undefined;
      if (!this.closing) this.setState('down');
      throw err instanceof UnavailableError ? err : new UnavailableError('bridge cannot connect to RabbitMQ', { cause: err });
    }
  }

  send(target: NodeId, msg: BridgeMessage): Promise<void> {
    const link = this.link;
    if (this._state !== 'up' || link === undefined) {
      return Promise.reject(new UnavailableError(`bridge is ${this._state}`));
    }
    if (this.blockedReason !== undefined) {
      return Promise.reject(new UnavailableError(`broker blocked the bridge connection: ${this.blockedReason}`));
    }
    let body: Buffer;
    try {
      body = encodeBridgeMessage(msg);
    } catch (err) {
      return Promise.reject(new InvalidArgumentError('bridge message cannot be encoded', { cause: err }));
    }
    this.seq += 1;
    const id = this.seq.toString(36);
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, deadline: performance.now() + this.sendTimeoutMs, target });
      try {
        link.pub.publish(link.exchange, nodeRoutingKey(target), body, { mandatory: true, messageId: id }, (err) =>
          this.onConfirm(id, err),
        );
      } catch (err) {
        // amqplib throws synchronously when the channel is already closing.
        this.settle(id, new UnavailableError('bridge publish failed', { cause: err }));
        return;
      }
      if (this.sweepTimer === undefined) {
        this.sweepTimer = setInterval(() => this.sweep(), Math.min(250, Math.max(10, this.sendTimeoutMs >> 2)));
        this.sweepTimer.unref();
      }
    });
  }

  onStateChange(fn: (state: BridgeState) => void): void {
    this.listeners.push(fn);
  }

  /**
   * Stop consuming, wait (up to `closeTimeoutMs`) for confirms of sends already made, delete this
   * node's queue and close the connection. Idempotent; clears every timer. New sends reject at
   * once; sends still unconfirmed at the deadline reject with UnavailableError.
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
      try {
        await this.bounded(link.sub.cancel(link.consumerTag), left());
        this.flushAcks(link);
        await this.bounded(this.drained(), left());
        await this.bounded(link.sub.deleteQueue(link.queue), left());
      } catch (err) {
        this.log.warn({ err }, 'bridge close: could not stop cleanly; the queue goes with the connection');
      }
      this.dropLink(link);
      await this.bounded(link.conn.close(), left()).catch((err: unknown) => {
        this.log.debug({ err }, 'bridge close: connection close failed; dropping the socket');
        destroySocket(link.conn);
      });
    }
    this.failPending(new UnavailableError('bridge closed'));
    this.stopSweep();
    this.handler = undefined;
    if (wasUp || link !== undefined) this.log.info('bridge closed');
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
    // Until the link is live, a drop is remembered here (and the awaited calls below reject);
    // afterwards it goes to `lost`.
    let gone: string | undefined;
    const onError = (what: string) => (err: Error): void => {
      if (link !== undefined) link.lastError = err;
      else lastError = err;
      this.log.debug({ err }, `bridge ${what} error`);
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
      if (this.closing) throw new UnavailableError('bridge closed while connecting');
      this.blockedReason = undefined;
      conn.on('error', onError('connection'));
      conn.on('close', onClose('connection closed'));
      conn.on('blocked', (reason: string) => {
        if (!current()) return;
        this.blockedReason = reason;
        this.log.warn({ reason }, 'broker blocked the bridge connection; sends fail until unblocked');
      });
      conn.on('unblocked', () => {
        if (!current()) return;
        this.blockedReason = undefined;
        this.log.info('broker unblocked the bridge connection');
      });
      const pub = await conn.createConfirmChannel();
      pub.on('error', onError('publish channel'));
      pub.on('close', onClose('publish channel closed'));
      pub.on('return', (m: Message) => this.onReturn(m));
      const sub = await conn.createChannel();
      sub.on('error', onError('consume channel'));
      sub.on('close', onClose('consume channel closed'));
      const { exchange, queue } = await declareBridgeTopology(sub, this.prefix, this.nodeId, this.queueMaxLength);
      await sub.prefetch(this.prefetch);
      const live: Link = {
        conn,
        pub,
        sub,
        consumerTag: '',
        exchange,
        queue,
        lastError: undefined,
        lastUnacked: null,
        unackedCount: 0,
        ackTimer: undefined,
        dead: false,
      };
      // Deliveries may be parsed from the same socket read as consume-ok, so `live` exists first.
      live.consumerTag = (await sub.consume(queue, (m) => this.onDelivery(live, m), { noAck: false })).consumerTag;
      if (this.closing) {
        live.dead = true;
        throw new UnavailableError('bridge closed while connecting');
      }
      if (gone !== undefined) {
        // The connection died between the last reply and now: do not report a dead link as up.
        live.dead = true;
        throw new UnavailableError(`bridge connection lost during setup (${gone})`, { cause: lastError });
      }
      link = live;
      this.link = live;
      this.reconnect.reset();
      this.setState('up');
    } catch (err) {
      await conn.close().catch(() => undefined);
      throw err;
    }
  }

  /** A live link died: fail its sends, go `down`, schedule a reconnect. Stale links are ignored. */
  private lost(link: Link, why: string, closeErr?: Error): void {
    if (link.dead) return;
    const err = closeErr ?? link.lastError;
    this.dropLink(link);
    if (this.closing) return;
    this.log.warn({ err, why }, 'bridge connection lost; reconnecting');
    link.conn.close().catch(() => undefined);
    this.failPending(new UnavailableError(`bridge connection lost (${why})`, { cause: err }));
    this.setState('down');
    this.scheduleReconnect();
  }

  private dropLink(link: Link): void {
    link.dead = true;
    link.lastUnacked = null;
    if (link.ackTimer !== undefined) clearImmediate(link.ackTimer);
    link.ackTimer = undefined;
    if (this.link === link) this.link = undefined;
  }

  private scheduleReconnect(): void {
    if (this.closing) return;
    const wait = this.reconnect.schedule(() => {
      if (this.closing) return;
      this.setState('connecting');
      const attempts = this.reconnect.attempt;
      this.connectOnce().then(
        () => this.log.info({ attempts }, 'bridge reconnected'),
        (err: unknown) => {
          if (this.closing) return;
          this.log.warn({ err, attempt: this.reconnect.attempt }, 'bridge reconnect failed');
          this.setState('down');
          this.scheduleReconnect();
        },
      );
    });
    if (wait !== undefined) this.log.debug({ attempt: this.reconnect.attempt, delayMs: wait }, 'bridge reconnect scheduled');
  }

  private setState(s: BridgeState): void {
    if (this._state === s || this._state === 'closed') return;
    this._state = s;
    if (s === 'up') this.log.info('bridge up');
    for (const fn of this.listeners) {
      try {
        fn(s);
      } catch (err) {
        this.log.error({ err }, 'bridge state listener threw');
      }
    }
  }

  // ---- publishing --------------------------------------------------------------------------

  private onConfirm(id: string, err: unknown): void {
    if (err === null || err === undefined) this.settle(id, null);
    else this.settle(id, new UnavailableError('broker did not take the bridge message', { cause: err }));
  }

  private onReturn(m: Message): void {
    const id: unknown = m.properties.messageId;
    if (typeof id !== 'string') return;
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.settle(id, new UnroutableError(`no queue for node ${p.target}`));
  }

  private settle(id: string, err: Error | null): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    if (err === null) p.resolve();
    else p.reject(err);
    if (this.pending.size === 0) this.onDrained();
  }

  private sweep(): void {
    const now = performance.now();
    for (const [id, p] of this.pending) {
      if (p.deadline > now) break;
      this.settle(
        id,
        new UnavailableError(`no broker confirm within ${this.sendTimeoutMs} ms`, {
          cause: new TimeoutError(`bridge send to ${p.target} timed out`),
        }),
      );
    }
    if (this.pending.size === 0) this.stopSweep();
  }

  private stopSweep(): void {
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  private failPending(err: Error): void {
    for (const id of [...this.pending.keys()]) this.settle(id, err);
    this.stopSweep();
  }

  private drained(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private onDrained(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  // ---- consuming ---------------------------------------------------------------------------

  private onDelivery(link: Link, m: ConsumeMessage | null): void {
    if (m === null) {
      // The broker cancelled our consumer (queue deleted from outside): rebuild everything.
      this.lost(link, 'consumer cancelled by broker');
      return;
    }
    if (link.dead) return;
    let msg: BridgeMessage | undefined;
    try {
      msg = decodeBridgeMessage(m.content);
    } catch (err) {
      this.log.warn({ err, bytes: m.content.length }, 'malformed bridge message dropped');
    }
    if (msg !== undefined && this.handler !== undefined) {
      try {
        this.handler(msg);
      } catch (err) {
        this.log.error({ err, type: msg.type }, 'bridge message handler threw; message dropped');
      }
    }
    link.lastUnacked = m;
    link.unackedCount += 1;
    if (link.unackedCount >= this.ackBatch) {
      this.flushAcks(link);
    } else if (link.ackTimer === undefined) {
      // Ack what this I/O turn delivered with one `multiple` ack.
      link.ackTimer = setImmediate(() => {
        link.ackTimer = undefined;
        this.flushAcks(link);
      });
    }
  }

  /** Ack everything delivered so far on `link` with one `multiple` ack. */
  private flushAcks(link: Link): void {
    const m = link.lastUnacked;
    link.lastUnacked = null;
    link.unackedCount = 0;
    if (m === null || link.dead) return;
    try {
      link.sub.ack(m, true);
    } catch (err) {
      // The channel is closing; its close handler reconnects. The messages are not redelivered
      // (the exclusive queue dies with the connection), which at-most-once allows.
      this.log.debug({ err }, 'bridge ack failed');
    }
  }

  private bounded<T>(p: Promise<T>, ms: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const t = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(`bridge close step timed out after ${Math.round(ms)} ms`)), ms);
      timer.unref();
    });
    return Promise.race([p, t]).finally(() => clearTimeout(timer));
  }
}
