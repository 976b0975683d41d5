/** From what `runIdle` read to the `IdleReport`: totals, per-gateway memory and CPU, per-worker figures, checks. */
import { cpus } from 'node:os';
import { isTcpUser } from '../shared/args.js';
import { LatencyHistogram } from '../shared/histogram.js';
import { processReport } from '../shared/proc.js';
import type { Sut } from '../shared/sut.js';
import type { IdleOptions } from './idle-args.js';
import { coresBetween, sumOrNull, type CpuMeter, type Mark } from './idle-cpu.js';
import type { IdleGateway, ReasonCounts } from './idle-ipc.js';
import type { Probe } from './idle-probes.js';
import type { GatewayMetricsSample, IdleGatewayReport, IdleReport, IdleTimelineEntry, IdleWorkerReport } from './idle-report.js';
import { sumCounters, type Worker } from './idle-worker-proc.js';

/** Per gateway: the RSS samples of a phase and one `/metrics` reading after them. */
interface GatewayReadings {
  samples: number[][];
  metrics: Array<GatewayMetricsSample | null>;
}

/** The gateways with 0 users, after the settle; `rss` is the median of each gateway's samples. */
export interface Baseline extends GatewayReadings {
  rss: Array<number | null>;
}

/** The marks around the login phase, and each worker's RSS when it began. */
export interface LoginMarks {
  atLogin: Mark;
  afterLogin: Mark;
  workerRssAtLogin: Array<number | null>;
}

/** The idle phase (from `LoginMarks.afterLogin` on): its end mark, the gateways' readings of its last seconds, the workers' RSS. */
export interface IdleMarks extends GatewayReadings {
  afterIdle: Mark;
  workerRss: Array<number | null>;
}

/** Everything the report is built from. */
export interface IdleReadings {
  opts: IdleOptions;
  startedAt: string;
  loadAvgAtStart: number;
  aborted: boolean;
  sut: Sut | null;
  sutAlive: boolean;
  probes: readonly Probe[];
  gateways: IdleGateway[];
  workers: readonly Worker[];
  /** Logins per epoch second, over all workers. */
  perSecond: ReadonlyMap<number, number>;
  meter: CpuMeter;
  baseline: Baseline;
  login: LoginMarks;
  idle: IdleMarks;
  timeline: IdleTimelineEntry[];
}

export const median = (xs: readonly number[]): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export const total = (m: ReasonCounts): number => Object.values(m).reduce((a, b) => a + b, 0);

function addCounts(into: ReasonCounts, from: ReasonCounts): void {
  for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n;
}

/** The workers' login figures merged: latency, failures, disconnects and errors by reason, first start and last login. */
function workerTotals(workers: readonly Worker[]) {
  const latency = new LatencyHistogram();
  const loginFailures: ReasonCounts = {};
  const disconnects: ReasonCounts = {};
  const errors: ReasonCounts = {};
  let firstStartAt = Infinity;
  let lastLoginAt = -Infinity;
  for (const w of workers) {
    if (w.loggedIn) {
      latency.merge(LatencyHistogram.fromSnapshot(w.loggedIn.loginLatency));
      if (w.loggedIn.firstStartAt !== null) firstStartAt = Math.min(firstStartAt, w.loggedIn.firstStartAt);
      if (w.loggedIn.lastLoginAt !== null) lastLoginAt = Math.max(lastLoginAt, w.loggedIn.lastLoginAt);
    }
    if (w.counters) {
      addCounts(loginFailures, w.counters.loginFailures);
      addCounts(disconnects, w.counters.disconnects);
      addCounts(errors, w.counters.errors);
    }
  }
  return { latency, loginFailures, disconnects, errors, firstStartAt, lastLoginAt };
}

/** The report of `switchboard bench idle` from its readings. */
export function idleReport(r: IdleReadings): IdleReport {
  const { opts, workers, probes, gateways } = r;
  const { atLogin, afterLogin } = r.login;
  const t = workerTotals(workers);
  const loggedIn = sumCounters(workers, (c) => c.loggedIn);
  const onlineAtEnd = workers.reduce((a, w) => a + (w.final?.counters.online ?? 0), 0);
  const wallMs = Number.isFinite(t.firstStartAt) && Number.isFinite(t.lastLoginAt) ? t.lastLoginAt - t.firstStartAt : null;
  const seconds: number[] = [];
  if (wallMs !== null) {
    for (let s = Math.floor(t.firstStartAt / 1000); s <= Math.floor(t.lastLoginAt / 1000); s++) seconds.push(r.perSecond.get(s) ?? 0);
  }
  const loginMs = afterLogin.at - atLogin.at;
  const idleMs = r.idle.afterIdle.at - afterLogin.at;
  const loginCpu = r.meter.between(atLogin, afterLogin);
  const idleCpu = r.meter.between(afterLogin, r.idle.afterIdle);
  const gwReports = gatewayReports(r, loggedIn, loginMs, idleMs);
  const memUsers = gwReports.reduce((a, g) => a + g.users, 0);
  const memBase = sumOrNull(gwReports.map((g) => g.baselineRssBytes));
  const memIdle = sumOrNull(gwReports.map((g) => g.idleRssBytes));
  const memPerUser = memBase !== null && memIdle !== null && memUsers > 0 ? (memIdle - memBase) / memUsers : null;
  const tcpUsers = Array.from({ length: opts.users }, (_, i) => isTcpUser(i, opts.tcpShare) && gateways[i % gateways.length]!.tcp !== null).filter(Boolean).length;
  const cpu0 = cpus()[0];
  return {
    version: 1,
    mode: 'idle',
    startedAt: r.startedAt,
    finishedAt: new Date().toISOString(),
    machine: { node: process.version, platform: `${process.platform}-${process.arch}`, cpus: cpus().length, cpuModel: cpu0?.model ?? '?', loadAvgAtStart: r.loadAvgAtStart },
    options: opts,
    target: { kind: opts.target.kind, gateways },
    wsClient: opts.wsClient,
    users: { total: opts.users, ws: opts.users - tcpUsers, tcp: tcpUsers, loggedIn, onlineAtEnd, disconnects: t.disconnects, errors: t.errors },
    login: {
      wallMs,
      loginsPerSec: wallMs !== null && wallMs > 0 ? (loggedIn * 1000) / wallMs : null,
      peakPerSec: seconds.reduce((a, b) => Math.max(a, b), 0),
      perSecond: seconds,
      latencyMs: t.latency.summary(),
      attempts: sumCounters(workers, (c) => c.attempts),
      failures: t.loginFailures,
      gaveUp: opts.users - loggedIn,
      cpu: loginCpu,
      cpuUsPerLogin: {
        gateways: loginCpu.gateways !== null && loggedIn > 0 ? (loginCpu.gateways * loginMs * 1000) / loggedIn : null,
        workers: loginCpu.workers !== null && loggedIn > 0 ? (loginCpu.workers * loginMs * 1000) / loggedIn : null,
      },
    },
    idle: {
      seconds: idleMs / 1000,
      keepAlivesSent: sumCounters(workers, (c) => c.keepAlivesSent),
      keepAliveAnswers: sumCounters(workers, (c) => c.keepAliveAnswers),
      cpu: idleCpu,
    },
    memory: {
      source: probes.every((p) => p.source === probes[0]!.source) ? probes[0]!.source : 'unknown',
      baselineRssBytes: memBase,
      idleRssBytes: memIdle,
      users: memUsers,
      bytesPerUser: memPerUser,
      kibPerUser: memPerUser === null ? null : memPerUser / 1024,
      gateways: gwReports,
    },
    workers: workerReports(r, loginMs, idleMs),
    timeline: r.timeline,
    processes: r.sut ? r.sut.processes.map(processReport) : [],
    checks: idleChecks(r, loggedIn, onlineAtEnd, t.disconnects),
  };
}

/** Per gateway: users at the end, baseline and idle RSS, bytes per user, CPU of each phase, `/metrics`. */
function gatewayReports(r: IdleReadings, loggedIn: number, loginMs: number, idleMs: number): IdleGatewayReport[] {
  const { atLogin, afterLogin } = r.login;
  return r.probes.map((p, g) => {
    const users = r.workers.reduce((a, w) => a + (w.final?.onlineByGateway[g] ?? 0), 0);
    const base = r.baseline.rss[g] ?? null;
    const idle = median(r.idle.samples[g]!);
    const bytesPerUser = base !== null && idle !== null && users > 0 ? (idle - base) / users : null;
    const a = atLogin.gw[g];
    const b = afterLogin.gw[g];
    const loginCpuS = a != null && b != null ? b - a : null;
    const gwLogins = gatewayShare(g, r.probes.length, r.opts.users, loggedIn);
    return {
      node: p.gw.node,
      pid: p.pid,
      admin: p.admin,
      source: p.source,
      users,
      baselineRssBytes: base,
      baselineSamples: r.baseline.samples[g]!,
      idleRssBytes: idle,
      idleSamples: r.idle.samples[g]!,
      bytesPerUser,
      kibPerUser: bytesPerUser === null ? null : bytesPerUser / 1024,
      cpuCores: { login: coresBetween(a, b, loginMs), idle: coresBetween(b, r.idle.afterIdle.gw[g], idleMs) },
      cpuUsPerLogin: loginCpuS !== null && gwLogins > 0 ? (loginCpuS * 1e6) / gwLogins : null,
      metrics: { baseline: r.baseline.metrics[g] ?? null, idle: r.idle.metrics[g] ?? null },
    };
  });
}

/** Per worker: users, RSS growth per online user, CPU of each phase, how it ended. */
function workerReports(r: IdleReadings, loginMs: number, idleMs: number): IdleWorkerReport[] {
  const { atLogin, afterLogin, workerRssAtLogin } = r.login;
  const { afterIdle, workerRss } = r.idle;
  return r.workers.map((w, i) => {
    const rss = workerRss[i] ?? w.final?.counters.rssBytes ?? null;
    const rss0 = workerRssAtLogin[i] ?? null;
    const online = w.final?.counters.online ?? 0;
    return {
      index: w.index,
      pid: w.pid,
      users: w.users,
      loggedIn: w.counters?.loggedIn ?? 0,
      onlineAtEnd: online,
      rssBytes: rss,
      rssAtLoginBytes: rss0,
      bytesPerUser: rss !== null && rss0 !== null && online > 0 ? (rss - rss0) / online : null,
      cpuCores: {
        login: coresBetween(atLogin.workers[i], afterLogin.workers[i], loginMs),
        idle: coresBetween(afterLogin.workers[i], afterIdle.workers[i], idleMs),
      },
      exit: w.exit,
      problem: w.problem,
    };
  });
}

/** The verdicts: everyone logged in, everyone still online, every worker reported, the system under test alive. */
function idleChecks(r: IdleReadings, loggedIn: number, onlineAtEnd: number, disconnects: ReasonCounts): IdleReport['checks'] {
  const { opts, workers } = r;
  const checks: IdleReport['checks'] = [
    { name: 'all users logged in', ok: loggedIn === opts.users, detail: `${loggedIn}/${opts.users}` },
    {
      name: 'all users online at the end',
      ok: onlineAtEnd === opts.users && total(disconnects) === 0,
      detail: `${onlineAtEnd}/${opts.users} online, ${total(disconnects)} disconnects`,
    },
    {
      name: 'workers',
      ok: workers.every((w) => w.problem === null),
      detail: workers.filter((w) => w.problem !== null).map((w) => `#${w.index}: ${w.problem}`).join('; ') || `${workers.length} reported`,
    },
  ];
  if (r.sut) checks.push({ name: 'system under test alive', ok: r.sutAlive, detail: r.sutAlive ? 'until the end' : 'a spawned process exited during the run' });
  if (r.aborted) checks.push({ name: 'completed', ok: false, detail: 'interrupted by a signal' });
  return checks;
}

/**
 * Successful logins that went to gateway `g` of `n` (users are placed round-robin, so a gateway
 * gets its share of the logins in proportion to the users assigned to it).
 */
function gatewayShare(g: number, n: number, users: number, loggedIn: number): number {
  const assigned = Math.floor((users - 1 - g) / n) + 1;
  return users > 0 ? (loggedIn * assigned) / users : 0;
}
