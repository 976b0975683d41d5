import type { SenseMode } from '@switchboard/protocol';
import type { HistogramSnapshot } from '../shared/histogram.js';
import type { WsClient } from '../conn/types.js';

/**
 * Messages between `switchboard bench idle` (the parent) and its client worker processes, over
 * the `child_process.fork` IPC channel (JSON). Times are epoch ms (`performance.timeOrigin +
 * performance.now()`, sub-millisecond), comparable across the processes of one machine.
 */

/** Epoch ms, sub-millisecond, comparable across the processes of one machine. */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

/** One gateway the users connect to; user `i` goes to `gateways[i % gateways.length]`. */
export interface IdleGateway {
  node: string;
  ws: string;
  tcp: { host: string; port: number } | null;
}

/** What one worker is asked to do. */
export interface IdleWorkerJob {
  /** Global user indices [from, to); user i is `${uidPrefix}${i}`. */
  from: number;
  to: number;
  uidPrefix: string;
  tcpShare: number;
  /** Which WebSocket client opens the WebSocket users' connections. */
  wsClient: WsClient;
  gateways: IdleGateway[];
  /** Logins in flight at once in this worker. */
  loginConcurrency: number;
  /** Logins this worker starts per second; null = as fast as the concurrency allows. */
  loginRatePerSec: number | null;
  /** Epoch ms after which no login attempt starts any more. */
  loginDeadline: number;
  /** Wait for one connect and for one login answer, ms. */
  attemptTimeoutMs: number;
  senseMode: SenseMode;
}

/** Failure counts by reason (`connect-refused`, `login-timeout`, `login-code-1030`, `closed-by-server`…). */
export type ReasonCounts = Record<string, number>;

/** Parent → worker. */
export type ParentMessage =
  /** Log the job's users in, then keep them idle until `stop`. */
  | { type: 'login'; job: IdleWorkerJob }
  /** Report the final state (who is still online), then close every connection and exit. */
  | { type: 'stop' };

/** Counters a worker reports with every progress message and at the end. */
export interface WorkerCounters {
  /** Users logged in (each counted once, at its first successful login). */
  loggedIn: number;
  /** Users online right now. */
  online: number;
  /** Logins in flight (connecting or waiting for the answer). */
  inFlight: number;
  /** Login attempts started (retries included). */
  attempts: number;
  /** Failed login attempts, by reason. */
  loginFailures: ReasonCounts;
  /** Logged-in users that went offline, by reason (any counts as a failure of the run). */
  disconnects: ReasonCounts;
  /** Type-52 error packets received, by error code. */
  errors: ReasonCounts;
  keepAlivesSent: number;
  keepAliveAnswers: number;
  /** The worker's resident set size, bytes. */
  rssBytes: number;
  /** The worker's CPU time so far (user + system), seconds. */
  cpuSeconds: number;
}

/** Worker → parent. */
export type WorkerMessage =
  /** Loaded and waiting for its job. */
  | { type: 'ready'; pid: number }
  /**
   * Every IDLE_WORKER_REPORT_INTERVAL_MS from the job's start: counters, and successful logins per wall-clock second
   * since the last report as [epoch second, count] pairs.
   */
  | { type: 'progress'; counters: WorkerCounters; loginsPerSecond: Array<[number, number]> }
  /** Every user of the job logged in or gave up (login deadline passed). */
  | {
      type: 'logged-in';
      counters: WorkerCounters;
      loginsPerSecond: Array<[number, number]>;
      /** Epoch ms the first connect started; null when no attempt started. */
      firstStartAt: number | null;
      /** Epoch ms of the last successful login answer; null when none. */
      lastLoginAt: number | null;
      /** Connect start → type-50 answer with code 0, successful logins only. */
      loginLatency: HistogramSnapshot;
    }
  /**
   * The answer to `stop`: counters with `online` = users online with an open connection before
   * anything was closed, and the same per gateway (index into the job's `gateways`).
   */
  | { type: 'final'; counters: WorkerCounters; onlineByGateway: number[] }
  /** The worker could not do its job (an exception); it exits after sending this. */
  | { type: 'error'; message: string };
