/**
 * Messages between `switchboard bench --workers N` (the parent) and its load worker processes, over
 * the `child_process.fork` IPC channel (JSON). The common start of the load is an epoch time
 * (`epochNow()`: `performance.timeOrigin + performance.now()`, comparable across the processes of
 * one machine); each process maps it to its own `performance.now()` clock, so second t of every
 * worker's timeline is the same wall-clock second.
 */
import type { BenchOptions } from '../args.js';
import type { PhaseStatsSnapshot } from '../stats.js';
import type { DrainOutcome, LoginOutcome } from '../switchboard-phase.js';
import type { SwitchboardResult } from '../report.js';

/** What one worker is asked to do. */
export interface LoadWorkerJob {
  /** 1-based worker number (its name in the report: `worker <n>`). */
  n: number;
  /** Global user indexes [from, to): user i is `${uidPrefix}${i}`, TCP as `isTcpUser(i, tcpShare)`. */
  from: number;
  to: number;
  /** The run's options with `users` = to − from and an open loop's rate scaled to this worker's share. */
  opts: BenchOptions;
  /** Where users ask for their gateway; null for a `--ws` target. */
  dispatchUrl: string | null;
}

/** Parent → worker. */
export type LoadParentMessage =
  /** Log the job's users in and report `logged-in`. */
  | { type: 'login'; job: LoadWorkerJob }
  /** Start the load at epoch ms `startAt` (warmup, window, drain, collect), then report `result` and exit. */
  | { type: 'start'; startAt: number }
  /** End the load early (the parent got SIGINT/SIGTERM); the worker still drains and reports. */
  | { type: 'abort' };

/** The running counters a worker reports every LOAD_WORKER_REPORT_INTERVAL_MS during the load. */
export interface LoadProgress {
  online: number;
  sent: number;
  acked: number;
  delivered: number;
  pending: number;
  resends: number;
  disconnects: number;
}

/** One worker's share of the result: everything the parent needs to merge the run exactly. */
export interface LoadPart {
  n: number;
  pid: number;
  users: number;
  ws: number;
  tcp: number;
  login: LoginOutcome;
  /** Counters and latency histograms, overall and per second (t = 0 at the common start). */
  stats: PhaseStatsSnapshot;
  /** Online users per gateway node when the load ended. */
  nodes: Record<string, number>;
  unacked: number;
  lost: number;
  lostAfterAck: number;
  deliveredUnacked: number;
  pairingMisses: number;
  notSentOffline: number;
  drain: DrainOutcome;
  missingSample: SwitchboardResult['missingSample'];
  /** The worker's event-loop delay over the measured window, ms. */
  loopDelayMs: { p50: number; p99: number; max: number };
  /** The worker's own CPU over the measured window, cores (process.cpuUsage). */
  cores: number;
  /** The worker's measured window in epoch ms, as it ran (an abort shortens it). */
  windowEpoch: { from: number; to: number };
}

/** Worker → parent. */
export type LoadWorkerMessage =
  | { type: 'ready'; pid: number }
  | { type: 'logged-in'; login: LoginOutcome }
  | { type: 'progress'; progress: LoadProgress }
  | { type: 'result'; part: LoadPart }
  /** The worker could not do its job (an exception); it exits after sending this. */
  | { type: 'error'; message: string };
