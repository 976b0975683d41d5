import {
  ErrorCode,
  PacketType,
  ackPacket,
  decodePacket,
  encodePacket,
  keepAlivePacket,
  loginPacket,
  parseErrorResponse,
  parseKickoutInfo,
  parseLoginResponse,
  senseModeTimings,
  type Packet,
} from '@switchboard/protocol';
import { TimeoutError, backoffMs, delay } from '@switchboard/core';
import { isTcpUser } from '../shared/args.js';
import { openConn } from '../conn/connection.js';
import type { Conn, Endpoint } from '../conn/types.js';
import { LatencyHistogram } from '../shared/histogram.js';
import type { IdleWorkerJob, ReasonCounts, WorkerCounters } from './idle-ipc.js';
import * as D from '../shared/defaults.js';

/** Per-user states, one byte each. */
const S = {
  NEW: 0,
  CONNECTING: 1,
  ONLINE: 2,
  /** Was online, then lost (any reason): idle mode does not reconnect, it counts. */
  DROPPED: 3,
  /** No successful login before the deadline. */
  GAVE_UP: 4,
} as const;

/**
 * The users of one idle-mode worker: logs them in with bounded concurrency (optionally paced to
 * a rate), then keeps them online with keepalives only, as MobileIMSDK clients of the sense mode
 * do. Built for ~19k users in one process: per user it keeps the connection, one closure pair
 * and three typed-array slots (state, next beat, last keepalive answer) — no timers, maps or
 * histograms per user; one ticker for everyone's keepalives and one login-latency histogram.
 * A user that goes offline after logging in is counted by reason and not reconnected.
 */
export class IdleFleet {
  private readonly n: number;
  private readonly conns: Array<Conn | null>;
  private readonly state: Uint8Array;
  /** performance.now() of each user's next keepalive. */
  private readonly nextBeatAt: Float64Array;
  /** performance.now() of each user's last type-51 answer (or its login). */
  private readonly lastAnswerAt: Float64Array;
  /** Login answers awaited, by local index: only the logins in flight. */
  private readonly waiters = new Map<number, (p: Packet | string) => void>();
  private readonly timings;
  private readonly loginLatency = new LatencyHistogram();
  private perSecond = new Map<number, number>();
  private keepAliveTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Attempts started so far, for `--login-rate` pacing. */
  private paced = 0;
  private pacedFrom = 0;

  loggedIn = 0;
  online = 0;
  inFlight = 0;
  attempts = 0;
  keepAlivesSent = 0;
  keepAliveAnswers = 0;
  readonly loginFailures: ReasonCounts = {};
  readonly disconnects: ReasonCounts = {};
  readonly errors: ReasonCounts = {};
  firstStartAt: number | null = null;
  lastLoginAt: number | null = null;

  constructor(private readonly job: IdleWorkerJob) {
    this.n = job.to - job.from;
    this.conns = new Array<Conn | null>(this.n).fill(null);
    this.state = new Uint8Array(this.n);
    this.nextBeatAt = new Float64Array(this.n);
    this.lastAnswerAt = new Float64Array(this.n);
    this.timings = senseModeTimings(job.senseMode);
  }

  private uid(k: number): string {
    return `${this.job.uidPrefix}${this.job.from + k}`;
  }

  private endpoint(k: number): Endpoint {
    const i = this.job.from + k;
    const gw = this.job.gateways[i % this.job.gateways.length]!;
    if (isTcpUser(i, this.job.tcpShare) && gw.tcp) return { kind: 'tcp', host: gw.tcp.host, port: gw.tcp.port };
    return { kind: 'ws', url: gw.ws };
  }

  // ------------------------------------------------------------------ login

  /**
   * Log every user in: `loginConcurrency` lanes, each taking the next user and retrying its failed
   * attempts with backoff until the login deadline. Resolves when every user is online or gave up.
   * Its waits (`delay`, unref'd) need not hold the process open: a worker process is held by its IPC
   * channel to the parent and its progress timer (`idle-worker.ts`).
   */
  async loginAll(): Promise<void> {
    this.startKeepAlive();
    this.pacedFrom = performance.now();
    const deadline = this.job.loginDeadline - performance.timeOrigin;
    let next = 0;
    const lane = async () => {
      while (!this.stopped && next < this.n) {
        const k = next++;
        for (let attempt = 0; ; attempt++) {
          await this.pace();
          if (this.stopped) return;
          if (await this.attempt(k)) break;
          const wait = backoffMs(attempt, 200, 3_000);
          if (this.stopped || performance.now() + wait >= deadline) {
            this.state[k] = S.GAVE_UP;
            break;
          }
          await delay(wait);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(this.job.loginConcurrency, this.n)) }, lane));
  }

  /** With `--login-rate`: wait for the next free start slot of this worker's share of the rate. */
  private async pace(): Promise<void> {
    const rate = this.job.loginRatePerSec;
    if (rate === null) return;
    const due = this.pacedFrom + (this.paced++ * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await delay(wait);
  }

  /** One login attempt of user `k`: connect, login packet, type-50 answer. True when online. */
  private async attempt(k: number): Promise<boolean> {
    this.attempts++;
    this.inFlight++;
    this.state[k] = S.CONNECTING;
    const t0 = performance.now();
    this.firstStartAt ??= performance.timeOrigin + t0;
    const timeoutMs = this.job.attemptTimeoutMs;
    let conn: Conn;
    try {
      conn = await openConn(this.endpoint(k), timeoutMs, this.job.wsClient);
    } catch (err) {
      this.inFlight--;
      this.state[k] = S.NEW;
      count(this.loginFailures, connectFailure(err));
      return false;
    }
    if (this.stopped) {
      this.inFlight--;
      conn.close();
      return false;
    }
    this.conns[k] = conn;
    conn.onText((t) => this.onText(k, t));
    conn.onClose(() => this.onClose(k, conn));
    const answer = new Promise<Packet | string>((resolve) => {
      const timer = setTimeout(() => settle('login-timeout'), timeoutMs);
      const settle = (p: Packet | string) => {
        clearTimeout(timer);
        this.waiters.delete(k);
        resolve(p);
      };
      this.waiters.set(k, settle);
    });
    conn.send(encodePacket(loginPacket({ loginUserId: this.uid(k), loginToken: 'bench', extra: null, firstLoginTime: 0 })));
    const p = await answer;
    this.inFlight--;
    let failure: string | null = null;
    if (typeof p === 'string') failure = p;
    else {
      let code = -1;
      try {
        code = parseLoginResponse(p.dataContent).code;
      } catch {
        // counted as code -1
      }
      if (code !== ErrorCode.OK) failure = `login-code-${code}`;
    }
    if (failure !== null || this.stopped) {
      if (failure !== null) count(this.loginFailures, failure);
      this.conns[k] = null;
      conn.close();
      this.state[k] = S.NEW;
      return false;
    }
    const now = performance.now();
    this.loginLatency.record(now - t0);
    this.state[k] = S.ONLINE;
    this.loggedIn++;
    this.online++;
    this.lastAnswerAt[k] = now;
    // MobileIMSDK (H5): the first beat one interval after login.
    this.nextBeatAt[k] = now + this.timings.keepAliveIntervalMs;
    const at = performance.timeOrigin + now;
    this.lastLoginAt = at;
    const sec = Math.floor(at / 1000);
    this.perSecond.set(sec, (this.perSecond.get(sec) ?? 0) + 1);
    return true;
  }

  // ------------------------------------------------------------------ online

  private startKeepAlive(): void {
    if (this.keepAliveTimer) return;
    const { keepAliveIntervalMs, keepAliveTimeoutMs } = this.timings;
    this.keepAliveTimer = setInterval(() => {
      const now = performance.now();
      const st = this.state;
      const next = this.nextBeatAt;
      for (let k = 0; k < this.n; k++) {
        if (st[k] !== S.ONLINE || next[k]! > now) continue;
        // As MobileIMSDK at each beat: no type 51 for the timeout means the link is lost.
        if (now - this.lastAnswerAt[k]! >= keepAliveTimeoutMs) {
          this.drop(k, 'keepalive-timeout');
          continue;
        }
        this.conns[k]?.send(encodePacket(keepAlivePacket(this.uid(k))));
        this.keepAlivesSent++;
        next[k] = Math.max(next[k]! + keepAliveIntervalMs, now + 1);
      }
    }, D.IDLE_KEEPALIVE_TICK_MS);
    this.keepAliveTimer.unref();
  }

  private onText(k: number, text: string): void {
    let p: Packet;
    try {
      p = decodePacket(text);
    } catch {
      count(this.errors, 'bad-packet');
      return;
    }
    switch (p.type) {
      case PacketType.LOGIN_RESPONSE:
        this.waiters.get(k)?.(p);
        return;
      case PacketType.KEEPALIVE_RESPONSE:
        this.lastAnswerAt[k] = performance.now();
        this.keepAliveAnswers++;
        return;
      case PacketType.DATA:
        // Nobody sends to idle users; should something arrive, ack it as a client must.
        if (p.QoS && p.fp !== null) this.conns[k]?.send(encodePacket(ackPacket(p.to, p.from, p.fp, p.bridge)));
        count(this.errors, 'unexpected-data');
        return;
      case PacketType.ERROR: {
        let code = -1;
        try {
          code = parseErrorResponse(p.dataContent).errorCode;
        } catch {
          // counted as -1
        }
        count(this.errors, String(code));
        // The server forgot the login: a MobileIMSDK client would log in again; here it is lost.
        if (code === ErrorCode.UNLOGIN) this.drop(k, 'error-unlogin');
        return;
      }
      case PacketType.KICKOUT: {
        let code = -1;
        try {
          code = parseKickoutInfo(p.dataContent).code;
        } catch {
          // counted as -1
        }
        this.drop(k, `kicked-${code}`);
        return;
      }
      default:
        return;
    }
  }

  private onClose(k: number, conn: Conn): void {
    if (this.conns[k] !== conn) return; // closed by us
    this.conns[k] = null;
    this.waiters.get(k)?.('closed-before-answer');
    if (this.state[k] === S.ONLINE) this.drop(k, 'closed-by-server');
  }

  /** A logged-in user is lost: count it by `reason`, close its connection, no reconnect. */
  private drop(k: number, reason: string): void {
    if (this.state[k] !== S.ONLINE) return;
    this.state[k] = S.DROPPED;
    this.online--;
    count(this.disconnects, reason);
    const c = this.conns[k];
    this.conns[k] = null;
    c?.close();
  }

  // ------------------------------------------------------------------ reporting and end

  /** Users online now with an open connection, per gateway (index into the job's `gateways`). */
  openByGateway(): number[] {
    const g = this.job.gateways.length;
    const out = new Array<number>(g).fill(0);
    for (let k = 0; k < this.n; k++) {
      if (this.state[k] === S.ONLINE && this.conns[k]?.open) out[(this.job.from + k) % g]!++;
    }
    return out;
  }

  counters(): WorkerCounters {
    const cpu = process.cpuUsage();
    return {
      loggedIn: this.loggedIn,
      online: this.online,
      inFlight: this.inFlight,
      attempts: this.attempts,
      loginFailures: { ...this.loginFailures },
      disconnects: { ...this.disconnects },
      errors: { ...this.errors },
      keepAlivesSent: this.keepAlivesSent,
      keepAliveAnswers: this.keepAliveAnswers,
      rssBytes: process.memoryUsage.rss(),
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
    };
  }

  /** Counters of a worker that never got a job. */
  static emptyCounters(): WorkerCounters {
    const cpu = process.cpuUsage();
    return {
      loggedIn: 0,
      online: 0,
      inFlight: 0,
      attempts: 0,
      loginFailures: {},
      disconnects: {},
      errors: {},
      keepAlivesSent: 0,
      keepAliveAnswers: 0,
      rssBytes: process.memoryUsage.rss(),
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
    };
  }

  /** Successful logins per epoch second since the last call, as [second, count]. */
  takeLoginsPerSecond(): Array<[number, number]> {
    const out = [...this.perSecond.entries()];
    this.perSecond = new Map();
    return out;
  }

  loginLatencySnapshot() {
    return this.loginLatency.snapshot();
  }

  /** Stop logging in and keeping alive; close every connection (no logout: the process ends). */
  close(): void {
    this.stopped = true;
    if (this.keepAliveTimer) clearInterval(this.keepAliveTimer);
    this.keepAliveTimer = null;
    for (const settle of [...this.waiters.values()]) settle('stopped');
    for (let k = 0; k < this.n; k++) {
      const c = this.conns[k];
      this.conns[k] = null;
      if (this.state[k] === S.ONLINE) this.state[k] = S.DROPPED;
      c?.close();
    }
    this.online = 0;
  }
}

function count(m: ReasonCounts, reason: string): void {
  m[reason] = (m[reason] ?? 0) + 1;
}

/** Reason of a failed connect: timeout, refused, reset, or the error code the socket gave. */
function connectFailure(err: unknown): string {
  if (err instanceof TimeoutError) return 'connect-timeout';
  const cause = err instanceof Error ? (err.cause as NodeJS.ErrnoException | undefined) : undefined;
  const code = cause?.code ?? (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ECONNREFUSED') return 'connect-refused';
  if (code === 'ECONNRESET') return 'connect-reset';
  if (code === 'EMFILE' || code === 'ENFILE') return 'connect-too-many-open-files';
  if (code === 'EADDRNOTAVAIL') return 'connect-no-local-port';
  if (typeof code === 'string') return `connect-${code.toLowerCase()}`;
  // ws reports a refused upgrade as "Unexpected server response: 503", the raw client with the
  // status line ("refused: HTTP/1.1 503 Service Unavailable").
  const msg = cause?.message ?? (err instanceof Error ? err.message : '');
  const m = /(?:Unexpected server response: |refused: HTTP\/\d\.\d )(\d+)/.exec(msg);
  if (m) return `connect-http-${m[1]}`;
  return /bad handshake|in the answer/.test(msg) ? 'connect-bad-handshake' : 'connect-error';
}
