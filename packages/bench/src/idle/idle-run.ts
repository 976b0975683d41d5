import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { TimeoutError, UnavailableError } from '@switchboard/core';
import { readRssBytes } from '../shared/proc.js';
import { installSignalStop, type RunIo } from '../shared/run-io.js';
import { Sut } from '../shared/sut.js';
import { heldDelay } from '../shared/wait.js';
import * as D from '../shared/defaults.js';
import { workerRange, type IdleOptions } from './idle-args.js';
import { CpuMeter, sumOrNull, type Mark } from './idle-cpu.js';
import { epochNow, type IdleGateway, type IdleWorkerJob } from './idle-ipc.js';
import { sample, spawnedProbes, type Probe } from './idle-probes.js';
import { mib, type GatewayMetricsSample, type IdleReport, type IdleTimelineEntry } from './idle-report.js';
import { idleReport, median, total, type Baseline, type IdleMarks, type LoginMarks } from './idle-results.js';
import { sumCounters, Worker } from './idle-worker-proc.js';

/**
 * Linux picks even local ports first for connect() and scans the whole even half of
 * `ip_local_port_range` before trying odd ones: once more connections to one address are open than
 * half the range holds, every further connect scans thousands of ports (measured here: 19k users over
 * the default 32768–60999 range gave 1.4k logins/s in the last seconds, all of it client CPU).
 */
export function ephemeralPortWarning(connectionsPerTarget: number, rangeFile = '/proc/sys/net/ipv4/ip_local_port_range'): string | null {
  let range: number[];
  try {
    range = readFileSync(rangeFile, 'utf8').trim().split(/\s+/).map(Number);
  } catch {
    return null; // no such file (not Linux): nothing to warn about
  }
  const [lo, hi] = range;
  if (lo === undefined || hi === undefined || !Number.isFinite(lo) || !Number.isFinite(hi)) return null;
  const half = Math.floor((hi - lo + 1) / 2);
  if (connectionsPerTarget <= half) return null;
  return (
    `warning: ${connectionsPerTarget} connections per gateway address exceed half the ephemeral port range ${lo}-${hi} (${half}); ` +
    `late connects will be slow and cost client CPU. Widen it for the run, e.g. sysctl -w net.ipv4.ip_local_port_range="10000 65000"`
  );
}

/** What the phases of one idle run share; `sut`, `probes` and `workers` are what the end stops. */
interface IdleRun {
  readonly opts: IdleOptions;
  readonly io: RunIo;
  readonly signals: { readonly aborted: boolean };
  sut: Sut | null;
  probes: Probe[];
  gateways: IdleGateway[];
  readonly workers: Worker[];
  /** Logins per epoch second, over all workers. */
  readonly perSecond: Map<number, number>;
  /** Logins since the last progress tick. */
  loginsSinceTick: number;
}

/**
 * `switchboard bench idle`: start the system under test if asked, fork the client workers, take
 * the gateways' baseline RSS, log every user in as fast as allowed (logins/s, peak second, login
 * latency), hold everyone idle with keepalives only, sample the gateways' RSS over the last seconds
 * and report (idle − baseline) / users, the gateways' CPU and the workers' RSS. Never throws for a
 * bad result (the report's `checks` say so); throws when the run itself cannot be done.
 */
export async function runIdle(opts: IdleOptions, io: RunIo): Promise<IdleReport> {
  const startedAt = new Date().toISOString();
  const loadAvgAtStart = loadavg()[0] ?? NaN;
  const signals = installSignalStop(io);
  const run: IdleRun = { opts, io, signals, sut: null, probes: [], gateways: [], workers: [], perSecond: new Map(), loginsSinceTick: 0 };
  try {
    await startTarget(run);
    await startWorkers(run);
    const baseline = await measureBaseline(run);
    const meter = new CpuMeter(run.probes, run.workers, run.sut);
    const ticker = new Ticker(run, meter, await meter.mark());
    const { loggedInNow, ...login } = await loginPhase(run, meter, ticker);
    const idle = await idlePhase(run, meter, ticker, login.afterLogin, loggedInNow);
    const sutAlive = await stopWorkers(run);
    const { sut, probes, gateways, workers, perSecond } = run;
    return idleReport({
      opts,
      startedAt,
      loadAvgAtStart,
      aborted: signals.aborted,
      sut,
      sutAlive,
      probes,
      gateways,
      workers,
      perSecond,
      meter,
      baseline,
      login,
      idle,
      timeline: ticker.timeline,
    });
  } finally {
    signals.dispose();
    for (const w of run.workers) w.kill();
    if (run.sut) await run.sut.stop();
  }
}

/** Start the system under test if asked; the gateways to probe and to log users in to. */
async function startTarget(run: IdleRun): Promise<void> {
  const { opts, io } = run;
  if (opts.target.kind === 'spawn-standalone' || opts.target.kind === 'spawn-cluster') {
    const gws = opts.target.kind === 'spawn-cluster' ? opts.target.gateways : null;
    io.log(`starting ${gws === null ? 'switchboard standalone' : `a cluster of dispatch + ${gws} gateways`}…`);
    run.sut = await Sut.start({
      kind: gws === null ? 'standalone' : 'cluster',
      gateways: gws ?? 1,
      senseMode: opts.senseMode,
      env: opts.sutEnv,
      nodeArgs: opts.sutNodeArgs,
    });
    run.probes = await spawnedProbes(run.sut, opts.uidPrefix);
  } else {
    const t = opts.target;
    run.probes = [{ gw: { node: 'direct', ws: t.wsUrl, tcp: t.tcp }, pid: null, admin: t.adminUrl, source: t.adminUrl ? 'metrics' : 'unknown' }];
  }
  const { probes } = run;
  run.gateways = probes.map((p) => p.gw);
  io.log(`gateways: ${probes.map((p) => `${p.gw.node} ${p.gw.ws}${p.pid ? ` pid ${p.pid}` : ''}`).join(', ')}`);
  const ports = ephemeralPortWarning(Math.ceil(opts.users / probes.length));
  if (ports) io.log(ports);
}

/** Fork the client workers (each with its range of the users) and wait until all are ready. */
async function startWorkers(run: IdleRun): Promise<void> {
  const { opts, io, workers } = run;
  const onLogins = (pairs: Array<[number, number]>) => {
    for (const [sec, n] of pairs) {
      run.perSecond.set(sec, (run.perSecond.get(sec) ?? 0) + n);
      run.loginsSinceTick += n;
    }
  };
  io.log(`starting ${opts.procs} client worker process${opts.procs === 1 ? '' : 'es'}…`);
  for (let w = 0; w < opts.procs; w++) {
    const r = workerRange(w, opts.procs, opts.users);
    workers.push(Worker.start(w + 1, r.from, r.to, onLogins));
  }
  const readyBy = performance.now() + D.IDLE_WORKER_READY_TIMEOUT_MS;
  while (!workers.every((w) => w.isReady)) {
    const bad = workers.find((w) => w.gone);
    if (bad) throw new UnavailableError(`client worker #${bad.index} failed to start: ${bad.problem}\n${bad.output()}`);
    if (performance.now() > readyBy) throw new TimeoutError(`client workers not ready within ${D.IDLE_WORKER_READY_TIMEOUT_MS} ms`);
    if (run.signals.aborted) throw new UnavailableError('interrupted while starting the client workers');
    await heldDelay(50);
  }
}

/** The gateways' RSS with 0 users, after the settle (`--settle`), and one `/metrics` reading. */
async function measureBaseline({ opts, io, sut, probes }: IdleRun): Promise<Baseline> {
  const startedMs = sut ? Math.max(...sut.processes.map((p) => p.readyAt)) : Date.now();
  const settleLeft = startedMs + opts.settleS * 1000 - Date.now();
  if (settleLeft > 0) await heldDelay(settleLeft);
  const samples: number[][] = probes.map(() => []);
  for (let k = 0; k < D.IDLE_RSS_SAMPLES; k++) {
    if (k > 0) await heldDelay(D.IDLE_BASELINE_SAMPLE_GAP_MS);
    const s = await Promise.all(probes.map((p) => sample(p, false)));
    s.forEach((x, g) => x.rssBytes !== null && samples[g]!.push(x.rssBytes));
  }
  const metrics = (await Promise.all(probes.map((p) => sample(p, true)))).map((s) => s.metrics);
  const rss = samples.map((xs) => median(xs));
  io.log(`baseline (0 users): gateway rss ${rss.map((b) => mib(b)).join(', ')}`);
  return { samples, rss, metrics };
}

const fmtCores = (c: number | null) => (c === null ? '-' : c.toFixed(2));

/** The per-second ticks of the login and idle phases: a progress line and a timeline entry each. */
class Ticker {
  readonly timeline: IdleTimelineEntry[] = [];
  /** performance.now() of the login's start: t = 0 of the timeline. */
  loginStart = 0;

  constructor(
    private readonly run: IdleRun,
    private readonly meter: CpuMeter,
    /** The mark of the previous tick (or of the phase's start): the CPU of a tick is since then. */
    public last: Mark,
  ) {}

  async tick(phase: 'login' | 'idle', label: string): Promise<void> {
    const { run } = this;
    const { workers, opts } = run;
    const sum = (f: Parameters<typeof sumCounters>[1]) => sumCounters(workers, f);
    const m = await this.meter.mark();
    const cpu = this.meter.between(this.last, m);
    this.last = m;
    const rss = sumOrNull(m.rss);
    const e: IdleTimelineEntry = {
      t: Math.round((m.at - this.loginStart) / 100) / 10,
      phase,
      loggedIn: sum((c) => c.loggedIn),
      online: sum((c) => c.online),
      inFlight: sum((c) => c.inFlight),
      logins: run.loginsSinceTick,
      failedAttempts: sum((c) => total(c.loginFailures)),
      disconnects: sum((c) => total(c.disconnects)),
      gatewayRssBytes: rss,
      gatewayCpuCores: cpu.gateways,
      workersCpuCores: cpu.workers,
      otherCores: cpu.others,
      workersRssBytes: sum((c) => c.rssBytes),
    };
    run.loginsSinceTick = 0;
    this.timeline.push(e);
    const tail = `gateway rss ${mib(rss)} cpu ${fmtCores(cpu.gateways)}, workers cpu ${fmtCores(cpu.workers)}, others ${fmtCores(cpu.others)}`;
    run.io.log(
      phase === 'login'
        ? `${label}: logged in ${e.loggedIn}/${opts.users} (+${e.logins}), in flight ${e.inFlight}, failed attempts ${e.failedAttempts}, ${tail}`
        : `${label}: online ${e.online}/${opts.users}, disconnects ${e.disconnects}, keepalives ${sum((c) => c.keepAlivesSent)} sent / ` +
            `${sum((c) => c.keepAliveAnswers)} answered, ${tail}`,
    );
  }
}

/** Tell every worker to log its users in; wait until all are in (or gave up), ticking every second. */
async function loginPhase(run: IdleRun, meter: CpuMeter, ticker: Ticker): Promise<LoginMarks & { loggedInNow: number }> {
  const { opts, io, workers, signals } = run;
  const atLogin = await meter.mark();
  const workerRssAtLogin = workers.map((w) => (w.pid ? readRssBytes(w.pid) : null));
  ticker.last = atLogin;
  const loginStart = atLogin.at;
  ticker.loginStart = loginStart;
  const loginDeadline = epochNow() + opts.loginTimeoutS * 1000;
  io.log(
    `logging in ${opts.users} users (${opts.procs} workers, ${opts.wsClient} WebSocket client, ${opts.loginConcurrency} in flight each` +
      `${opts.loginRatePerSec ? `, ${opts.loginRatePerSec}/s` : ', as fast as possible'})…`,
  );
  for (const w of workers) {
    const job: IdleWorkerJob = {
      from: w.from,
      to: w.to,
      uidPrefix: opts.uidPrefix,
      tcpShare: opts.tcpShare,
      wsClient: opts.wsClient,
      gateways: run.gateways,
      loginConcurrency: opts.loginConcurrency,
      loginRatePerSec: opts.loginRatePerSec === null ? null : (opts.loginRatePerSec * w.users) / opts.users,
      loginDeadline,
      attemptTimeoutMs: D.DEFAULT_LOGIN_RESPONSE_TIMEOUT_MS,
      senseMode: opts.senseMode,
    };
    w.send({ type: 'login', job });
  }
  let nextTick = loginStart + D.IDLE_PROGRESS_INTERVAL_MS;
  while (!workers.every((w) => w.loggedIn !== null || w.gone) && !signals.aborted) {
    await heldDelay(Math.min(50, nextTick - performance.now()));
    if (performance.now() >= nextTick) {
      await ticker.tick('login', `login t=${Math.round((performance.now() - loginStart) / 1000)}s`);
      nextTick += D.IDLE_PROGRESS_INTERVAL_MS;
    }
  }
  // The last (partial) second of the login phase, so the timeline holds every login.
  if (performance.now() - ticker.last.at >= 100) await ticker.tick('login', `login t=${((performance.now() - loginStart) / 1000).toFixed(1)}s`);
  const afterLogin = ticker.last.at >= performance.now() - 20 ? ticker.last : await meter.mark();
  const loggedInNow = sumCounters(workers, (c) => c.loggedIn);
  const failures = sumCounters(workers, (c) => total(c.loginFailures));
  io.log(`${loggedInNow}/${opts.users} users logged in after ${Math.round(afterLogin.at - loginStart)} ms (${failures} failed attempts)`);
  return { atLogin, afterLogin, workerRssAtLogin, loggedInNow };
}

/**
 * Hold everyone idle for `--idle` seconds, ticking every second and sampling the gateways' RSS over
 * the last seconds; then the end mark, the workers' RSS and the gateways' `/metrics`.
 */
async function idlePhase(run: IdleRun, meter: CpuMeter, ticker: Ticker, afterLogin: Mark, loggedInNow: number): Promise<IdleMarks> {
  const { opts, io, workers, probes, signals } = run;
  const idleStart = afterLogin.at;
  const idleEnd = idleStart + opts.idleS * 1000;
  const windowMs = Math.min(D.IDLE_RSS_WINDOW_S, opts.idleS / 2) * 1000;
  const sampleAt = Array.from({ length: D.IDLE_RSS_SAMPLES }, (_, k) => idleEnd - windowMs + (k * windowMs) / (D.IDLE_RSS_SAMPLES - 1));
  const samples: number[][] = probes.map(() => []);
  ticker.last = afterLogin;
  let nextTick = idleStart + D.IDLE_PROGRESS_INTERVAL_MS;
  if (!signals.aborted) io.log(`holding ${loggedInNow} users idle for ${opts.idleS} s (keepalives only, sense mode ${opts.senseMode})…`);
  while (!signals.aborted) {
    const now = performance.now();
    while (sampleAt.length > 0 && sampleAt[0]! <= now) {
      sampleAt.shift();
      const s = await Promise.all(probes.map((p) => sample(p, false)));
      s.forEach((x, g) => x.rssBytes !== null && samples[g]!.push(x.rssBytes));
    }
    if (sampleAt.length === 0 && now >= idleEnd) break;
    if (now >= nextTick) {
      await ticker.tick('idle', `idle t=${Math.round((now - idleStart) / 1000)}/${opts.idleS}s`);
      nextTick += D.IDLE_PROGRESS_INTERVAL_MS;
    }
    await heldDelay(Math.min(50, nextTick - performance.now(), (sampleAt[0] ?? idleEnd) - performance.now()));
  }
  const afterIdle = await meter.mark();
  const workerRss = workers.map((w) => (w.pid ? readRssBytes(w.pid) : null));
  // Heap and the gateway's own connection count, read after the RSS samples (a scrape allocates).
  const metrics: Array<GatewayMetricsSample | null> = (await Promise.all(probes.map((p) => sample(p, true)))).map((s) => s.metrics);
  return { afterIdle, samples, metrics, workerRss };
}

/** Stop the workers (their final reports say who is still online), then the system under test; whether it lived to the end. */
async function stopWorkers({ io, workers, sut }: IdleRun): Promise<boolean> {
  for (const w of workers) w.send({ type: 'stop' });
  const finalBy = performance.now() + D.IDLE_WORKER_FINAL_TIMEOUT_MS;
  while (!workers.every((w) => w.final !== null || w.gone) && performance.now() < finalBy) await heldDelay(50);
  for (const w of workers) if (w.final === null) w.problem ??= 'no final report';
  const sutAlive = sut ? sut.processes.every((p) => p.alive) : true;
  if (sut) {
    io.log('stopping the system under test…');
    await sut.stop();
  }
  return sutAlive;
}
