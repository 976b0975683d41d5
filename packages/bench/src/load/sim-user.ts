import {
  ErrorCode,
  PacketType,
  ackPacket,
  dataPacket,
  decodePacket,
  encodePacket,
  keepAlivePacket,
  loginPacket,
  parseErrorResponse,
  parseKickoutInfo,
  parseLoginResponse,
  createPacket,
  SERVER_UID,
  senseModeTimings,
  type Packet,
  type SenseMode,
} from '@switchboard/protocol';
import { TimeoutError, UnavailableError, backoffMs, delay } from '@switchboard/core';
import { openConn } from '../conn/connection.js';
import type { Conn, Endpoint } from '../conn/types.js';
import type { ReconnectPolicy } from '../shared/dispatch-client.js';
import { MessageTracker, MsgFlag, contentSentAt, makeContent } from './tracker.js';
import type { PhaseStats, Window } from './stats.js';
import * as D from '../shared/defaults.js';

/** Where one user should connect now (asked again before every reconnect). */
export interface Placement {
  endpoint: Endpoint;
  /** Gateway node id ("direct" for --ws targets). */
  node: string;
  reconnect: ReconnectPolicy | null;
}

/** What the simulated users share. */
export interface UserContext {
  readonly tracker: MessageTracker;
  readonly stats: PhaseStats;
  readonly users: readonly SimUser[];
  readonly sizeBytes: number;
  readonly senseMode: SenseMode;
  readonly qos: { tickMs: number; graceMs: number; retries: number };
  readonly window: Window;
  /** Find where a user connects (dispatch or a fixed address). */
  place(user: SimUser): Promise<Placement>;
  /** A pending message left the user's window (acked or given up): the closed loop refills. */
  onSlotFree(user: SimUser): void;
  /** The user logged in again after a disconnect and resent its pending messages. */
  onReconnected(user: SimUser): void;
  /** True once the run is over: no reconnects any more. */
  readonly stopping: boolean;
}

/** A message this user sent and has no ack for yet. */
interface Pending {
  wire: string;
  /** performance.now() of the first send (or of the resend after a reconnect), for the resend grace. */
  graceFrom: number;
  retries: number;
}

export type UserState = 'offline' | 'connecting' | 'online' | 'kicked' | 'stopped';

/**
 * One simulated MobileIMSDK client: logs in (through dispatch when there is one), keeps the
 * heartbeat of its sense mode, sends QoS C2C messages and resends them as MobileIMSDK's
 * QoS4SendDaemon does, acks every incoming QoS packet (type 4, dataContent = fp, from/to swapped),
 * drops duplicate fingerprints before its "application", and after a lost link logs in again —
 * through dispatch, with the backoff dispatch hands out — and resends what is still unacked.
 */
export class SimUser {
  readonly uid: string;
  state: UserState = 'offline';
  /** Gateway the user is on (or was last on). */
  node = '';
  /** ms since epoch the server answered at the first login; sent again on every re-login. */
  firstLoginTime = 0;
  readonly pending = new Map<number, Pending>();
  /** Fingerprints (as sequence numbers) already handed to the application: the dedupe set. */
  private readonly seen = new Set<number>();
  private conn: Conn | null = null;
  private keepAliveTimer: NodeJS.Timeout | null = null;
  private lastKeepAliveAnswer = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private reconnectAttempt = 0;
  private loginWaiter: { resolve: (p: Packet) => void; reject: (e: Error) => void } | null = null;
  private reconnectPolicy: ReconnectPolicy | null = null;

  constructor(
    readonly index: number,
    uid: string,
    readonly transport: 'ws' | 'tcp',
    protected readonly ctx: UserContext,
  ) {
    this.uid = uid;
  }

  get online(): boolean {
    return this.state === 'online';
  }

  /** Unacked messages of this user. */
  get inflight(): number {
    return this.pending.size;
  }

  // ------------------------------------------------------------------ login

  /**
   * One login attempt: place, connect, login packet, wait for the type-50 answer.
   * Rejects on any failure (the caller retries); resolves once the user is online.
   */
  async login(timeoutMs = D.DEFAULT_LOGIN_RESPONSE_TIMEOUT_MS): Promise<void> {
    if (this.state === 'stopped') throw new UnavailableError('user stopped');
    this.state = 'connecting';
    let conn: Conn | null = null;
    try {
      const placement = await this.ctx.place(this);
      conn = await openConn(placement.endpoint, timeoutMs);
      if ((this.state as UserState) === 'stopped') {
        conn.close();
        throw new UnavailableError('user stopped');
      }
      this.attach(conn);
      const answer = this.waitLoginAnswer(timeoutMs);
      conn.send(
        encodePacket(loginPacket({ loginUserId: this.uid, loginToken: 'bench', extra: null, firstLoginTime: this.firstLoginTime })),
      );
      const p = await answer;
      const r = parseLoginResponse(p.dataContent);
      if (r.code !== ErrorCode.OK) throw new UnavailableError(`login of ${this.uid} refused with code ${r.code}`);
      if (this.firstLoginTime <= 0) this.firstLoginTime = r.firstLoginTime;
      this.node = placement.node;
      this.reconnectPolicy = placement.reconnect;
      this.state = 'online';
      this.startKeepAlive();
    } catch (err) {
      this.ctx.stats.loginFailures++;
      if (conn && this.conn === conn) this.detach();
      conn?.close();
      if ((this.state as UserState) !== 'stopped' && (this.state as UserState) !== 'kicked') this.state = 'offline';
      throw err;
    }
  }

  private waitLoginAnswer(timeoutMs: number): Promise<Packet> {
    return new Promise<Packet>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.loginWaiter = null;
        reject(new TimeoutError(`no login answer for ${this.uid} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.loginWaiter = {
        resolve: (p) => {
          clearTimeout(timer);
          this.loginWaiter = null;
          resolve(p);
        },
        reject: (e) => {
          clearTimeout(timer);
          this.loginWaiter = null;
          reject(e);
        },
      };
    });
  }

  private attach(conn: Conn): void {
    this.conn = conn;
    conn.onText((t) => this.onText(t));
    conn.onClose(() => this.onConnClosed(conn));
  }

  private detach(): void {
    this.conn = null;
    this.stopKeepAlive();
  }

  /** Log in, retrying with backoff until `deadline` (performance.now() ms). */
  async loginUntil(deadline: number): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.login();
        return true;
      } catch {
        // `login` counted the failure (stats.loginFailures); retry with backoff until the deadline.
        if (this.state === 'stopped' || this.state === 'kicked') return false;
        const wait = backoffMs(attempt, 200, 3_000);
        if (performance.now() + wait >= deadline) return false;
        await delay(wait);
      }
    }
  }

  /**
   * Drop the current connection and log in again on a fresh one (with the saved firstLoginTime,
   * so the gateway does not kick anything): collects the offline queue.
   */
  async relogin(deadline: number): Promise<boolean> {
    this.cancelReconnect();
    const old = this.conn;
    if (old) {
      this.detach();
      old.send(encodePacket(createPacket({ type: PacketType.LOGOUT, from: this.uid, to: SERVER_UID })));
      old.close();
    }
    if (this.state !== 'stopped') this.state = 'offline';
    return this.loginUntil(deadline);
  }

  // ------------------------------------------------------------------ heartbeat

  private startKeepAlive(): void {
    this.stopKeepAlive();
    const t = senseModeTimings(this.ctx.senseMode);
    this.lastKeepAliveAnswer = performance.now();
    // MobileIMSDK (H5): first beat one interval after login; at each beat the link counts as lost
    // when no type 51 came for the sense mode's timeout.
    this.keepAliveTimer = setInterval(() => {
      if (this.state !== 'online' || !this.conn) return;
      if (performance.now() - this.lastKeepAliveAnswer >= t.keepAliveTimeoutMs) {
        this.conn.close(); // no answer: link lost
        return;
      }
      this.conn.send(encodePacket(keepAlivePacket(this.uid)));
    }, t.keepAliveIntervalMs);
    this.keepAliveTimer.unref();
  }

  private stopKeepAlive(): void {
    if (this.keepAliveTimer) clearInterval(this.keepAliveTimer);
    this.keepAliveTimer = null;
  }

  // ------------------------------------------------------------------ link loss and reconnect

  private onConnClosed(conn: Conn): void {
    if (conn !== this.conn) return;
    const wasOnline = this.state === 'online';
    this.detach();
    this.loginWaiter?.reject(new UnavailableError(`connection of ${this.uid} closed`));
    if (!wasOnline) return;
    this.state = 'offline';
    this.ctx.stats.disconnects++;
    if (!this.ctx.stopping) this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer || this.state === 'stopped' || this.state === 'kicked') return;
    const p = this.reconnectPolicy;
    // The first attempt is spread over the initial delay so a killed node's users do not stampede.
    const first = p ? Math.random() * p.initialDelayMs : 0;
    const wait =
      this.reconnectAttempt === 0
        ? first
        : p
          ? Math.min(p.maxDelayMs, p.initialDelayMs * p.multiplier ** (this.reconnectAttempt - 1)) * (1 - p.jitter * Math.random())
          : D.DEFAULT_FIXED_RECONNECT_MS;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.reconnect();
    }, wait);
    this.reconnectTimer.unref();
  }

  private cancelReconnect(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
  }

  private async reconnect(): Promise<void> {
    if (this.state !== 'offline' || this.ctx.stopping) return;
    try {
      await this.login();
    } catch {
      // `login` counted the failure (stats.loginFailures); the next attempt comes with more backoff.
      this.reconnectAttempt++;
      if (this.state === 'offline' && !this.ctx.stopping) this.scheduleReconnect();
      return;
    }
    this.reconnectAttempt = 0;
    this.ctx.stats.reconnects++;
    // Resend everything still unacked (same fp); a reconnect starts a fresh resend cycle.
    const now = performance.now();
    for (const p of this.pending.values()) {
      p.graceFrom = now;
      p.retries = 0;
      this.conn?.send(p.wire);
      this.ctx.stats.resendsAfterReconnect++;
    }
    this.ctx.onReconnected(this);
  }

  // ------------------------------------------------------------------ sending

  /**
   * Originate a QoS C2C message to user `receiver`. `sentAt` is the send time recorded for latency
   * (the scheduled time in open loop, so a stalled generator does not hide latency).
   */
  sendNew(receiver: number, sentAt: number, measured: boolean): void {
    const ctx = this.ctx;
    const to = ctx.users[receiver]!;
    let flags = measured ? MsgFlag.MEASURED : 0;
    if (to.node !== this.node) {
      flags |= MsgFlag.CROSS_NODE;
      ctx.stats.crossNode++;
    }
    this.post(ctx.tracker.add(this.index, receiver, sentAt, flags), to.uid, sentAt, measured);
  }

  /**
   * Send message `seq` of the tracker (registered by the caller) as a QoS data packet to address `to`
   * and hold it for resends until its ack comes.
   */
  protected post(seq: number, to: string, sentAt: number, measured: boolean): void {
    const ctx = this.ctx;
    const wire = encodePacket(
      dataPacket({ from: this.uid, to, dataContent: makeContent(sentAt, seq, ctx.sizeBytes), fp: ctx.tracker.fp(seq), QoS: true }),
    );
    this.pending.set(seq, { wire, graceFrom: performance.now(), retries: 0 });
    ctx.stats.onSent(performance.now(), measured);
    this.conn?.send(wire);
  }

  /** MobileIMSDK QoS4SendDaemon tick: resend what is older than the grace, give up after the retries. */
  qosTick(now: number): void {
    if (this.state !== 'online' || !this.conn) return; // nothing can be resent while the link is down
    const { graceMs, retries } = this.ctx.qos;
    for (const [seq, p] of this.pending) {
      if (p.retries >= retries) {
        this.pending.delete(seq);
        this.ctx.tracker.set(seq, MsgFlag.GAVE_UP);
        this.ctx.stats.senderGaveUp++;
        this.ctx.onSlotFree(this);
        continue;
      }
      if (now - p.graceFrom <= graceMs) continue;
      p.retries++;
      this.ctx.stats.resends++;
      this.conn.send(p.wire);
    }
  }

  // ------------------------------------------------------------------ receiving

  private onText(text: string): void {
    let p: Packet;
    try {
      p = decodePacket(text);
    } catch {
      this.ctx.stats.badPackets++;
      return;
    }
    switch (p.type) {
      case PacketType.DATA:
        return this.onData(p);
      case PacketType.ACK:
        return this.onAck(p);
      case PacketType.LOGIN_RESPONSE:
        this.loginWaiter?.resolve(p);
        return;
      case PacketType.KEEPALIVE_RESPONSE:
        this.lastKeepAliveAnswer = performance.now();
        return;
      case PacketType.ERROR:
        return this.onError(p);
      case PacketType.KICKOUT:
        return this.onKickout(p);
      default:
        return;
    }
  }

  private onData(p: Packet): void {
    const seq = this.receive(p);
    if (seq >= 0) this.deliver(seq, p);
  }

  /**
   * What the receiving MobileIMSDK client does before its application sees a QoS data packet: ack it
   * (type 4 from this user, dataContent = fp; duplicates included), and drop it when its fp is not of
   * this run or was seen already. Returns the message's tracker seq, or -1 when it goes no further.
   */
  private receive(p: Packet): number {
    const ctx = this.ctx;
    if (!p.QoS || p.fp === null) return -1;
    this.conn?.send(encodePacket(ackPacket(this.uid, p.from, p.fp, p.bridge)));
    const seq = ctx.tracker.seqOf(p.fp);
    if (seq < 0) {
      ctx.stats.foreign++;
      return -1;
    }
    if (this.seen.has(seq)) {
      ctx.stats.wireDuplicates++;
      return -1;
    }
    this.seen.add(seq);
    return seq;
  }

  /** Message `seq` passed dedupe: this is what the application sees. */
  protected deliver(seq: number, p: Packet): void {
    const ctx = this.ctx;
    const tr = ctx.tracker;
    if (tr.receiver[seq] !== this.index) {
      ctx.stats.misrouted++;
      return;
    }
    if (tr.has(seq, MsgFlag.DELIVERED)) {
      ctx.stats.appDuplicates++;
      return;
    }
    tr.set(seq, MsgFlag.DELIVERED);
    const now = performance.now();
    // send→deliver from the timestamp the message carries, as a real receiver would compute it
    ctx.stats.onDelivered(now, now - contentSentAt(p.dataContent), tr.has(seq, MsgFlag.MEASURED));
  }

  private onAck(p: Packet): void {
    const ctx = this.ctx;
    const seq = ctx.tracker.seqOf(p.dataContent);
    if (seq < 0 || ctx.tracker.sender[seq] !== this.index) {
      ctx.stats.unknownAcks++;
      return;
    }
    const wasPending = this.pending.delete(seq);
    if (ctx.tracker.has(seq, MsgFlag.ACKED)) {
      ctx.stats.duplicateAcks++;
      return;
    }
    ctx.tracker.set(seq, MsgFlag.ACKED);
    const now = performance.now();
    ctx.stats.onAcked(now, now - ctx.tracker.sentAt[seq]!, ctx.tracker.has(seq, MsgFlag.MEASURED));
    if (wasPending) ctx.onSlotFree(this);
    else ctx.stats.lateAcks++;
  }

  private onError(p: Packet): void {
    let code = -1;
    try {
      code = parseErrorResponse(p.dataContent).errorCode;
    } catch {
      // counted as -1
    }
    this.ctx.stats.count(this.ctx.stats.errors, code);
    if (code === ErrorCode.UNLOGIN) {
      // The server forgot our login: MobileIMSDK clients log in again.
      this.conn?.close();
    }
  }

  private onKickout(p: Packet): void {
    let code = -1;
    try {
      code = parseKickoutInfo(p.dataContent).code;
    } catch {
      // counted as -1
    }
    this.ctx.stats.count(this.ctx.stats.kicks, code);
    // A kicked MobileIMSDK client releases everything and does not reconnect.
    this.state = 'kicked';
    const c = this.conn;
    this.detach();
    this.loginWaiter?.reject(new UnavailableError(`${this.uid} was kicked (code ${code})`));
    c?.close();
  }

  // ------------------------------------------------------------------ end

  /** Log out (type 3) and close; no reconnect after this. */
  stop(): void {
    this.cancelReconnect();
    this.state = 'stopped';
    const c = this.conn;
    this.detach();
    if (c) {
      c.send(encodePacket(createPacket({ type: PacketType.LOGOUT, from: this.uid, to: SERVER_UID })));
      c.close();
    }
  }
}
