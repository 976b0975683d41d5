import { ackPacket, createPacket, dataPacket, decodePacket, encodePacket, ErrorCode, ExtensionPacketType, keepAlivePacket, loginPacket } from '@switchboard/protocol';
import { parseLoginResponse, PacketType, SERVER_UID, UNSET_UID, type Packet, type SenseMode } from '@switchboard/protocol';
import { Backoff } from './backoff.js';
import type { ClientEvent, ClientEventType, ClientOptions, ClientState, QosOptions, SendOptions, SendResult } from './client-types.js';
import * as D from './defaults.js';
import { fetchDispatch } from './dispatch.js';
import { DedupeWindow } from './dedupe.js';
import { Emitter } from './emitter.js';
import { ClientError, ClientErrorCode, LossReason } from './errors.js';
import { DEFAULT_GROUP_PREFIX, groupIdOf, keyOfRef, type ConversationRef } from './groups.js';
import { historyApiFor, type HistoryApi, type Conversation, type GroupInfo, type HistoryQuery, type ReadMarkerResult, type StoredMessage } from './history-api.js';
import { newFingerprint } from './ids.js';
import { KeepAlive, keepAliveTimings } from './keepalive.js';
import { loginExchange, type LoginWaiter } from './login-exchange.js';
import { LoginTokens } from './login-token.js';
import { Outbox } from './outbox.js';
import { PresenceSignals, signalEventsOf, type PresenceInfo, type TypingTarget } from './presence.js';
import { SeqSync } from './seq-sync.js';
import { webSocketTransport, type CloseInfo, type Connection, type ServerTarget, type Transport } from './transport.js';
import { describeClose, incomingMessage, kickedError, kickoutOf, loginRefusedError, readNoticeOf, serverErrorOf, terminalClose } from './wire.js';

export type { ClientState, IncomingMessage, SendResult, SendOptions, ClientEvent, ClientEventType } from './client-types.js';
export type { KeepAliveTimings, QosOptions, ClientOptions, GapOptions } from './client-types.js';

const TERMINAL: ReadonlySet<ClientState> = new Set(['kicked', 'rejected', 'closed']);

/**
 * A Switchboard / MobileIMSDK v6 client: dispatch → connect → login → keepalive → link-loss
 * detection → reconnect with backoff through dispatch → re-login with the saved `firstLoginTime`.
 * QoS sends resolve on the ack and reject when the message is lost; received messages are acked
 * and deduplicated for 10 minutes; with server history, each conversation's messages arrive once and
 * in `seq` order, holes filled from the history API. Works in browsers (native WebSocket) and in Node
 * (`@switchboard/client/node`: `ws` or TCP).
 */
export class SwitchboardClient {
  readonly uid: string;
  private readonly opts: ClientOptions;
  private readonly events = new Emitter<ClientEvent>();
  private readonly transport: Transport;
  private readonly outbox: Outbox;
  private readonly dedupe: DedupeWindow;
  private readonly qos: Required<QosOptions>;
  private readonly receiptTypeu: number;
  private readonly backoff: Backoff;
  private readonly keepAlive: KeepAlive;
  private readonly api: HistoryApi | null;
  private readonly tokens: LoginTokens;
  private readonly sync: SeqSync;
  private readonly signals: PresenceSignals;
  /** The server's group prefix (`groupPrefix` option). */
  readonly groupPrefix: string;

  private _state: ClientState = 'idle';
  private _node: string | null = null;
  private _firstLoginTime: number;
  private senseMode: SenseMode;

  private conn: Connection | null = null;
  /** Increments with every attempt; callbacks of older attempts are ignored. */
  private gen = 0;
  private everOnline = false;
  private qosTimer: ReturnType<typeof setInterval> | null = null;
  private loginWaiter: LoginWaiter | null = null;
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
    this.backoff = new Backoff(opts.reconnect, opts.random);
    this.outbox = new Outbox(
      this.qos,
      { online: () => this._state === 'online' && this.conn !== null, send: (text) => this.conn?.send(text) ?? false },
      (e) => this.events.emit(e),
    );
    this.keepAlive = new KeepAlive({
      online: () => this._state === 'online',
      ping: () => {
        if (this._state !== 'online' || !this.conn) return;
        if (this.conn.send(encodePacket(keepAlivePacket(this.uid)))) this.events.emit({ type: 'ping' });
      },
      silent: (reason) => this.linkLost(reason),
    });
    this.tokens = new LoginTokens(opts.uid, opts.token, opts.getToken, opts.tokenTimeoutMs);
    this.api = historyApiFor(opts, () => this.tokens.token, () => this.tokens.refreshForApi());
    this.groupPrefix = opts.groupPrefix ?? DEFAULT_GROUP_PREFIX;
    const send = (text: string): boolean => this._state === 'online' && this.conn !== null && this.conn.send(text);
    this.signals = new PresenceSignals({ uid: this.uid, groupPrefix: this.groupPrefix, send, typingThrottleMs: opts.typingThrottleMs ?? D.DEFAULT_TYPING_THROTTLE_MS });
    this.sync = new SeqSync(
      {
        uid: this.uid,
        groupPrefix: this.groupPrefix,
        api: this.api,
        emit: (e) => this.events.emit(e),
        // History entries are deduplicated here; live ones were on arrival.
        deliver: (p, filled) => {
          if (!filled || !this.dedupe.seenBefore(`${p.from}\n${p.fp}`)) this.deliverData(p);
        },
      },
      opts.gaps,
    );
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
    return this.outbox.size;
  }

  /** Fingerprints of the pending QoS messages, oldest first. */
  pendingFingerprints(): string[] {
    return this.outbox.fingerprints();
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
    if (this._state === 'idle') this.start(null);
    return p;
  }

  /**
   * Start again after `close()` (or a kick or a refused login), as CIM's resume after stop: the same
   * options, dispatch → connect → login with the saved `firstLoginTime`, the watch list sent again.
   * Resolves once online, as `connect()` does. While not stopped, the same as `connect()`.
   */
  resume(): Promise<void> {
    if (!TERMINAL.has(this._state)) return this.connect();
    this.terminalError = null;
    this.sync.restart();
    const p = new Promise<void>((resolve, reject) => this.connectWaiters.push({ resolve, reject }));
    this.start('resumed');
    return p;
  }

  private start(reason: string | null): void {
    this.setState('connecting', reason);
    this.qosTimer = setInterval(() => this.outbox.tick(), this.qos.checkIntervalMs);
    void this.runAttempt();
  }

  /**
   * Watch the presence of `uids` (at most 500; replaces the previous set; `[]` watches none): each
   * one's state comes at once as a `presence` event, then every change. Kept and sent again after
   * every reconnect. Throws `INVALID_ARGUMENT` for anything but an array of user ids, or too many.
   */
  watchPresence(uids: readonly string[]): void {
    this.signals.watch(uids);
  }

  /** The presence of `uids` (1 to 500) now, from the user API (`GET /api/presence`); rejects as `history()` does. */
  async presence(uids: readonly string[]): Promise<PresenceInfo[]> {
    return this.requireApi().presence(uids);
  }

  /**
   * Tell a peer (or `{ group: gid }`'s other online members) that this user is typing: a transient
   * signal without QoS, never stored. At most one per target per `typingThrottleMs`; returns false
   * when this one was not sent (throttled, or not online).
   */
  sendTyping(target: TypingTarget): boolean {
    return this.signals.typing(target);
  }

  /**
   * Send `content` to user `to` (`"0"` = the server, C2S). With QoS (the default) the promise
   * resolves when the server acks — the receiver acked it or it is stored offline for it — and
   * rejects with `MessageLostError` when it is lost (no ack after MobileIMSDK's retries, refused by
   * the server, or the client was kicked or closed first). Messages sent while reconnecting wait
   * and go out after the re-login. `timeoutMs` (or the `sendTimeoutMs` option) bounds the wait: lost
   * (`timeout`) without an ack by then. Without QoS it resolves once written, or rejects `NOT_CONNECTED`.
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
   * Send `content` to group `gid` (an ordinary data packet to its address, `groupPrefix + gid`), as
   * `send()` does: with QoS it resolves on the server's ack (the message is in the group's history:
   * `seq` is its place there) and rejects with `MessageLostError` when lost; when this user is not a
   * member (or there is no such group) the server refuses it (error 1040) and it rejects at once
   * with `reason` `rejected` and `serverCode` 1040.
   */
  sendToGroup(gid: string, content: string, opts: SendOptions = {}): Promise<SendResult> {
    if (typeof gid !== 'string' || gid.length === 0) return Promise.reject(new ClientError(ClientErrorCode.INVALID_ARGUMENT, 'gid must be a group id'));
    return this.send(this.groupAddress(gid), content, opts);
  }

  /** The address of group `gid` on the wire (`g:team`): the `to` of its messages, the key of its conversation in `lastSeq()` and `MessageStore`. */
  groupAddress(gid: string): string {
    return this.groupPrefix + gid;
  }

  /** The group id of a group's address (`g:team` → `team`); null for anything else (a user id). */
  groupOf(address: string): string | null {
    const gid = groupIdOf(address, this.groupPrefix);
    return gid === address ? null : gid;
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

  // ------------------------------------------------------------------ history API

  /**
   * Messages with `peer` (or of `{ group: gid }`, from the user's join on) from the server's history,
   * oldest first: the newest `limit` (default 50, at most 200) with seq < `before` (default: the
   * newest). Rejects with `API_UNAUTHORIZED` (401), `API_UNAVAILABLE` (503: a backend down; 404:
   * history off), `API_FAILED` (403 for a group the user is not in), `TIMEOUT`.
   */
  async history(conv: string | ConversationRef, query: HistoryQuery = {}): Promise<StoredMessage[]> {
    return this.requireApi().history(conv, query);
  }

  /** This user's conversations and groups, newest activity first (at most `limit`: default 50, at most 200), with unread counts and read markers. */
  async conversations(query: { limit?: number } = {}): Promise<Conversation[]> {
    return this.requireApi().conversations(query);
  }

  /** The groups this user is a member of (`{ id, name }`, by id). */
  async groups(): Promise<GroupInfo[]> {
    return this.requireApi().groups();
  }

  /**
   * Mark the conversation with `peer` (or `{ group: gid }`) read up to `seq`. Resolves with the
   * marker now. The peer gets a `read` notice; in a group nobody does.
   */
  async markRead(peer: string | { peer: string }, seq: number): Promise<{ peer: string; readSeq: number }>;
  async markRead(conv: { group: string }, seq: number): Promise<{ group: string; readSeq: number }>;
  async markRead(conv: string | ConversationRef, seq: number): Promise<ReadMarkerResult>;
  async markRead(conv: string | ConversationRef, seq: number): Promise<ReadMarkerResult> {
    return this.requireApi().markRead(conv, seq);
  }

  /** The seq up to which the conversation with `peer` (or `{ group }`) was delivered as events (undefined: none seen). */
  lastSeq(conv: string | ConversationRef): number | undefined {
    return this.sync.lastSeq(keyOfRef(conv, this.groupPrefix));
  }

  private requireApi(): HistoryApi {
    if (!this.api) throw new ClientError(ClientErrorCode.INVALID_ARGUMENT, 'no user API: give dispatchUrl or apiUrl');
    return this.api;
  }

  // ------------------------------------------------------------------ sending

  private sendInternal(to: string, content: string, opts: SendOptions, internal: boolean): Promise<SendResult> {
    const qos = opts.qos ?? true;
    const typeu = opts.typeu ?? -1;
    if (!qos) {
      const text = encodePacket(dataPacket({ from: this.uid, to, dataContent: content, QoS: false, typeu }));
      if (this._state === 'online' && this.conn?.send(text)) return Promise.resolve({ fp: null, acked: false, seq: null });
      return Promise.reject(new ClientError(ClientErrorCode.NOT_CONNECTED, 'not online: a non-QoS message cannot wait', { retryable: true }));
    }
    const fp = opts.fp ?? newFingerprint();
    if (this.outbox.has(fp)) return Promise.reject(new ClientError(ClientErrorCode.INVALID_ARGUMENT, `fingerprint ${fp} is already pending`));
    const text = encodePacket(dataPacket({ from: this.uid, to, dataContent: content, fp, QoS: true, typeu }));
    return this.outbox.add(fp, to, content, typeu, text, internal, internal ? undefined : (opts.timeoutMs ?? this.opts.sendTimeoutMs));
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
      // getToken on the open connection, right before the login (as socket.io's auth): attempts that never reach a gateway do not call it.
      const token = await this.tokens.forLogin(this.everOnline);
      if (stale()) return;
      const response = await this.login(gen, conn, token);
      if (stale()) return;
      const r = parseLoginResponse(response.dataContent);
      if (r.code !== ErrorCode.OK) {
        const err = loginRefusedError(r.code);
        const retry = err.retryable ? err : this.tokens.refused(r.code); // 1025 with getToken: once more with a new token
        if (retry) throw retry;
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
    if (d.reconnect) this.backoff.adopt(d.reconnect);
    return { node: d.node, ws: d.ws, tcp: d.tcp };
  }

  private login(gen: number, conn: Connection, token: string | null): Promise<Packet> {
    const features = [...D.CLIENT_FEATURES];
    const packet = loginPacket({ loginUserId: this.uid, loginToken: token, extra: this.opts.extra ?? null, firstLoginTime: this._firstLoginTime, features });
    return loginExchange(gen, conn, encodePacket(packet), this.opts.loginTimeoutMs ?? D.DEFAULT_LOGIN_TIMEOUT_MS, (w) => (this.loginWaiter = w));
  }

  private onLoggedIn(firstLoginTime: number): void {
    const relogin = this.everOnline;
    if (this._firstLoginTime <= 0 && firstLoginTime > 0) this._firstLoginTime = firstLoginTime;
    this.everOnline = true;
    this.backoff.reset();
    this.tokens.loggedIn();
    this.keepAlive.heard();
    this.keepAlive.start(keepAliveTimings(this.senseMode, this.opts.keepAlive), this.opts.keepAliveCheckIntervalMs ?? D.DEFAULT_KEEPALIVE_CHECK_INTERVAL_MS);
    this.setState('online', relogin ? 'reconnected' : 'logged in');
    this.events.emit({ type: 'login', uid: this.uid, node: this._node, firstLoginTime: this._firstLoginTime, relogin });
    for (const w of this.connectWaiters.splice(0)) w.resolve();
    // Architecture §5: after a reconnect, resend every unacked message with its fingerprint.
    this.outbox.resendAfterLogin(relogin);
    this.signals.loggedIn();
    // What the link lost while down: caught up from history (known conversations only).
    void this.sync.afterLogin();
  }

  private onConnectionClosed(info: CloseInfo): void {
    this.conn = null;
    const why = describeClose(info);
    // Terminal close codes (style guide §6): do not come back.
    const terminal = terminalClose(info, why);
    if (terminal?.kind === 'kicked') {
      this.kicked(-1, info.reason || null);
      return;
    }
    if (terminal) {
      this.loginWaiter?.reject(terminal.error);
      this.loginWaiter = null;
      this.terminate(terminal.kind, why, terminal.error, LossReason.CLOSED);
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
    this.keepAlive.stop();
    const err = new ClientError(ClientErrorCode.LINK_LOST, reason, { retryable: true });
    this.events.emit({ type: 'error', error: err });
    this.setState('reconnecting', reason);
    this.scheduleRetry(err);
  }

  private scheduleRetry(error: ClientError | null): void {
    if (TERMINAL.has(this._state)) return;
    if (this._state === 'online') return;
    const { attempt, delayMs } = this.backoff.next();
    this.events.emit({ type: 'reconnect', attempt, delayMs, error });
    this.backoff.arm(delayMs, () => {
      if (!TERMINAL.has(this._state) && this._state !== 'online') void this.runAttempt();
    });
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
    this.keepAlive.heard();
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
        // The ack comes from the receiver's side: its `from` names the conversation. Counted first: an
        // ack of a restarted history's message tells the restart before the message takes its new seq.
        if (p.seq !== undefined) this.sync.sentAcked(p.from, p.seq, p.sentAt);
        if (p.dataContent) this.outbox.acked(p.dataContent, p.seq ?? null);
        return;
      case PacketType.DATA:
        this.onData(p);
        return;
      case PacketType.KICKOUT: {
        const { code, reason } = kickoutOf(p);
        this.kicked(code, reason);
        return;
      }
      case PacketType.ERROR:
        this.onServerError(p);
        return;
      case ExtensionPacketType.NOTICE: {
        const read = readNoticeOf(p);
        if (read && this.sync.readAdvanced(read.peer, read.seq, read.group)) this.events.emit({ type: 'read', ...read });
        else if (!read) for (const e of signalEventsOf(p)) this.events.emit(e);
        return;
      }
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
    // With a seq: delivered in conversation order, holes filled from history first.
    if (!this.sync.received(p)) this.deliverData(p);
  }

  /** A data packet for the application: a receipt, or a message (with a receipt back if asked). */
  private deliverData(p: Packet): void {
    if (p.typeu === this.receiptTypeu && p.dataContent && p.to === this.uid) {
      this.outbox.acked(p.dataContent); // a receipt proves delivery even if the ack got lost
      this.events.emit({ type: 'receipt', fp: p.dataContent, from: p.from });
      return;
    }
    this.events.emit({ type: 'message', message: incomingMessage(p, this.uid, this.groupPrefix) });
    // No receipts in groups: the group's address is no user to send one to.
    if (this.opts.sendReceipts && p.QoS && p.fp && p.from !== SERVER_UID && p.to === this.uid) {
      this.sendInternal(p.from, p.fp, { typeu: this.receiptTypeu }, true).catch(() => {
        // a receipt that cannot be delivered only leaves the peer at "sent"
      });
    }
  }

  private onServerError(p: Packet): void {
    const { error, serverCode, refusedFp } = serverErrorOf(p);
    this.events.emit({ type: 'error', error });
    // The gateway names the fingerprint of a message it refuses for good; a rate-limited one is retried.
    if (refusedFp !== null) this.outbox.refused(refusedFp, serverCode);
  }

  private kicked(code: number, reason: string | null): void {
    if (TERMINAL.has(this._state)) return;
    const { error, why } = kickedError(code, reason);
    this.events.emit({ type: 'kicked', code, reason });
    this.terminate('kicked', why, error, LossReason.KICKED);
  }

  // ------------------------------------------------------------------ state

  private terminate(state: 'kicked' | 'rejected' | 'closed', reason: string, err: ClientError, loss: LossReason): void {
    this.terminalError = err;
    this.gen++;
    this.loginWaiter = null;
    this.dropConnection();
    this.keepAlive.stop();
    this.backoff.cancel();
    if (this.qosTimer) clearInterval(this.qosTimer);
    this.qosTimer = null;
    this.setState(state, reason);
    this.sync.stop();
    this.outbox.loseAll(loss);
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
