import {
  ackPacket,
  dataPacket,
  decodePacket,
  encodePacket,
  ErrorCode,
  CloseCode,
  KickoutCode,
  keepAlivePacket,
  loginPacket,
  parseErrorResponse,
  parseKickoutInfo,
  parseLoginResponse,
  PacketType,
  SENSE_MODES,
  SERVER_UID,
  UNSET_UID,
  createPacket,
  type Packet,
  type SenseMode,
} from '@switchboard/protocol';
import * as D from './defaults.js';
import type { ReconnectPolicy } from './defaults.js';
import { fetchDispatch, reconnectDelayMs, type FetchLike } from './dispatch.js';
import { DedupeWindow } from './dedupe.js';
import { Emitter } from './emitter.js';
import { ClientError, ClientErrorCode, LossReason, MessageLostError } from './errors.js';
import { newFingerprint } from './ids.js';
import { webSocketTransport, type CloseInfo, type Connection, type ServerTarget, type Transport } from './transport.js';

/**
 * Lifecycle of a client.
 * - `idle`: created, `connect()` not called yet.
 * - `connecting`: first dispatch → connect → login in progress (retried with backoff on failure).
 * - `online`: logged in; messages flow.
 * - `reconnecting`: the link was lost; dispatch → connect → re-login attempts with backoff.
 * - `kicked`: the server kicked this session (duplicate login, admin). Terminal: no reconnect.
 * - `rejected`: the server refused the login (bad token…). Terminal.
 * - `closed`: `close()` was called, or the server closed with a terminal code. Terminal.
 */
export type ClientState = 'idle' | 'connecting' | 'online' | 'reconnecting' | 'kicked' | 'rejected' | 'closed';

/** A message received from a peer (or from the server, `from: "0"`). */
export interface IncomingMessage {
  /** Fingerprint; null for a non-QoS message. */
  fp: string | null;
  from: string;
  to: string;
  content: string;
  typeu: number;
  qos: boolean;
  /** Server timestamp (`sm`, ms) when the server set one, else null. */
  serverTime: number | null;
  /** Local time it arrived, ms since epoch. */
  receivedAt: number;
}

/** What `send()` resolves with. */
export interface SendResult {
  /** Fingerprint of the message; null for a non-QoS message. */
  fp: string | null;
  /** True when the server acked it (QoS): the receiver acked it, or it is stored offline for the receiver. */
  acked: boolean;
}

export interface SendOptions {
  /** Ask for an ack, resend and report loss (MobileIMSDK QoS). @default true */
  qos?: boolean;
  /** Application message type. @default -1 (undefined) */
  typeu?: number;
  /** Use this fingerprint instead of a new one (QoS only); must not be pending already. */
  fp?: string;
}

/** Events, discriminated on `type`. */
export type ClientEvent =
  | { type: 'state'; state: ClientState; previous: ClientState; reason: string | null }
  | { type: 'login'; uid: string; node: string | null; firstLoginTime: number; relogin: boolean }
  | { type: 'reconnect'; attempt: number; delayMs: number; error: ClientError | null }
  | { type: 'message'; message: IncomingMessage }
  | { type: 'acked'; fp: string; to: string }
  | { type: 'lost'; fp: string; to: string; content: string; typeu: number; reason: LossReason; error: MessageLostError }
  | { type: 'receipt'; fp: string; from: string }
  | { type: 'kicked'; code: number; reason: string | null }
  | { type: 'error'; error: ClientError }
  | { type: 'ping' }
  | { type: 'pong' };
export type ClientEventType = ClientEvent['type'];

/** Sense-mode timings the client uses (override for tests; otherwise from the sense mode). */
export interface KeepAliveTimings {
  /** Keepalive (type 1) interval, ms. */
  intervalMs: number;
  /** Link lost after this long without hearing from the server, ms. */
  timeoutMs: number;
}

export interface QosOptions {
  /** @default DEFAULT_QOS_CHECK_INTERVAL_MS (5000) */
  checkIntervalMs?: number;
  /** @default DEFAULT_QOS_JUST_SENT_MS (3000) */
  justSentMs?: number;
  /** @default DEFAULT_QOS_MAX_RETRIES (2) */
  maxRetries?: number;
  /** @default DEFAULT_QOS_RESEND_GRACE_MS (6000) */
  resendGraceMs?: number;
}

export interface ClientOptions {
  /** The user to log in as. */
  uid: string;
  /** Login token (`loginToken`): a JWT with `IM_AUTH=jwt`. */
  token?: string | null;
  /** Opaque app data sent with the login (`extra`). */
  extra?: string | null;
  /**
   * Dispatch origin, e.g. `http://127.0.0.1:8080`: every connect and reconnect asks it for a live
   * gateway. Either this or `server` is required.
   */
  dispatchUrl?: string;
  /** A fixed gateway (no dispatch), e.g. a plain MobileIMSDK server. */
  server?: { ws?: string; tcp?: { host: string; port: number } };
  /** How to open connections. @default the global WebSocket (`webSocketTransport()`) */
  transport?: Transport;
  /** Heartbeat mode; @default dispatch's, else DEFAULT_SENSE_MODE ('15S') */
  senseMode?: SenseMode;
  /** Explicit keepalive timings (tests); wins over `senseMode`. */
  keepAlive?: KeepAliveTimings;
  /** @default DEFAULT_KEEPALIVE_CHECK_INTERVAL_MS (2000), capped to the keepalive interval */
  keepAliveCheckIntervalMs?: number;
  /** Reconnect backoff; @default dispatch's, else DEFAULT_RECONNECT_POLICY. Set fields win over dispatch's. */
  reconnect?: Partial<ReconnectPolicy>;
  qos?: QosOptions;
  /** @default DEFAULT_DEDUPE_TTL_MS (10 min) */
  dedupeTtlMs?: number;
  /**
   * Send a delivery receipt (a QoS message of type `receiptTypeu` whose content is the fingerprint)
   * for every QoS message received from a peer, so its sender can show "delivered" even when the
   * message waited in the offline queue. Peers that are not Switchboard SDKs would see receipts as
   * messages, hence off by default. Received receipts are always reported as `receipt` events.
   * @default false
   */
  sendReceipts?: boolean;
  /** @default DEFAULT_RECEIPT_TYPEU (-101) */
  receiptTypeu?: number;
  /** A `firstLoginTime` saved from an earlier session of this device (0 = first login). @default 0 */
  firstLoginTime?: number;
  /** @default DEFAULT_CONNECT_TIMEOUT_MS */
  connectTimeoutMs?: number;
  /** @default DEFAULT_LOGIN_TIMEOUT_MS */
  loginTimeoutMs?: number;
  /** @default DEFAULT_DISPATCH_TIMEOUT_MS */
  dispatchTimeoutMs?: number;
  /** @default globalThis.fetch */
  fetch?: FetchLike;
  /** @default Math.random (backoff jitter) */
  random?: () => number;
}

interface Pending {
  fp: string;
  to: string;
  content: string;
  typeu: number;
  text: string;
  firstSentAt: number;
  /** Last real transmission, null while it waits for a connection. */
  lastSentAt: number | null;
  /** Resends counted by the QoS tick (MobileIMSDK counts them whether or not the write worked). */
  retries: number;
  /** Resent since the last reconnect: the loss verdict waits `resendGraceMs` after that. */
  resentAfterReconnect: boolean;
  /** Receipts are SDK-internal: no acked/lost events for them. */
  internal: boolean;
  resolve: (r: SendResult) => void;
  reject: (err: MessageLostError) => void;
}

const TERMINAL: ReadonlySet<ClientState> = new Set(['kicked', 'rejected', 'closed']);
/** Login codes that mean "the server could not check now", not "no": retried with backoff. */
const RETRYABLE_LOGIN_CODES: ReadonlySet<number> = new Set([ErrorCode.UNAVAILABLE, ErrorCode.AUTH_UNAVAILABLE]);
/** Error codes whose packet names the fingerprint of a message the server will never deliver. */
const FATAL_MESSAGE_ERRORS: ReadonlySet<number> = new Set([
  ErrorCode.OFFLINE_QUEUE_FULL,
  ErrorCode.REJECTED,
  ErrorCode.MESSAGE_TOO_LARGE,
]);

/**
 * A Switchboard / MobileIMSDK v6 client: dispatch → connect → login → keepalive → link-loss
 * detection → reconnect with backoff through dispatch → re-login with the saved `firstLoginTime`.
 * QoS sends resolve on the ack and reject when the message is lost; received messages are acked
 * and deduplicated for 10 minutes. Works in browsers (native WebSocket) and in Node
 * (`@switchboard/client/node`: `ws` or TCP).
 */
export class SwitchboardClient {
  readonly uid: string;
  private readonly opts: ClientOptions;
  private readonly events = new Emitter<ClientEvent>();
  private readonly transport: Transport;
  private readonly pending = new Map<string, Pending>();
  private readonly dedupe: DedupeWindow;
  private readonly qos: Required<QosOptions>;
  private readonly receiptTypeu: number;

  private _state: ClientState = 'idle';
  private _node: string | null = null;
  private _firstLoginTime: number;
  private senseMode: SenseMode;
  private policy: ReconnectPolicy;

  private conn: Connection | null = null;
  /** Increments with every attempt; callbacks of older attempts are ignored. */
  private gen = 0;
  private attempt = 0;
  private everOnline = false;
  private lastHeardAt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private keepAliveTimer: ReturnType<typeof setInterval> | null = null;
  private checkTimer: ReturnType<typeof setInterval> | null = null;
  private qosTimer: ReturnType<typeof setInterval> | null = null;
  private loginWaiter: { gen: number; resolve: (p: Packet) => void; reject: (e: ClientError) => void } | null = null;
  private connectWaiters: Array<{ resolve: () => void; reject: (e: ClientError) => void }> = [];
  private terminalError: ClientError | null = null;

  constructor(opts: ClientOptions) {
    if (typeof opts.uid !== 'string' || opts.uid.length === 0 || opts.uid === SERVER_UID || opts.uid === UNSET_UID) {
      throw new ClientError(ClientErrorCode.INVALID_ARGUMENT, 'uid must be a non-empty user id other than "0" and "-1"');
    }
    if (!opts.dispatchUrl && !opts.server) {
      throw new ClientError(ClientErrorCode.INVALID_ARGUMENT, 'give either dispatchUrl or server');
    }
    this.opts = opts;
    this.uid = opts.uid;
    this.transport = opts.transport ?? webSocketTransport();
    this.dedupe = new DedupeWindow(opts.dedupeTtlMs ?? D.DEFAULT_DEDUPE_TTL_MS);
    this.qos = {
      checkIntervalMs: opts.qos?.checkIntervalMs ?? D.DEFAULT_QOS_CHECK_INTERVAL_MS,
      justSentMs: opts.qos?.justSentMs ?? D.DEFAULT_QOS_JUST_SENT_MS,
      maxRetries: opts.qos?.maxRetries ?? D.DEFAULT_QOS_MAX_RETRIES,
      resendGraceMs: opts.qos?.resendGraceMs ?? D.DEFAULT_QOS_RESEND_GRACE_MS,
    };
    this.receiptTypeu = opts.receiptTypeu ?? D.DEFAULT_RECEIPT_TYPEU;
    this._firstLoginTime = opts.firstLoginTime && opts.firstLoginTime > 0 ? opts.firstLoginTime : 0;
    this.senseMode = opts.senseMode ?? (D.DEFAULT_SENSE_MODE as SenseMode);
    this.policy = { ...D.DEFAULT_RECONNECT_POLICY, ...opts.reconnect };
  }

  /** Current lifecycle state. */
  get state(): ClientState {
    return this._state;
  }

  /** Node id of the gateway this client is (or was last) connected to, when dispatch told it. */
  get node(): string | null {
    return this._node;
  }

  /** The `firstLoginTime` the server gave the first login (0 before it); sent with every re-login. */
  get firstLoginTime(): number {
    return this._firstLoginTime;
  }

  /** QoS messages sent and not yet acked or lost (delivery receipts included). */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Fingerprints of the pending QoS messages, oldest first. */
  pendingFingerprints(): string[] {
    return [...this.pending.values()].filter((p) => !p.internal).map((p) => p.fp);
  }

  /** Subscribe to one event type. Returns the unsubscribe function. */
  on<K extends ClientEventType>(type: K, fn: (e: Extract<ClientEvent, { type: K }>) => void): () => void {
    return this.events.on(type, fn);
  }

  /** Subscribe to the next event of a type. */
  once<K extends ClientEventType>(type: K, fn: (e: Extract<ClientEvent, { type: K }>) => void): () => void {
    return this.events.once(type, fn);
  }

  /** Subscribe to every event. */
  onAny(fn: (e: ClientEvent) => void): () => void {
    return this.events.onAny(fn);
  }

  /**
   * Start: dispatch, connect, log in. Resolves once online. Network failures (dispatch or gateway
   * unreachable) are retried with backoff while this promise waits; it rejects only when the login
   * is refused (`LOGIN_REJECTED`), the session is kicked, or `close()` is called first.
   * Calling it again while online resolves at once.
   */
  connect(): Promise<void> {
    if (this._state === 'online') return Promise.resolve();
    if (TERMINAL.has(this._state)) {
      return Promise.reject(this.terminalError ?? new ClientError(ClientErrorCode.CLOSED, `client is ${this._state}`));
    }
    const p = new Promise<void>((resolve, reject) => this.connectWaiters.push({ resolve, reject }));
    if (this._state === 'idle') {
      this.setState('connecting', null);
      this.qosTimer = setInterval(() => this.qosTick(), this.qos.checkIntervalMs);
      void this.runAttempt();
    }
    return p;
  }

  /**
   * Send `content` to user `to` (`"0"` = the server, C2S). With QoS (the default) the promise
   * resolves when the server acks — the receiver acked it or it is stored offline for it — and
   * rejects with `MessageLostError` when it is lost (no ack after MobileIMSDK's retries, refused by
   * the server, or the client was kicked or closed first). Messages sent while reconnecting wait
   * and go out after the re-login. Without QoS it resolves once written, and rejects with
   * `NOT_CONNECTED` when offline.
   */
  send(to: string, content: string, opts: SendOptions = {}): Promise<SendResult> {
    if (typeof to !== 'string' || to.length === 0 || to === UNSET_UID) {
      return Promise.reject(new ClientError(ClientErrorCode.INVALID_ARGUMENT, 'to must be a user id ("0" for the server)'));
    }
    if (typeof content !== 'string') return Promise.reject(new ClientError(ClientErrorCode.INVALID_ARGUMENT, 'content must be a string'));
    if (this._state === 'idle' || TERMINAL.has(this._state)) {
      return Promise.reject(this.terminalError ?? new ClientError(ClientErrorCode.NOT_CONNECTED, `cannot send: client is ${this._state}`));
    }
    return this.sendInternal(to, content, opts, false);
  }

  /**
   * Stop: send a logout when online, close the connection, stop every timer. Pending QoS messages
   * are reported lost (`closed`). Idempotent.
   */
  async close(): Promise<void> {
    if (TERMINAL.has(this._state)) return;
    if (this._state === 'online' && this.conn) {
      this.conn.send(encodePacket(createPacket({ type: PacketType.LOGOUT, from: this.uid, to: SERVER_UID })));
    }
    this.terminate('closed', 'closed by the application', new ClientError(ClientErrorCode.CLOSED, 'client closed'), LossReason.CLOSED);
  }

  // ------------------------------------------------------------------ sending

  private sendInternal(to: string, content: string, opts: SendOptions, internal: boolean): Promise<SendResult> {
    const qos = opts.qos ?? true;
    const typeu = opts.typeu ?? -1;
    if (!qos) {
      const text = encodePacket(dataPacket({ from: this.uid, to, dataContent: content, QoS: false, typeu }));
      if (this._state === 'online' && this.conn?.send(text)) return Promise.resolve({ fp: null, acked: false });
      return Promise.reject(new ClientError(ClientErrorCode.NOT_CONNECTED, 'not online: a non-QoS message cannot wait', { retryable: true }));
    }
    const fp = opts.fp ?? newFingerprint();
    if (this.pending.has(fp)) return Promise.reject(new ClientError(ClientErrorCode.INVALID_ARGUMENT, `fingerprint ${fp} is already pending`));
    const text = encodePacket(dataPacket({ from: this.uid, to, dataContent: content, fp, QoS: true, typeu }));
    return new Promise<SendResult>((resolve, reject) => {
      const now = Date.now();
      const m: Pending = { fp, to, content, typeu, text, firstSentAt: now, lastSentAt: null, retries: 0, resentAfterReconnect: false, internal, resolve, reject };
      this.pending.set(fp, m);
      if (this._state === 'online' && this.conn?.send(text)) m.lastSentAt = now;
      else m.resentAfterReconnect = true; // waits for the next login, which sends it
    });
  }

  /** MobileIMSDK's QoS send daemon (§6.1), plus a grace period for messages resent after a reconnect. */
  private qosTick(): void {
    const now = Date.now();
    for (const m of [...this.pending.values()]) {
      if (now - m.firstSentAt <= this.qos.justSentMs) continue;
      if (m.retries >= this.qos.maxRetries) {
        // Sent again after a reconnect: give the new gateway time to deliver or store it.
        if (m.resentAfterReconnect && m.lastSentAt !== null && now - m.lastSentAt <= this.qos.resendGraceMs) continue;
        this.lose(m, LossReason.TIMEOUT);
        continue;
      }
      if (this._state === 'online' && this.conn?.send(m.text)) m.lastSentAt = now;
      m.retries++;
    }
  }

  private lose(m: Pending, reason: LossReason, serverCode?: number): void {
    if (this.pending.get(m.fp) !== m) return;
    this.pending.delete(m.fp);
    const err = new MessageLostError(m.fp, m.to, reason, serverCode === undefined ? {} : { serverCode });
    m.reject(err);
    if (!m.internal) this.events.emit({ type: 'lost', fp: m.fp, to: m.to, content: m.content, typeu: m.typeu, reason, error: err });
  }

  private acked(fp: string): void {
    const m = this.pending.get(fp);
    if (!m) return; // a late or repeated ack
    this.pending.delete(fp);
    m.resolve({ fp, acked: true });
    if (!m.internal) this.events.emit({ type: 'acked', fp, to: m.to });
  }

  // ------------------------------------------------------------------ connecting

  private async runAttempt(): Promise<void> {
    const gen = ++this.gen;
    const stale = (): boolean => gen !== this.gen || TERMINAL.has(this._state);
    let conn: Connection | null = null;
    try {
      const target = await this.resolveTarget();
      if (stale()) return;
      conn = await this.transport.connect(
        target,
        {
          onText: (text) => {
            if (gen === this.gen) this.onText(text);
          },
          onClose: (info) => {
            if (gen === this.gen) this.onConnectionClosed(info);
          },
        },
        this.opts.connectTimeoutMs ?? D.DEFAULT_CONNECT_TIMEOUT_MS,
      );
      if (stale()) {
        conn.close();
        return;
      }
      this.conn = conn;
      this._node = target.node;
      const response = await this.login(gen, conn);
      if (stale()) return;
      const r = parseLoginResponse(response.dataContent);
      if (r.code !== ErrorCode.OK) {
        const err = new ClientError(ClientErrorCode.LOGIN_REJECTED, `login refused with code ${r.code}`, {
          serverCode: r.code,
          retryable: RETRYABLE_LOGIN_CODES.has(r.code),
        });
        if (err.retryable) throw err;
        this.terminate('rejected', `login refused (${r.code})`, err, LossReason.CLOSED);
        return;
      }
      this.onLoggedIn(r.firstLoginTime);
    } catch (err) {
      if (stale()) {
        conn?.close();
        return;
      }
      const e = err instanceof ClientError ? err : new ClientError(ClientErrorCode.CONNECT_FAILED, 'connection attempt failed', { cause: err, retryable: true });
      this.dropConnection();
      this.events.emit({ type: 'error', error: e });
      this.scheduleRetry(e);
    }
  }

  private async resolveTarget(): Promise<ServerTarget> {
    if (!this.opts.dispatchUrl) {
      const s = this.opts.server!;
      return { node: null, ws: s.ws ?? null, tcp: s.tcp ?? null };
    }
    const d = await fetchDispatch(this.opts.dispatchUrl, this.uid, {
      timeoutMs: this.opts.dispatchTimeoutMs ?? D.DEFAULT_DISPATCH_TIMEOUT_MS,
      ...(this.opts.fetch ? { fetch: this.opts.fetch } : {}),
    });
    if (!this.opts.senseMode && d.senseMode) this.senseMode = d.senseMode;
    if (d.reconnect) this.policy = { ...d.reconnect, ...this.opts.reconnect };
    return { node: d.node, ws: d.ws, tcp: d.tcp };
  }

  private login(gen: number, conn: Connection): Promise<Packet> {
    return new Promise<Packet>((resolve, reject) => {
      const timeoutMs = this.opts.loginTimeoutMs ?? D.DEFAULT_LOGIN_TIMEOUT_MS;
      const timer = setTimeout(() => {
        this.loginWaiter = null;
        reject(new ClientError(ClientErrorCode.TIMEOUT, `no login response within ${timeoutMs} ms`, { retryable: true }));
      }, timeoutMs);
      this.loginWaiter = {
        gen,
        resolve: (p) => {
          clearTimeout(timer);
          resolve(p);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const packet = loginPacket({
        loginUserId: this.uid,
        loginToken: this.opts.token ?? null,
        extra: this.opts.extra ?? null,
        firstLoginTime: this._firstLoginTime,
      });
      if (!conn.send(encodePacket(packet))) {
        this.loginWaiter = null;
        clearTimeout(timer);
        reject(new ClientError(ClientErrorCode.LINK_LOST, 'connection closed before the login was written', { retryable: true }));
      }
    });
  }

  private onLoggedIn(firstLoginTime: number): void {
    const relogin = this.everOnline;
    if (this._firstLoginTime <= 0 && firstLoginTime > 0) this._firstLoginTime = firstLoginTime;
    this.everOnline = true;
    this.attempt = 0;
    this.lastHeardAt = Date.now();
    this.startKeepAlive();
    this.setState('online', relogin ? 'reconnected' : 'logged in');
    this.events.emit({ type: 'login', uid: this.uid, node: this._node, firstLoginTime: this._firstLoginTime, relogin });
    for (const w of this.connectWaiters.splice(0)) w.resolve();
    // Architecture §5: after a reconnect, resend every unacked message with its fingerprint.
    const now = Date.now();
    for (const m of this.pending.values()) {
      if (this._state !== 'online' || !this.conn) break;
      if (m.lastSentAt === null || relogin) {
        if (this.conn.send(m.text)) {
          m.lastSentAt = now;
          m.resentAfterReconnect = true;
        }
      }
    }
  }

  private keepAliveTimings(): KeepAliveTimings {
    if (this.opts.keepAlive) return this.opts.keepAlive;
    const t = SENSE_MODES[this.senseMode];
    return { intervalMs: t.keepAliveIntervalMs, timeoutMs: t.keepAliveTimeoutMs };
  }

  private startKeepAlive(): void {
    this.stopKeepAlive();
    const { intervalMs, timeoutMs } = this.keepAliveTimings();
    const checkMs = Math.min(this.opts.keepAliveCheckIntervalMs ?? D.DEFAULT_KEEPALIVE_CHECK_INTERVAL_MS, intervalMs);
    // MobileIMSDK: the first keepalive goes one interval after login.
    this.keepAliveTimer = setInterval(() => {
      if (this._state !== 'online' || !this.conn) return;
      if (this.conn.send(encodePacket(keepAlivePacket(this.uid)))) this.events.emit({ type: 'ping' });
    }, intervalMs);
    this.checkTimer = setInterval(() => {
      if (this._state !== 'online') return;
      if (Date.now() - this.lastHeardAt >= timeoutMs) this.linkLost(`no answer from the server for ${timeoutMs} ms`);
    }, checkMs);
  }

  private stopKeepAlive(): void {
    if (this.keepAliveTimer) clearInterval(this.keepAliveTimer);
    if (this.checkTimer) clearInterval(this.checkTimer);
    this.keepAliveTimer = this.checkTimer = null;
  }

  private onConnectionClosed(info: CloseInfo): void {
    this.conn = null;
    const why = `connection closed${info.code === null ? '' : ` (${info.code}${info.reason ? ` ${info.reason}` : ''})`}`;
    if (info.code !== null && info.code >= 4500 && info.code <= 4999) {
      // Terminal close codes (style guide §6): do not come back.
      if (info.code === CloseCode.KICKED) {
        this.kicked(-1, info.reason || null);
        return;
      }
      const err =
        info.code === CloseCode.LOGIN_FAILED
          ? new ClientError(ClientErrorCode.LOGIN_REJECTED, why)
          : new ClientError(ClientErrorCode.CLOSED, `server closed the session for good: ${why}`, { serverCode: info.code });
      this.loginWaiter?.reject(err);
      this.loginWaiter = null;
      this.terminate(info.code === CloseCode.LOGIN_FAILED ? 'rejected' : 'closed', why, err, LossReason.CLOSED);
      return;
    }
    if (this.loginWaiter) {
      const w = this.loginWaiter;
      this.loginWaiter = null;
      w.reject(new ClientError(ClientErrorCode.LINK_LOST, `${why} during login`, { retryable: true }));
      return;
    }
    this.linkLost(why);
  }

  /** The link is gone while online: close what is left of it and reconnect through dispatch. */
  private linkLost(reason: string): void {
    if (this._state !== 'online') return;
    this.gen++; // silence the old connection's callbacks
    this.dropConnection();
    this.stopKeepAlive();
    const err = new ClientError(ClientErrorCode.LINK_LOST, reason, { retryable: true });
    this.events.emit({ type: 'error', error: err });
    this.setState('reconnecting', reason);
    this.scheduleRetry(err);
  }

  private scheduleRetry(error: ClientError | null): void {
    if (TERMINAL.has(this._state)) return;
    if (this._state === 'online') return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const delayMs = reconnectDelayMs(this.attempt, this.policy, this.opts.random);
    this.events.emit({ type: 'reconnect', attempt: this.attempt + 1, delayMs, error });
    this.attempt++;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!TERMINAL.has(this._state) && this._state !== 'online') void this.runAttempt();
    }, delayMs);
  }

  private dropConnection(): void {
    const c = this.conn;
    this.conn = null;
    c?.close();
  }

  // ------------------------------------------------------------------ receiving

  private onText(text: string): void {
    let p: Packet;
    try {
      p = decodePacket(text);
    } catch (err) {
      this.events.emit({ type: 'error', error: new ClientError(ClientErrorCode.SERVER_ERROR, 'undecodable packet from the server', { cause: err }) });
      return;
    }
    this.lastHeardAt = Date.now();
    switch (p.type) {
      case PacketType.LOGIN_RESPONSE: {
        const w = this.loginWaiter;
        if (w && w.gen === this.gen) {
          this.loginWaiter = null;
          w.resolve(p);
        }
        return;
      }
      case PacketType.KEEPALIVE_RESPONSE:
        this.events.emit({ type: 'pong' });
        return;
      case PacketType.ACK:
        if (p.dataContent) this.acked(p.dataContent);
        return;
      case PacketType.DATA:
        this.onData(p);
        return;
      case PacketType.KICKOUT: {
        let code = -1;
        let reason: string | null = null;
        try {
          ({ code, reason } = parseKickoutInfo(p.dataContent));
        } catch {
          // a kickout is a kickout even with a garbled payload
        }
        this.kicked(code, reason);
        return;
      }
      case PacketType.ERROR:
        this.onServerError(p);
        return;
      default:
        return; // echo responses and unknown types
    }
  }

  private onData(p: Packet): void {
    if (p.QoS && p.fp) {
      // MobileIMSDK §6.2: ack at once (duplicates too), from/to swapped, bridge copied.
      this.conn?.send(encodePacket(ackPacket(p.to, p.from, p.fp, p.bridge)));
      if (this.dedupe.seenBefore(`${p.from}\n${p.fp}`)) return;
    }
    if (p.typeu === this.receiptTypeu && p.dataContent) {
      this.acked(p.dataContent); // a receipt proves delivery even if the ack got lost
      this.events.emit({ type: 'receipt', fp: p.dataContent, from: p.from });
      return;
    }
    const message: IncomingMessage = {
      fp: p.fp,
      from: p.from,
      to: p.to,
      content: p.dataContent ?? '',
      typeu: p.typeu,
      qos: p.QoS,
      serverTime: p.sm > 0 ? p.sm : null,
      receivedAt: Date.now(),
    };
    this.events.emit({ type: 'message', message });
    if (this.opts.sendReceipts && p.QoS && p.fp && p.from !== SERVER_UID) {
      this.sendInternal(p.from, p.fp, { typeu: this.receiptTypeu }, true).catch(() => {
        // a receipt that cannot be delivered only leaves the peer at "sent"
      });
    }
  }

  private onServerError(p: Packet): void {
    let errorCode = -1;
    let errorMsg: string | null = null;
    try {
      ({ errorCode, errorMsg } = parseErrorResponse(p.dataContent));
    } catch {
      // keep the defaults
    }
    this.events.emit({
      type: 'error',
      error: new ClientError(ClientErrorCode.SERVER_ERROR, `server error ${errorCode}${errorMsg ? `: ${errorMsg.slice(0, 200)}` : ''}`, {
        serverCode: errorCode,
        retryable: errorCode === ErrorCode.RATE_LIMITED || errorCode === ErrorCode.UNAVAILABLE,
      }),
    });
    // The gateway names the fingerprint of a message it refuses for good; a rate-limited one is retried.
    if (errorMsg && FATAL_MESSAGE_ERRORS.has(errorCode)) {
      const m = this.pending.get(errorMsg);
      if (m) this.lose(m, LossReason.REJECTED, errorCode);
    }
  }

  private kicked(code: number, reason: string | null): void {
    if (TERMINAL.has(this._state)) return;
    const err = new ClientError(ClientErrorCode.KICKED, `kicked by the server (code ${code}${reason ? `: ${reason}` : ''})`, { serverCode: code });
    this.events.emit({ type: 'kicked', code, reason });
    const why = code === KickoutCode.DUPLICATE_LOGIN ? 'duplicate login' : code === KickoutCode.ADMIN ? 'kicked by an administrator' : `kickout ${code}`;
    this.terminate('kicked', reason ? `${why}: ${reason}` : why, err, LossReason.KICKED);
  }

  // ------------------------------------------------------------------ state

  private terminate(state: 'kicked' | 'rejected' | 'closed', reason: string, err: ClientError, loss: LossReason): void {
    this.terminalError = err;
    this.gen++;
    this.loginWaiter = null;
    this.dropConnection();
    this.stopKeepAlive();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.qosTimer) clearInterval(this.qosTimer);
    this.retryTimer = this.qosTimer = null;
    this.setState(state, reason);
    for (const m of [...this.pending.values()]) this.lose(m, loss);
    for (const w of this.connectWaiters.splice(0)) w.reject(err);
  }

  private setState(state: ClientState, reason: string | null): void {
    const previous = this._state;
    if (previous === state) return;
    this._state = state;
    this.events.emit({ type: 'state', state, previous, reason });
  }
}

/** Create a client (browser default transport: the global WebSocket). Call `connect()` to start it. */
export function createClient(opts: ClientOptions): SwitchboardClient {
  return new SwitchboardClient(opts);
}
