import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, Message } from 'amqplib';
import {
  InvalidArgumentError,
  UnavailableError,
  UnroutableError,
  silentLogger,
  withTimeout,
  type Logger,
  type NodeId,
} from '@switchboard/core';
import type { Bridge, BridgeMessage, BridgeState } from '../bridge.js';
import { decodeBridgeMessage, encodeBridgeBatch, encodeBridgeMessage, splitBridgeBody } from './codec.js';
import {
  ConfirmTracker,
  ConnectionKeeper,
  amqpUrlWithHeartbeat,
  isPositiveInt,
  requirePositiveInts,
  type KeptLink,
  type LinkHandlers,
} from './connection.js';
import { BrokerWrites } from './amqplib-internals.js';
import { PublishBatcher } from './publish-batcher.js';
import {
  DEFAULT_AMQP_PREFIX,
  DEFAULT_NODE_QUEUE_MAX_LENGTH,
  bridgeConnectionName,
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
/** Sends one batch (one AMQP message) carries at most; reaching it publishes that batch at once. */
export const DEFAULT_BRIDGE_BATCH_MAX_ITEMS = 64;
/**
 * Encoded item bytes one batch carries at most (the batch head, ≈ 30 bytes plus ≈ 6 per item, is not
 * counted). An item that would push a batch past it goes into a new batch; an item larger than this
 * on its own travels alone.
 */
export const DEFAULT_BRIDGE_BATCH_MAX_BYTES = 65_536;

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
  /**
   * Bound of this node's queue in ready AMQP messages; each one carries a batch of 1 to
   * `maxBatchItems` sends. @default DEFAULT_NODE_QUEUE_MAX_LENGTH (100000)
   */
  queueMaxLength?: number;
  /**
   * Sends to one node in one event-loop turn travel as one AMQP message of at most this many items.
   * `1` turns batching off: every body is then a plain version-1 message that nodes running code
   * without batch support can read (codec.ts), for the first step of a rolling upgrade.
   * @default DEFAULT_BRIDGE_BATCH_MAX_ITEMS (64)
   */
  maxBatchItems?: number;
  /** Encoded bytes of the items of one batch, at most (see DEFAULT_BRIDGE_BATCH_MAX_BYTES). @default 65536 */
  maxBatchBytes?: number;
}

/**
 * Counters of an AmqpBridge since it was created (all reconnects included). The batching factor is
 * `itemsPublished / amqpMessagesPublished`.
 */
export interface AmqpBridgeStats {
  /** `send` calls whose item was handed to the channel inside a published AMQP message. */
  itemsPublished: number;
  /** AMQP messages published on the bridge (each a batch of one or more items). */
  amqpMessagesPublished: number;
  /** Body bytes of those AMQP messages. */
  bytesPublished: number;
  /** AMQP messages consumed from this node's queue. */
  amqpMessagesReceived: number;
  /** Items in them (malformed ones included). */
  itemsReceived: number;
}

/** The sends of one batch: its AMQP message id and the broker's confirm every item waits for. */
interface OpenBatch {
  id: string;
  confirmed: Promise<void>;
}

/** One live connection with its two channels; replaced as a whole on every reconnect. */
interface Link extends KeptLink {
  pub: ConfirmChannel;
  sub: Channel;
  consumerTag: string;
  exchange: string;
  /** The fanout exchange (`broadcast`). */
  broadcast: string;
  queue: string;
  /** Last delivery not yet acked (acks are batched with `multiple`). */
  lastUnacked: ConsumeMessage | null;
  unackedCount: number;
  ackTimer: NodeJS.Immediate | undefined;
  /** Sends of the current turn, per target node, not yet published on `pub`. */
  batcher: PublishBatcher<OpenBatch>;
  /** The turn's frames (publishes, acks) leave in one write. */
  writes: BrokerWrites | null;
}

/**
 * Bridge over RabbitMQ (architecture §4): a durable direct exchange `<prefix>.bridge` and one
 * exclusive queue per node bound by node id (see topology.ts).
 *
 * - `send` coalesces: the sends to one node made in one event-loop turn are published together as
 *   one AMQP message (a batch, codec.ts) when the turn ends (`setImmediate`), or at once when the
 *   batch reaches `maxBatchItems` items or `maxBatchBytes` bytes. Each batch is published on a
 *   confirm channel with `mandatory`, and every send in it settles with the batch: it resolves on
 *   the broker's ack and rejects with UnroutableError when the broker returns the message (no
 *   queue: the node is gone), with UnavailableError when the bridge is not up, the broker is
 *   blocked or nacks (queue full), the connection drops before the confirm (published or not yet),
 *   or no confirm comes within `sendTimeoutMs` of the batch's first send (cause: TimeoutError). A
 *   send that failed may still have been delivered: at most once *per successful send*, the caller
 *   keeps custody.
 * - Messages from one bridge to one node arrive in send order (batches in order on one channel and
 *   one queue, items in order inside a batch).
 * - The consumer uses a prefetch window and acks AMQP messages in batches (`multiple`), each after
 *   handing every item it carries to the handler in order; bodies and items that do not decode are
 *   logged and dropped; a handler that throws is logged, never fatal, and the following items are
 *   still handled. Nothing is ever requeued.
 * - After the first successful `start`, a lost connection (broker restart, forced close, network)
 *   turns the state `down`, fails pending sends, and reconnects forever with capped exponential
 *   backoff with jitter, redeclaring the topology and consuming again (`connecting` → `up`).
 *   While not `up`, `send` rejects at once.
 */
export class AmqpBridge implements Bridge {
  readonly nodeId: NodeId;
  private readonly prefix: string;
  private readonly log: Logger;
  private readonly prefetch: number;
  private readonly queueMaxLength: number;
  private readonly ackBatch: number;
  private readonly maxBatchItems: number;
  private readonly maxBatchBytes: number;
  private readonly counters: AmqpBridgeStats = {
    itemsPublished: 0,
    amqpMessagesPublished: 0,
    bytesPublished: 0,
    amqpMessagesReceived: 0,
    itemsReceived: 0,
  };

  private handler: ((msg: BridgeMessage) => void) | undefined;
  private readonly keeper: ConnectionKeeper<Link>;
  private seq = 0;
  private readonly confirms: ConfirmTracker<string, NodeId>;

  constructor(opts: AmqpBridgeOptions) {
    if (typeof opts.url !== 'string' || opts.url.length === 0) throw new InvalidArgumentError('AmqpBridge: url is required');
    if (typeof opts.nodeId !== 'string' || opts.nodeId.length === 0) throw new InvalidArgumentError('AmqpBridge: nodeId is required');
    this.nodeId = opts.nodeId;
    this.prefix = opts.prefix ?? DEFAULT_AMQP_PREFIX;
    const sendTimeoutMs = opts.sendTimeoutMs ?? DEFAULT_BRIDGE_SEND_TIMEOUT_MS;
    this.prefetch = opts.prefetch ?? DEFAULT_BRIDGE_PREFETCH;
    const connectTimeoutMs = opts.connectTimeoutMs ?? DEFAULT_BRIDGE_CONNECT_TIMEOUT_MS;
    const reconnectBaseMs = opts.reconnectBaseMs ?? DEFAULT_BRIDGE_RECONNECT_BASE_MS;
    const reconnectMaxMs = opts.reconnectMaxMs ?? DEFAULT_BRIDGE_RECONNECT_MAX_MS;
    const closeTimeoutMs = opts.closeTimeoutMs ?? DEFAULT_BRIDGE_CLOSE_TIMEOUT_MS;
    this.queueMaxLength = opts.queueMaxLength ?? DEFAULT_NODE_QUEUE_MAX_LENGTH;
    const heartbeatS = opts.heartbeatS ?? DEFAULT_BRIDGE_HEARTBEAT_S;
    this.maxBatchItems = opts.maxBatchItems ?? DEFAULT_BRIDGE_BATCH_MAX_ITEMS;
    this.maxBatchBytes = opts.maxBatchBytes ?? DEFAULT_BRIDGE_BATCH_MAX_BYTES;
    requirePositiveInts('AmqpBridge', {
      maxBatchItems: this.maxBatchItems,
      maxBatchBytes: this.maxBatchBytes,
      sendTimeoutMs,
      connectTimeoutMs,
      reconnectBaseMs,
      reconnectMaxMs,
      closeTimeoutMs,
      queueMaxLength: this.queueMaxLength,
    });
    if (!isPositiveInt(this.prefetch) || this.prefetch > 65_535) {
      throw new InvalidArgumentError(`AmqpBridge: prefetch must be an integer in 1..65535, got ${this.prefetch}`);
    }
    const url = amqpUrlWithHeartbeat('AmqpBridge', opts.url, heartbeatS);
    this.ackBatch = Math.max(1, Math.floor(this.prefetch / 4));
    this.log = (opts.log ?? silentLogger()).child({ component: 'bridge', nodeId: this.nodeId });
    this.confirms = new ConfirmTracker(sendTimeoutMs, (target) => `bridge send to ${target}`);
    this.keeper = new ConnectionKeeper<Link>({
      url,
      connectionName: this.connectionName,
      connectTimeoutMs,
      closeTimeoutMs,
      reconnectBaseMs,
      reconnectMaxMs,
      log: this.log,
      wording: { conn: 'bridge', client: 'bridge', ops: 'sends', className: 'AmqpBridge' },
      confirms: this.confirms,
      setup: (conn, on) => this.setup(conn, on),
      drain: (link, left) => this.stopConsuming(link, left),
      onDrop: (link) => this.dropLink(link),
      onClosed: () => {
        this.handler = undefined;
      },
    });
  }

  get state(): BridgeState {
    return this.keeper.state;
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
  start(handler: (msg: BridgeMessage) => void): Promise<void> {
    return this.keeper.start({
      attach: () => {
        this.handler = handler;
      },
      detach: () => {
        this.handler = undefined;
      },
    });
  }

  send(target: NodeId, msg: BridgeMessage): Promise<void> {
    const link = this.keeper.usable();
    if (link instanceof UnavailableError) return Promise.reject(link);
    const body = encoded(msg);
    if (body instanceof InvalidArgumentError) return Promise.reject(body);
    // Each send gets its own promise, settled with (and like) the batch that carries it.
    return link.batcher.add(target, body).confirmed.then(settledOk);
  }

  /**
   * Publish `msg` on the fanout exchange (every node's queue, this one's too), unbatched and not
   * `mandatory`; resolves on the broker's confirm, rejects like `send` (UnavailableError).
   */
  broadcast(msg: BridgeMessage): Promise<void> {
    const link = this.keeper.usable();
    if (link instanceof UnavailableError) return Promise.reject(link);
    const body = encoded(msg);
    if (body instanceof InvalidArgumentError) return Promise.reject(body);
    const batch = this.openBatch('*' as NodeId);
    try {
      link.writes?.batch();
      link.pub.publish(link.broadcast, '', body, { messageId: batch.id }, (err) => this.confirms.confirm(batch.id, err, 'broker did not take the broadcast'));
      this.counters.amqpMessagesPublished += 1;
      this.counters.itemsPublished += 1;
      this.counters.bytesPublished += body.length;
    } catch (err) {
      this.confirms.settle(batch.id, new UnavailableError('bridge broadcast failed', { cause: err }));
    }
    return batch.confirmed.then(settledOk);
  }

  /** Counters since this bridge was created (a copy). */
  stats(): AmqpBridgeStats {
    return { ...this.counters };
  }

  onStateChange(fn: (state: BridgeState) => void): void {
    this.keeper.onStateChange(fn);
  }

  /**
   * Stop consuming, wait (up to `closeTimeoutMs`) for confirms of sends already made, delete this
   * node's queue and close the connection. Idempotent; clears every timer. New sends reject at
   * once; sends still unconfirmed at the deadline reject with UnavailableError.
   */
  close(): Promise<void> {
    return this.keeper.close();
  }

  // ---- connection management -------------------------------------------------------------

  /** Open both channels, declare the topology and consume (ConnectionKeeper `setup`). */
  private async setup(conn: ChannelModel, on: LinkHandlers): Promise<Link> {
    const pub = await conn.createConfirmChannel();
    pub.on('error', on.error('publish channel'));
    pub.on('close', on.close('publish channel closed'));
    pub.on('return', (m: Message) => this.onReturn(m));
    const sub = await conn.createChannel();
    sub.on('error', on.error('consume channel'));
    sub.on('close', on.close('consume channel closed'));
    const { exchange, queue, broadcast } = await declareBridgeTopology(sub, this.prefix, this.nodeId, this.queueMaxLength);
    await sub.prefetch(this.prefetch);
    // `live` is declared below; the batcher calls `flush` only after sends, so long after that.
    const batcher = new PublishBatcher<OpenBatch>({
      maxItems: this.maxBatchItems,
      maxBytes: this.maxBatchBytes,
      open: (target) => this.openBatch(target),
      flush: (target, items, bytes, batch) => this.publishBatch(live, target, items, bytes, batch),
    });
    const live: Link = {
      conn,
      pub,
      sub,
      consumerTag: '',
      exchange,
      broadcast,
      queue,
      lastError: undefined,
      lastUnacked: null,
      unackedCount: 0,
      ackTimer: undefined,
      dead: false,
      batcher,
      writes: BrokerWrites.of(conn),
    };
    // Deliveries may be parsed from the same socket read as consume-ok, so `live` exists first.
    live.consumerTag = (await sub.consume(queue, (m) => this.onDelivery(live, m), { noAck: false })).consumerTag;
    return live;
  }

  /** The graceful part of `close()` (ConnectionKeeper `drain`): stop consuming, await confirms, delete the queue. */
  private async stopConsuming(link: Link, left: () => number): Promise<void> {
    // Sends already accepted go out now, so the wait for confirms below covers them.
    link.batcher.flushAll();
    try {
      await withTimeout(link.sub.cancel(link.consumerTag), left(), 'bridge close step');
      this.flushAcks(link);
      await withTimeout(this.confirms.drained(), left(), 'bridge close step');
      await withTimeout(link.sub.deleteQueue(link.queue), left(), 'bridge close step');
    } catch (err) {
      this.log.warn({ err }, 'bridge close: could not stop cleanly; the queue goes with the connection');
    }
  }

  /** ConnectionKeeper `onDrop`: forget unsent acks, fail the batches that never reached the channel. */
  private dropLink(link: Link): void {
    link.lastUnacked = null;
    if (link.ackTimer !== undefined) clearImmediate(link.ackTimer);
    link.ackTimer = undefined;
    for (const batch of link.batcher.discard()) {
      this.confirms.settle(batch.id, new UnavailableError('bridge connection lost before the batch was published'));
    }
  }

  // ---- publishing --------------------------------------------------------------------------

  /** A batch opens (PublishBatcher `open`): its id and the confirm all its sends wait for. */
  private openBatch(target: NodeId): OpenBatch {
    this.seq += 1;
    const id = this.seq.toString(36);
    return { id, confirmed: this.confirms.add(id, target) };
  }

  /** Publish one batch on `link` (PublishBatcher `flush`). */
  private publishBatch(link: Link, target: NodeId, items: Buffer[], bytes: number, batch: OpenBatch): void {
    // Already failed (link lost, timed out): its sends were rejected, so it must not go out late.
    if (this.confirms.meta(batch.id) === undefined) return;
    if (link.dead) {
      this.confirms.settle(batch.id, new UnavailableError('bridge connection lost before the batch was published'));
      return;
    }
    try {
      const body = encodeBridgeBatch(items);
      link.writes?.batch();
      link.pub.publish(link.exchange, nodeRoutingKey(target), body, { mandatory: true, messageId: batch.id }, (err) =>
        this.confirms.confirm(batch.id, err, 'broker did not take the bridge message'),
      );
      this.counters.amqpMessagesPublished += 1;
      this.counters.itemsPublished += items.length;
      this.counters.bytesPublished += body.length;
      if (this.log.isLevelEnabled('trace')) this.log.trace({ node: target, items: items.length, bytes }, 'bridge batch published');
    } catch (err) {
      // amqplib throws synchronously when the channel is already closing.
      this.confirms.settle(batch.id, new UnavailableError('bridge publish failed', { cause: err }));
    }
  }

  private onReturn(m: Message): void {
    const id: unknown = m.properties.messageId;
    if (typeof id !== 'string') return;
    const target = this.confirms.meta(id);
    if (target === undefined) return;
    this.confirms.settle(id, new UnroutableError(`no queue for node ${target}`));
  }

  // ---- consuming ---------------------------------------------------------------------------

  private onDelivery(link: Link, m: ConsumeMessage | null): void {
    if (m === null) {
      // The broker cancelled our consumer (queue deleted from outside): rebuild everything.
      this.keeper.lost(link, 'consumer cancelled by broker');
      return;
    }
    if (link.dead) return;
    this.counters.amqpMessagesReceived += 1;
    let items: Buffer[] = [];
    try {
      items = splitBridgeBody(m.content);
    } catch (err) {
      this.log.warn({ err, bytes: m.content.length }, 'malformed bridge message dropped');
    }
    this.counters.itemsReceived += items.length;
    // Every item gets what a lone message got before batching: decoded, handed over, errors logged.
    for (const item of items) this.handleItem(item);
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

  private handleItem(body: Buffer): void {
    let msg: BridgeMessage;
    try {
      msg = decodeBridgeMessage(body);
    } catch (err) {
      this.log.warn({ err, bytes: body.length }, 'malformed bridge message dropped');
      return;
    }
    if (this.handler === undefined) return;
    try {
      this.handler(msg);
    } catch (err) {
      this.log.error({ err, type: msg.type }, 'bridge message handler threw; message dropped');
    }
  }

  /** Ack everything delivered so far on `link` with one `multiple` ack. */
  private flushAcks(link: Link): void {
    const m = link.lastUnacked;
    link.lastUnacked = null;
    link.unackedCount = 0;
    if (m === null || link.dead) return;
    try {
      link.writes?.batch();
      link.sub.ack(m, true);
    } catch (err) {
      // The channel is closing; its close handler reconnects. The messages are not redelivered
      // (the exclusive queue dies with the connection), which at-most-once allows.
      this.log.debug({ err }, 'bridge ack failed');
    }
  }
}

function settledOk(): void {}

/** `msg` on the wire, or the error `send` and `broadcast` reject with when it cannot be encoded. */
function encoded(msg: BridgeMessage): Buffer | InvalidArgumentError {
  try {
    return encodeBridgeMessage(msg);
  } catch (err) {
    return new InvalidArgumentError('bridge message cannot be encoded', { cause: err });
  }
}
