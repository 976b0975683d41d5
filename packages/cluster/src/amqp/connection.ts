import { performance } from 'node:perf_hooks';
import { connect, type ChannelModel } from 'amqplib';
import {
  ChurnMap,
  InvalidArgumentError,
  TimeoutError,
  UnavailableError,
  backoffMs,
  withTimeout,
  type Logger,
} from '@switchboard/core';
import { destroyBrokerSocket } from './amqplib-internals.js';

/**
 * Pieces shared by the RabbitMQ clients in this folder (AmqpBridge, AmqpEventsPublisher): option
 * checks, the connection URL, the reconnect delay, the bookkeeping of publisher confirms
 * (ConfirmTracker) and the connection lifecycle (ConnectionKeeper). What reaches into amqplib's
 * internals (the hung-broker escape hatch, write batching) is in amqplib-internals.ts.
 */

/** True for an integer > 0. */
export function isPositiveInt(n: number): boolean {
  return Number.isInteger(n) && n > 0;
}

/** Throw InvalidArgumentError (`<owner>: <name> must be a positive integer, got <v>`) for the first bad value. */
export function requirePositiveInts(owner: string, values: Readonly<Record<string, number>>): void {
  for (const [name, v] of Object.entries(values)) {
    if (!isPositiveInt(v)) throw new InvalidArgumentError(`${owner}: ${name} must be a positive integer, got ${v}`);
  }
}

/**
 * Validate an `amqp:`/`amqps:` URL, or a comma-separated list of them (the nodes of one RabbitMQ
 * cluster, `IM_AMQP_URL`), and return it (each of them) with a `heartbeat` query parameter (seconds),
 * unless it already has one; a list comes back comma-separated, in the same order. Throws
 * InvalidArgumentError naming `owner`.
 */
export function amqpUrlWithHeartbeat(owner: string, raw: unknown, heartbeatS: number): string {
  if (typeof raw !== 'string' || raw.length === 0) throw new InvalidArgumentError(`${owner}: url is required`);
  if (!Number.isInteger(heartbeatS) || heartbeatS < 0) {
    throw new InvalidArgumentError(`${owner}: heartbeatS must be a non-negative integer, got ${heartbeatS}`);
  }
  const list = splitBrokerUrls(raw);
  if (list.length === 0) throw new InvalidArgumentError(`${owner}: url is required`);
  return list.map((one) => oneUrlWithHeartbeat(owner, one, heartbeatS)).join(',');
}

function oneUrlWithHeartbeat(owner: string, raw: string, heartbeatS: number): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch (err) {
    throw new InvalidArgumentError(`${owner}: url is not a valid URL`, { cause: err });
  }
  if (url.protocol !== 'amqp:' && url.protocol !== 'amqps:') {
    throw new InvalidArgumentError(`${owner}: url must use amqp: or amqps:, got ${url.protocol}`);
  }
  if (!url.searchParams.has('heartbeat')) url.searchParams.set('heartbeat', String(heartbeatS));
  return url.toString();
}

/** The brokers of an `IM_AMQP_URL`: its comma-separated entries, trimmed, empty ones dropped. */
export function splitBrokerUrls(raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** `host:port` of a broker URL, for logs (never the credentials). */
export function brokerAddress(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || (u.protocol === 'amqps:' ? '5671' : '5672')}`;
  } catch {
    return '<unparsable url>';
  }
}

/**
 * The timer of a reconnect loop: one pending attempt at a time, each scheduled after a capped
 * exponential delay with jitter (`backoffMs`: attempt n waits between half and all of
 * `min(maxMs, baseMs * 2^n)`). `reset()` after a success starts the next outage from `baseMs`
 * again. The timer is unref'd: a reconnect loop never keeps the process alive.
 */
export class ReconnectTimer {
  private timer: NodeJS.Timeout | undefined;
  private _attempt = 0;

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
  ) {}

  /** Attempts scheduled since the last `reset()`. */
  get attempt(): number {
    return this._attempt;
  }

  /** Whether an attempt is scheduled and not yet run. */
  get pending(): boolean {
    return this.timer !== undefined;
  }

  /**
   * Run `fn` after the next delay. Returns the delay in ms, or `undefined` (and does nothing) when
   * an attempt is already pending.
   */
  schedule(fn: () => void): number | undefined {
    if (this.timer !== undefined) return undefined;
    const wait = backoffMs(this._attempt, this.baseMs, this.maxMs);
    this._attempt += 1;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      fn();
    }, wait);
    this.timer.unref();
    return wait;
  }

  /** The connection is back: the next outage starts from the first delay. */
  reset(): void {
    this._attempt = 0;
  }

  /** Drop the pending attempt, if any. */
  cancel(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

interface PendingConfirm<M> {
  resolve: () => void;
  reject: (err: Error) => void;
  /** performance.now() deadline; entries sit in the Map in deadline order (one timeout for all). */
  deadline: number;
  meta: M;
}

/**
 * Publishes awaiting the broker's confirm, keyed by the caller's id (`K`), each with what the
 * caller needs to know about it (`M`). `add` returns the promise the caller hands out: it resolves
 * on the broker's ack and rejects on a nack (`confirm`), on `settle` with an error, on `failAll`,
 * or with UnavailableError (cause TimeoutError naming `describe(meta)`) once `timeoutMs` passed
 * without a confirm. Deadlines are checked by an unref'd sweep every quarter of `timeoutMs`
 * (clamped to 10..250 ms) that runs only while something is pending.
 */
export class ConfirmTracker<K, M> {
  /** One entry per unconfirmed publish (a message each): a ChurnMap. */
  private readonly pending = new ChurnMap<K, PendingConfirm<M>>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private drainWaiters: Array<() => void> = [];

  /**
   * @param timeoutMs how long a publish waits for its confirm
   * @param describe names a publish in the timeout's cause: `<describe(meta)> timed out`
   */
  constructor(
    private readonly timeoutMs: number,
    private readonly describe: (meta: M) => string,
  ) {}

  /** Publishes awaiting a confirm. */
  get size(): number {
    return this.pending.size;
  }

  /** What was registered with `key`, while it is pending. */
  meta(key: K): M | undefined {
    return this.pending.get(key)?.meta;
  }

  /** Start waiting for the confirm of the publish `key` (unique per tracker). */
  add(key: K, meta: M): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.set(key, { resolve, reject, deadline: performance.now() + this.timeoutMs, meta });
      if (this.sweepTimer === undefined) {
        this.sweepTimer = setInterval(() => this.sweep(), Math.min(250, Math.max(10, this.timeoutMs >> 2)));
        this.sweepTimer.unref();
      }
    });
  }

  /** The broker's confirm callback: no error resolves; a nack rejects with UnavailableError(`refused`). */
  confirm(key: K, err: unknown, refused: string): void {
    if (err === null || err === undefined) this.settle(key, null);
    else this.settle(key, new UnavailableError(refused, { cause: err }));
  }

  /** Resolve (`err` null) or reject `key`; a no-op when it is no longer pending. */
  settle(key: K, err: Error | null): void {
    const p = this.pending.get(key);
    if (p === undefined) return;
    this.pending.delete(key);
    if (err === null) p.resolve();
    else p.reject(err);
    if (this.pending.size === 0) {
      this.stopSweep();
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Reject everything pending with `err` (connection lost, client closed). */
  failAll(err: Error): void {
    for (const key of [...this.pending.keys()]) this.settle(key, err);
    this.stopSweep();
  }

  /** Resolves once nothing is pending (never rejects; bound it with a timeout). */
  drained(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private sweep(): void {
    const now = performance.now();
    for (const [key, p] of this.pending) {
      if (p.deadline > now) break;
      this.settle(
        key,
        new UnavailableError(`no broker confirm within ${this.timeoutMs} ms`, {
          cause: new TimeoutError(`${this.describe(p.meta)} timed out`),
        }),
      );
    }
    if (this.pending.size === 0) this.stopSweep();
  }

  private stopSweep(): void {
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }
}

/** What every link of a ConnectionKeeper carries; each client adds its channels. */
export interface KeptLink {
  conn: ChannelModel;
  /** Last error the connection or a channel reported, for the log line when it goes away. */
  lastError: Error | undefined;
  /** Set once the link is dropped: whatever it reports afterwards is ignored. */
  dead: boolean;
}

/** `connecting` until the first start succeeds or while reconnecting, `up`, `down` between attempts, `closed`. */
export type KeeperState = 'connecting' | 'up' | 'down' | 'closed';

/** The words a ConnectionKeeper puts into its errors and log lines, so each client keeps its own. */
export interface KeeperWording {
  /** The connection, e.g. `'bridge'`: "bridge connection lost; reconnecting", "bridge reconnect failed". */
  conn: string;
  /** The client, e.g. `'events publisher'`: "events publisher is down", "events publisher closed". */
  client: string;
  /** What the client's callers do, e.g. `'sends'`: "…; sends fail until unblocked". */
  ops: string;
  /** Class name for "<className>.start called twice". */
  className: string;
}

/** Listener factories `setup` attaches to the channels it opens. */
export interface LinkHandlers {
  /** An `error` listener: remembers the error for the close that follows and logs it at debug. */
  error(what: string): (err: Error) => void;
  /** A `close` listener: once the link is live, it is lost (`why` is logged); during setup, setup fails. */
  close(why: string): (err?: Error) => void;
}

export interface ConnectionKeeperOptions<L extends KeptLink> {
  /**
   * Validated URL, heartbeat included (see amqpUrlWithHeartbeat), or a comma-separated list of them:
   * the nodes of one RabbitMQ cluster, tried in turn (see ConnectionKeeper).
   */
  url: string;
  /** Client-provided connection name the broker shows. */
  connectionName: string;
  /** Limit for opening the TCP connection plus the AMQP handshake. */
  connectTimeoutMs: number;
  /** Limit for `close()` talking to the broker (`drain` plus connection close). */
  closeTimeoutMs: number;
  /** First reconnect delay ceiling (see ReconnectTimer). */
  reconnectBaseMs: number;
  /** Cap of the reconnect delay. */
  reconnectMaxMs: number;
  /** The client's (child) logger. */
  log: Logger;
  wording: KeeperWording;
  /** The client's pending confirms: failed when the link is lost or the client closes. */
  confirms: { failAll(err: Error): void };
  /** Extra fields of the "<client> up" log line. */
  upFields?: Record<string, unknown>;
  /**
   * Open the channels and declare the topology on a fresh connection, attaching `on.error(...)` and
   * `on.close(...)` to every channel, and return the link (`lastError: undefined, dead: false`).
   * Rejecting fails this attempt (the connection is closed).
   */
  setup(conn: ChannelModel, on: LinkHandlers): Promise<L>;
  /** The graceful part of `close()` before the connection closes; `left()` is the time left in ms. Must not reject. */
  drain(link: L, left: () => number): Promise<void>;
  /** Extra clean-up when a link is dropped (lost or closed). */
  onDrop?(link: L): void;
  /** Runs once at the end of `close()`, after pending confirms were failed. */
  onClosed?(): void;
}

/**
 * One RabbitMQ connection kept alive for a client: `start` connects once (fail fast at boot: no
 * retry before the first success, `start` may be called again); after that a lost connection turns
 * the state `down`, fails the pending confirms and reconnects forever with capped exponential
 * backoff with jitter (ReconnectTimer), running `setup` again each time. Tracks the broker's
 * `blocked`/`unblocked`.
 *
 * With several brokers (`url` a list), each attempt walks the list once, from the broker after the
 * one last lost (from the first at start), and takes the first that accepts the connection and on
 * which `setup` succeeds; `setup` thus declares the client's queues again on the broker reached. The
 * attempt fails (and backs off) only when every broker refused. `broker` says which one is in use.
 * `close()` is idempotent: it stops reconnecting, waits for a connect in
 * progress, runs `drain`, closes the connection (dropping the socket of a hung broker) within
 * `closeTimeoutMs`, and fails what is still pending.
 */
export class ConnectionKeeper<L extends KeptLink> {
  private _state: KeeperState = 'connecting';
  private readonly listeners: Array<(s: KeeperState) => void> = [];
  private _link: L | undefined;
  private started = false;
  private closing = false;
  private closed: Promise<void> | undefined;
  private connecting: Promise<void> | undefined;
  private blockedReason: string | undefined;
  private readonly reconnect: ReconnectTimer;
  private readonly log: Logger;
  private readonly w: KeeperWording;
  private readonly urls: string[];
  /** Index in `urls` of the broker of the live link, or of the first to try next. */
  private brokerIndex = 0;

  constructor(private readonly opts: ConnectionKeeperOptions<L>) {
    this.urls = splitBrokerUrls(opts.url);
    if (this.urls.length === 0) throw new InvalidArgumentError(`${opts.wording.className}: url is required`);
    this.reconnect = new ReconnectTimer(opts.reconnectBaseMs, opts.reconnectMaxMs);
    this.log = opts.log;
    this.w = opts.wording;
  }

  get state(): KeeperState {
    return this._state;
  }

  /** `host:port` of the broker in use (or to be tried next), and its place in the list. */
  get broker(): { address: string; index: number; of: number } {
    return { address: brokerAddress(this.urls[this.brokerIndex] as string), index: this.brokerIndex, of: this.urls.length };
  }

  /** Called on every state change (not for the initial `connecting`). A listener that throws is logged. */
  onStateChange(fn: (state: KeeperState) => void): void {
    this.listeners.push(fn);
  }

  /** The live link when the client may publish now; otherwise the UnavailableError to reject with (not `up`, or blocked). */
  usable(): L | UnavailableError {
    const link = this._link;
    if (this._state !== 'up' || link === undefined) return new UnavailableError(`${this.w.client} is ${this._state}`);
    if (this.blockedReason !== undefined) {
      return new UnavailableError(`broker blocked the ${this.w.conn} connection: ${this.blockedReason}`);
    }
    return link;
  }

  /**
   * Connect once. Rejects with UnavailableError when closed, when the broker cannot be reached or
   * `setup` fails (the state turns `down`), and with InvalidArgumentError when already started.
   * `attach` runs after those checks, before connecting; `detach` when the connect fails.
   */
  async start(hooks: { attach?: () => void; detach?: () => void } = {}): Promise<void> {
    if (this.closing) throw new UnavailableError(`${this.w.client} is closed`);
    if (this.started) throw new InvalidArgumentError(`${this.w.className}.start called twice`);
    this.started = true;
    hooks.attach?.();
    this.setState('connecting');
    try {
      await this.connectOnce();
    } catch (err) {
      this.started = false;
      hooks.detach?.();
      if (!this.closing) this.setState('down');
      throw err instanceof UnavailableError ? err : new UnavailableError(`${this.w.client} cannot connect to RabbitMQ`, { cause: err });
    }
  }

  close(): Promise<void> {
    this.closed ??= this.doClose();
    return this.closed;
  }

  /** A live link died: fail its confirms, go `down`, schedule a reconnect. Stale links are ignored. */
  lost(link: L, why: string, closeErr?: Error): void {
    if (link.dead) return;
    const err = closeErr ?? link.lastError;
    this.dropLink(link);
    if (this.closing) return;
    const from = this.broker.address;
    // The broker that dropped us may be the one that is gone: the next attempt starts after it.
    this.brokerIndex = (this.brokerIndex + 1) % this.urls.length;
    this.log.warn({ err, why, broker: from }, `${this.w.conn} connection lost; reconnecting`);
    // Usually the connection is closed already (that is how the link was lost) and close() rejects
    // with amqplib's IllegalOperationError; what went wrong is in the warning above.
    link.conn.close().catch(() => undefined);
    this.opts.confirms.failAll(new UnavailableError(`${this.w.conn} connection lost (${why})`, { cause: err }));
    this.setState('down');
    this.scheduleReconnect();
  }

  private async doClose(): Promise<void> {
    this.closing = true;
    this.reconnect.cancel();
    const wasUp = this._state === 'up';
    this.setState('closed');
    // Only waiting for it to end: its failure goes to its own caller (start() rejects with it; the
    // reconnect loop has nothing to retry once closing).
    if (this.connecting !== undefined) await this.connecting.catch(() => undefined);
    const link = this._link;
    if (link !== undefined) {
      const deadline = performance.now() + this.opts.closeTimeoutMs;
      const left = (): number => Math.max(1, deadline - performance.now());
      await this.opts.drain(link, left);
      this.dropLink(link);
      await withTimeout(link.conn.close(), left(), `${this.w.conn} close: connection close`).catch((err: unknown) => {
        this.log.debug({ err }, `${this.w.conn} close: connection close failed; dropping the socket`);
        destroyBrokerSocket(link.conn);
      });
    }
    this.opts.confirms.failAll(new UnavailableError(`${this.w.client} closed`));
    this.opts.onClosed?.();
    if (wasUp || link !== undefined) this.log.info(`${this.w.client} closed`);
  }

  private connectOnce(): Promise<void> {
    const p = this.openLink().finally(() => {
      if (this.connecting === p) this.connecting = undefined;
    });
    this.connecting = p;
    return p;
  }

  /** One attempt: each broker once, from `brokerIndex` on; rejects with the last broker's error. */
  private async openLink(): Promise<void> {
    let lastErr: unknown;
    for (let i = 0; i < this.urls.length; i++) {
      if (this.closing) break;
      const index = (this.brokerIndex + i) % this.urls.length;
      try {
        await this.openLinkTo(index);
        return;
      } catch (err) {
        lastErr = err;
        if (this.urls.length > 1) this.log.debug({ err, broker: brokerAddress(this.urls[index] as string) }, `${this.w.conn} broker unreachable; trying the next`);
      }
    }
    throw lastErr ?? new UnavailableError(`${this.w.client} closed while connecting`);
  }

  private async openLinkTo(index: number): Promise<void> {
    const conn = await connect(this.urls[index] as string, {
      timeout: this.opts.connectTimeoutMs,
      noDelay: true,
      clientProperties: { connection_name: this.opts.connectionName },
    });
    let link: L | undefined;
    let lastError: Error | undefined;
    // Until the link is live, a drop is remembered here (and the awaited calls in `setup` reject);
    // afterwards it goes to `lost`.
    let gone: string | undefined;
    const on: LinkHandlers = {
      error: (what) => (err) => {
        if (link !== undefined) link.lastError = err;
        else lastError = err;
        this.log.debug({ err }, `${this.w.conn} ${what} error`);
      },
      close: (why) => (err) => {
        if (link !== undefined) this.lost(link, why, err);
        else {
          gone ??= why;
          lastError = err ?? lastError;
        }
      },
    };
    const current = (): boolean => link === undefined || this._link === link;
    try {
      if (this.closing) throw new UnavailableError(`${this.w.client} closed while connecting`);
      this.blockedReason = undefined;
      conn.on('error', on.error('connection'));
      conn.on('close', on.close('connection closed'));
      conn.on('blocked', (reason: string) => {
        if (!current()) return;
        this.blockedReason = reason;
        this.log.warn({ reason }, `broker blocked the ${this.w.conn} connection; ${this.w.ops} fail until unblocked`);
      });
      conn.on('unblocked', () => {
        if (!current()) return;
        this.blockedReason = undefined;
        this.log.info(`broker unblocked the ${this.w.conn} connection`);
      });
      const live = await this.opts.setup(conn, on);
      if (this.closing) {
        live.dead = true;
        throw new UnavailableError(`${this.w.client} closed while connecting`);
      }
      if (gone !== undefined) {
        // The connection died between the last reply and now: do not report a dead link as up.
        live.dead = true;
        throw new UnavailableError(`${this.w.conn} connection lost during setup (${gone})`, { cause: lastError });
      }
      link = live;
      this._link = live;
      this.brokerIndex = index;
      this.reconnect.reset();
      this.setState('up');
    } catch (err) {
      // `err` is what the caller hears; closing fails when the connection already died, which is
      // often why setup failed.
      await conn.close().catch(() => undefined);
      throw err;
    }
  }

  private dropLink(link: L): void {
    link.dead = true;
    this.opts.onDrop?.(link);
    if (this._link === link) this._link = undefined;
  }

  private scheduleReconnect(): void {
    if (this.closing) return;
    const wait = this.reconnect.schedule(() => {
      if (this.closing) return;
      this.setState('connecting');
      const attempts = this.reconnect.attempt;
      this.connectOnce().then(
        () => this.log.info({ attempts }, `${this.w.client} reconnected`),
        (err: unknown) => {
          if (this.closing) return;
          this.log.warn({ err, attempt: this.reconnect.attempt }, `${this.w.conn} reconnect failed`);
          this.setState('down');
          this.scheduleReconnect();
        },
      );
    });
    if (wait !== undefined) this.log.debug({ attempt: this.reconnect.attempt, delayMs: wait }, `${this.w.conn} reconnect scheduled`);
  }

  private setState(s: KeeperState): void {
    if (this._state === s || this._state === 'closed') return;
    this._state = s;
    if (s === 'up') {
      const where = this.urls.length > 1 ? { broker: this.broker.address } : {};
      if (this.opts.upFields !== undefined || this.urls.length > 1) this.log.info({ ...this.opts.upFields, ...where }, `${this.w.client} up`);
      else this.log.info(`${this.w.client} up`);
    }
    for (const fn of this.listeners) {
      try {
        fn(s);
      } catch (err) {
        this.log.error({ err }, `${this.w.conn} state listener threw`);
      }
    }
  }
}
