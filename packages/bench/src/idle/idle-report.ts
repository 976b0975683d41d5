import type { LatencySummary } from '../shared/histogram.js';
import type { IdleOptions } from './idle-args.js';
import type { IdleGateway, ReasonCounts } from './idle-ipc.js';
import type { ProcessReport } from '../shared/proc.js';
import type { WsClient } from '../conn/types.js';

/** What a gateway's `/metrics` said (prom-client default metrics plus ours); null when absent. */
export interface GatewayMetricsSample {
  rssBytes: number | null;
  heapUsedBytes: number | null;
  heapTotalBytes: number | null;
  externalBytes: number | null;
  /** `switchboard_connections`, all transports. */
  connections: number | null;
}

/** Memory and CPU of one gateway under idle mode. */
export interface IdleGatewayReport {
  node: string;
  pid: number | null;
  /** Admin base URL whose `/metrics` was read (spawned: for the heap figures only). */
  admin: string | null;
  /** Where RSS and CPU came from: /proc of a spawned process, `/metrics`, or nowhere. */
  source: 'proc' | 'metrics' | 'unknown';
  /** Users online on this gateway at the end (the divisor of `bytesPerUser`). */
  users: number;
  /** Median of the baseline samples (0 users, after the settle), bytes. */
  baselineRssBytes: number | null;
  baselineSamples: number[];
  /** Median of the samples over the last seconds of the idle phase, bytes. */
  idleRssBytes: number | null;
  idleSamples: number[];
  /** (idle RSS − baseline RSS) / users. */
  bytesPerUser: number | null;
  kibPerUser: number | null;
  /** CPU cores while logging in (first login command → last worker done) and while idle. */
  cpuCores: { login: number | null; idle: number | null };
  /** Gateway CPU time per successful login during the login phase, µs. */
  cpuUsPerLogin: number | null;
  metrics: { baseline: GatewayMetricsSample | null; idle: GatewayMetricsSample | null };
}

/**
 * CPU cores used in a phase: the gateways (from /proc or their `/metrics`), the client workers,
 * this bench process, the whole machine, and other processes (machine − workers − bench − spawned
 * processes; for a gateway the bench did not start, that gateway is among the others when it
 * runs on this machine). A large `others` means someone else used the machine: a noisy run.
 */
export interface PhaseCpu {
  gateways: number | null;
  workers: number | null;
  bench: number | null;
  machine: number | null;
  others: number | null;
}

/** One client worker process. */
export interface IdleWorkerReport {
  index: number;
  pid: number | null;
  users: number;
  loggedIn: number;
  onlineAtEnd: number;
  /** RSS at the end of the idle phase, bytes. */
  rssBytes: number | null;
  /** RSS when the login command went out (loaded, no connections), bytes. */
  rssAtLoginBytes: number | null;
  /** (rssBytes − rssAtLoginBytes) / users online at the end: what one simulated user costs the worker. */
  bytesPerUser: number | null;
  /** CPU cores while logging in and while idle. */
  cpuCores: { login: number | null; idle: number | null };
  exit: { code: number | null; signal: string | null } | null;
  /** Set when the worker failed (crashed, exited early, reported an error). */
  problem: string | null;
}

/** One second of the run (t = 0 when the login command went out). */
export interface IdleTimelineEntry {
  t: number;
  phase: 'login' | 'idle';
  loggedIn: number;
  online: number;
  inFlight: number;
  /** Successful logins reported in this second. */
  logins: number;
  failedAttempts: number;
  disconnects: number;
  /** Sum over the gateways; null when unknown. */
  gatewayRssBytes: number | null;
  gatewayCpuCores: number | null;
  workersCpuCores: number | null;
  /** Other processes' CPU in this second (see `PhaseCpu.others`). */
  otherCores: number | null;
  workersRssBytes: number;
}

/** Everything one `switchboard bench idle` run measured; what `--json FILE` writes. */
export interface IdleReport {
  version: 1;
  mode: 'idle';
  startedAt: string;
  finishedAt: string;
  machine: { node: string; platform: string; cpus: number; cpuModel: string; loadAvgAtStart: number };
  options: IdleOptions;
  target: { kind: string; gateways: IdleGateway[] };
  /** The workers' WebSocket client (`--ws-client`): `raw` (the bench's own) or `ws` (the library). */
  wsClient: WsClient;
  users: {
    total: number;
    ws: number;
    tcp: number;
    loggedIn: number;
    /** Online with an open connection when the idle phase ended. */
    onlineAtEnd: number;
    /** Logged-in users lost before the end, by reason. */
    disconnects: ReasonCounts;
    /** Type-52 error packets (and undecodable or unexpected packets), by code. */
    errors: ReasonCounts;
  };
  login: {
    /** First connect started → last successful login answer, ms (over all workers). */
    wallMs: number | null;
    /** Successful logins / wallMs. */
    loginsPerSec: number | null;
    /** Most successful logins in one wall-clock second. */
    peakPerSec: number;
    /** Successful logins per wall-clock second, from the first connect's second to the last login's. */
    perSecond: number[];
    /** Connect start → login answer with code 0, ms. */
    latencyMs: LatencySummary;
    attempts: number;
    /** Failed attempts by reason (each was retried until the login deadline). */
    failures: ReasonCounts;
    /** Users still not logged in at the login deadline. */
    gaveUp: number;
    /** First login command → last worker done. */
    cpu: PhaseCpu;
    /** CPU time per successful login in that phase, µs: all gateways together, all workers together. */
    cpuUsPerLogin: { gateways: number | null; workers: number | null };
  };
  idle: {
    /** Seconds held idle after the last worker finished logging in. */
    seconds: number;
    keepAlivesSent: number;
    keepAliveAnswers: number;
    cpu: PhaseCpu;
  };
  /** Totals over the gateways (each gateway's own figures are in `gateways`). */
  memory: {
    source: 'proc' | 'metrics' | 'unknown';
    baselineRssBytes: number | null;
    idleRssBytes: number | null;
    users: number;
    bytesPerUser: number | null;
    kibPerUser: number | null;
    gateways: IdleGatewayReport[];
  };
  workers: IdleWorkerReport[];
  timeline: IdleTimelineEntry[];
  processes: ProcessReport[];
  checks: Array<{ name: string; ok: boolean; detail: string }>;
}

/** JSON text of a report: NaN and ±Infinity become null. */
export function idleReportJson(r: IdleReport): string {
  return JSON.stringify(r, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n';
}

const fmt = (n: number | null, digits = 0): string =>
  n !== null && Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '-';
const ms = (n: number): string => (Number.isFinite(n) ? (n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0)) : '-');
/** Bytes as MiB with one decimal. */
export const mib = (b: number | null): string => (b !== null && Number.isFinite(b) ? `${(b / 1_048_576).toFixed(1)} MiB` : 'unknown');
const cores = (c: number | null): string => (c !== null && Number.isFinite(c) ? c.toFixed(2) : '-');
const reasons = (m: ReasonCounts): string =>
  Object.entries(m)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ×${fmt(n)}`)
    .join(', ') || 'none';

function table(rows: Array<[string, string]>): string {
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`).join('\n');
}

function perUser(g: { bytesPerUser: number | null; kibPerUser: number | null; users: number }): string {
  return g.bytesPerUser === null ? 'unknown' : `${fmt(g.bytesPerUser)} bytes = ${fmt(g.kibPerUser, 2)} KiB per user (${fmt(g.users)} users)`;
}

/** The human table printed at the end of an idle run. */
export function formatIdleReport(r: IdleReport): string {
  const o = r.options;
  const u = r.users;
  const l = r.login;
  const m = r.memory;
  const rows: Array<[string, string]> = [
    ['logged in', `${fmt(u.loggedIn)}/${fmt(u.total)} (${fmt(l.attempts)} attempts; failed attempts: ${reasons(l.failures)}${l.gaveUp ? `; ${fmt(l.gaveUp)} gave up` : ''})`],
    [
      'logins/s',
      l.loginsPerSec === null
        ? '-'
        : `${fmt(l.loginsPerSec)} (${fmt(u.loggedIn)} in ${fmt(l.wallMs)} ms, first connect → last login answer); peak second ${fmt(l.peakPerSec)}`,
    ],
    ['login latency', `p50 ${ms(l.latencyMs.p50)}  p90 ${ms(l.latencyMs.p90)}  p99 ${ms(l.latencyMs.p99)}  max ${ms(l.latencyMs.max)} ms  (connect → answer, n=${fmt(l.latencyMs.count)})`],
    ['idle', `${fmt(r.idle.seconds, 1)} s after the last login; keepalives sent ${fmt(r.idle.keepAlivesSent)}, answered ${fmt(r.idle.keepAliveAnswers)}`],
    ['online at end', `${fmt(u.onlineAtEnd)}/${fmt(u.total)}; disconnects: ${reasons(u.disconnects)}; error packets: ${reasons(u.errors)}`],
  ];
  const many = m.gateways.length > 1;
  for (const g of m.gateways) {
    const heap = (x: GatewayMetricsSample | null) => (x ? `heap used ${mib(x.heapUsedBytes)} of ${mib(x.heapTotalBytes)}, external ${mib(x.externalBytes)}` : null);
    rows.push([
      many ? `gateway ${g.node}` : 'gateway rss',
      `baseline ${mib(g.baselineRssBytes)} → idle ${mib(g.idleRssBytes)} (medians of ${g.baselineSamples.length} / ${g.idleSamples.length} samples, ${g.source === 'proc' ? `/proc/${g.pid}/status` : g.source === 'metrics' ? `${g.admin}/metrics` : 'no source: give --admin URL'})`,
    ]);
    rows.push([many ? '  per user' : 'per user', perUser(g)]);
    const hb = heap(g.metrics.baseline);
    const hi = heap(g.metrics.idle);
    if (hb || hi) rows.push([many ? '  /metrics' : 'gateway /metrics', `baseline ${hb ?? '-'}; idle ${hi ?? '-'}; connections ${fmt(g.metrics.idle?.connections ?? null)}`]);
    rows.push([
      many ? '  cpu (cores)' : 'gateway cpu',
      `login ${cores(g.cpuCores.login)} (${g.cpuUsPerLogin === null ? '-' : `${fmt(g.cpuUsPerLogin)} µs per login`}), idle ${cores(g.cpuCores.idle)}`,
    ]);
  }
  if (many) rows.push(['all gateways', `baseline ${mib(m.baselineRssBytes)} → idle ${mib(m.idleRssBytes)}; ${perUser(m)}`]);
  const phase = (c: PhaseCpu) =>
    `gateway${many ? 's' : ''} ${cores(c.gateways)}, workers ${cores(c.workers)}, bench ${cores(c.bench)}; machine ${cores(c.machine)}, other processes ${cores(c.others)}`;
  rows.push([
    'cpu login (cores)',
    `${phase(l.cpu)}; per login: gateway${many ? 's' : ''} ${fmt(l.cpuUsPerLogin.gateways)} µs, workers ${fmt(l.cpuUsPerLogin.workers)} µs`,
  ]);
  rows.push(['cpu idle (cores)', phase(r.idle.cpu)]);
  rows.push([
    'workers',
    r.workers
      .map((w) => `#${w.index} pid ${w.pid ?? '-'}: ${fmt(w.onlineAtEnd)}/${fmt(w.users)} online, rss ${mib(w.rssAtLoginBytes)} → ${mib(w.rssBytes)} (${fmt(w.bytesPerUser)} bytes per user), cpu login ${cores(w.cpuCores.login)} idle ${cores(w.cpuCores.idle)}${w.problem ? ` [${w.problem}]` : ''}`)
      .join('; '),
  ]);
  const out: string[] = [
    `switchboard bench idle — ${r.target.kind} (${r.target.gateways.length} gateway${r.target.gateways.length === 1 ? '' : 's'}: ${r.target.gateways.map((g) => g.ws).join(', ')})`,
    `  ${fmt(u.total)} users (${fmt(u.ws)} ws, ${fmt(u.tcp)} tcp) over ${o.procs} worker process${o.procs === 1 ? '' : 'es'} (WebSocket client: ${r.wsClient}), ` +
      `${o.loginConcurrency} logins in flight per worker${o.loginRatePerSec ? `, ${fmt(o.loginRatePerSec)} logins/s offered` : ''}, idle ${o.idleS} s, sense mode ${o.senseMode}`,
    '',
    table(rows),
  ];
  const noise = Math.max(l.cpu.others ?? 0, r.idle.cpu.others ?? 0);
  if (noise > 0.2) out.push('', `note: other processes used up to ${noise.toFixed(2)} cores in a phase: the numbers are noisy`);
  const noisy = r.processes.filter((p) => p.warnLines + p.errorLines > 0);
  if (noisy.length) {
    out.push('', 'system under test logged (after ready)');
    for (const p of noisy) {
      out.push(`  ${p.name}: ${p.errorLines} error, ${p.warnLines} warn lines`);
      for (const x of p.problems.slice(0, 8)) out.push(`    [${x.level >= 50 ? 'error' : 'warn'}] ×${x.count} ${x.msg.slice(0, 160)}`);
    }
  }
  out.push('', table(r.checks.map((c) => [c.ok ? 'ok' : 'FAIL', `${c.name}: ${c.detail}`])));
  return out.join('\n') + '\n';
}
