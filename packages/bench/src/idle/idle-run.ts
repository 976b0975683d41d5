import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { TimeoutError, UnavailableError } from '@switchboard/core';
import { isTcpUser } from '../shared/args.js';
import { LatencyHistogram } from '../shared/histogram.js';
import { workerRange, type IdleOptions } from './idle-args.js';
import { epochNow, type IdleWorkerJob, type ReasonCounts, type WorkerCounters } from './idle-ipc.js';
import {
  mib,
  type GatewayMetricsSample,
  type IdleGatewayReport,
  type IdleReport,
  type IdleTimelineEntry,
  type IdleWorkerReport,
  type PhaseCpu,
} from './idle-report.js';
import { machineCpu, processReport, readCpuSeconds, readRssBytes } from '../shared/proc.js';
import { installSignalStop, type RunIo } from '../shared/run-io.js';
import { Sut } from '../shared/sut.js';
import { sample, spawnedProbes, type Probe } from './idle-probes.js';
import { Worker } from './idle-worker-proc.js';
import { heldDelay } from '../shared/wait.js';
import * as D from '../shared/defaults.js';

// ------------------------------------------------------------------ the run

const median = (xs: readonly number[]): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

function addCounts(into: ReasonCounts, from: ReasonCounts): void {
  for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n;
}

const total = (m: ReasonCounts): number => Object.values(m).reduce((a, b) => a + b, 0);

/** CPU cores between two CPU-seconds readings `ms` apart; null when either is unknown. */
const coresBetween = (a: number | null | undefined, b: number | null | undefined, ms: number): number | null =>
  a != null && b != null && ms > 0 ? (b - a) / (ms / 1000) : null;

const sumOrNull = (xs: Array<number | null>): number | null => (xs.some((x) => x === null) ? null : xs.reduce<number>((a, b) => a + b!, 0));

/**
 * `switchboard bench idle`: start the system under test if asked, fork the client workers, take
 * the gateways' baseline RSS, log every user in as fast as allowed (logins/s, peak second, login
 * latency), hold everyone idle with keepalives only, sample the gateways' RSS over the last seconds
 * and report (idle − baseline) / users, the gateways' CPU and the workers' RSS. Never throws for a
 * bad result (the report's `checks` say so); throws when the run itself cannot be done.
 */
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
    return null;
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

export async function runIdle(opts: IdleOptions, io: RunIo): Promise<IdleReport> {
  const startedAt = new Date().toISOString();
  const loadAvgAtStart = loadavg()[0] ?? NaN;
  const signals = installSignalStop(io);
  let sut: Sut | null = null;
  const workers: Worker[] = [];
  try {
    // ---- target
    let probes: Probe[];
    if (opts.target.kind === 'spawn-standalone' || opts.target.kind === 'spawn-cluster') {
      const gws = opts.target.kind === 'spawn-cluster' ? opts.target.gateways : null;
      io.log(`starting ${gws === null ? 'switchboard standalone' : `a cluster of dispatch + ${gws} gateways`}…`);
      sut = await Sut.start({
        kind: gws === null ? 'standalone' : 'cluster',
        gateways: gws ?? 1,
        senseMode: opts.senseMode,
        env: opts.sutEnv,
        nodeArgs: opts.sutNodeArgs,
      });
      probes = await spawnedProbes(sut, opts.uidPrefix);
    } else {
      const t = opts.target;
      probes = [{ gw: { node: 'direct', ws: t.wsUrl, tcp: t.tcp }, pid: null, admin: t.adminUrl, source: t.adminUrl ? 'metrics' : 'unknown' }];
    }
    const gateways = probes.map((p) => p.gw);
    io.log(`gateways: ${probes.map((p) => `${p.gw.node} ${p.gw.ws}${p.pid ? ` pid ${p.pid}` : ''}`).join(', ')}`);
    const ports = ephemeralPortWarning(Math.ceil(opts.users / probes.length));
    if (ports) io.log(ports);

    // ---- workers
    const perSecond = new Map<number, number>();
    let loginsSinceTick = 0;
    const onLogins = (pairs: Array<[number, number]>) => {
      for (const [sec, n] of pairs) {
        perSecond.set(sec, (perSecond.get(sec) ?? 0) + n);
        loginsSinceTick += n;
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
      if (signals.aborted) throw new UnavailableError('interrupted while starting the client workers');
      await heldDelay(50);
    }

    // ---- baseline: 0 users, after the settle
    const startedMs = sut ? Math.max(...sut.processes.map((p) => p.readyAt)) : Date.now();
    const settleLeft = startedMs + opts.settleS * 1000 - Date.now();
    if (settleLeft > 0) await heldDelay(settleLeft);
    const baselineSamples: number[][] = probes.map(() => []);
    for (let k = 0; k < D.IDLE_RSS_SAMPLES; k++) {
      if (k > 0) await heldDelay(D.IDLE_BASELINE_SAMPLE_GAP_MS);
      const s = await Promise.all(probes.map((p) => sample(p, false)));
      s.forEach((x, g) => x.rssBytes !== null && baselineSamples[g]!.push(x.rssBytes));
    }
    const baselineMetrics = (await Promise.all(probes.map((p) => sample(p, true)))).map((s) => s.metrics);
    const baselineRss = baselineSamples.map((xs) => median(xs));
    io.log(`baseline (0 users): gateway rss ${baselineRss.map((b) => mib(b)).join(', ')}`);

    // ---- CPU marks: the gateways (from their probes), the workers, everything spawned, this
    // process and the whole machine; "others" = machine − what the run itself used.
    interface Mark {
      at: number;
      gw: Array<number | null>;
      rss: Array<number | null>;
      workers: Array<number | null>;
      sut: number | null;
      self: number;
      machine: number | null;
    }
    const mark = async (): Promise<Mark> => {
      const s = await Promise.all(probes.map((p) => sample(p, false)));
      const self = process.cpuUsage();
      return {
        at: performance.now(),
        gw: s.map((x) => x.cpuSeconds),
        rss: s.map((x) => x.rssBytes),
        workers: workers.map((w) => (w.pid ? readCpuSeconds(w.pid) : null)),
        sut: sut ? sumOrNull(sut.processes.map((p) => p.cpuSeconds())) : null,
        self: (self.user + self.system) / 1e6,
        machine: machineCpu()?.busy ?? null,
      };
    };
    const phaseCpu = (a: Mark, b: Mark): PhaseCpu => {
      const ms = b.at - a.at;
      const gateways = sumOrNull(probes.map((_, g) => coresBetween(a.gw[g], b.gw[g], ms)));
      const wk = sumOrNull(workers.map((_, i) => coresBetween(a.workers[i], b.workers[i], ms)));
      const bench = coresBetween(a.self, b.self, ms);
      const spawned = sut ? coresBetween(a.sut, b.sut, ms) : 0;
      const machine = coresBetween(a.machine, b.machine, ms);
      const ours = sumOrNull([wk, bench, spawned]);
      return { gateways, workers: wk, bench, machine, others: machine !== null && ours !== null ? Math.max(0, machine - ours) : null };
    };
    const fmtCores = (c: number | null) => (c === null ? '-' : c.toFixed(2));

    // ---- per-second ticks (progress line + timeline)
    const timeline: IdleTimelineEntry[] = [];
    const sum = (f: (c: WorkerCounters) => number) => workers.reduce((a, w) => a + (w.counters ? f(w.counters) : 0), 0);
    const failures = () => workers.reduce((a, w) => a + (w.counters ? total(w.counters.loginFailures) : 0), 0);
    const drops = () => workers.reduce((a, w) => a + (w.counters ? total(w.counters.disconnects) : 0), 0);
    let lastTick = await mark();
    const tick = async (phase: 'login' | 'idle', label: string) => {
      const m = await mark();
      const cpu = phaseCpu(lastTick, m);
      lastTick = m;
      const rss = sumOrNull(m.rss);
      const e: IdleTimelineEntry = {
        t: Math.round((m.at - loginStart) / 100) / 10,
        phase,
        loggedIn: sum((c) => c.loggedIn),
        online: sum((c) => c.online),
        inFlight: sum((c) => c.inFlight),
        logins: loginsSinceTick,
        failedAttempts: failures(),
        disconnects: drops(),
        gatewayRssBytes: rss,
        gatewayCpuCores: cpu.gateways,
        workersCpuCores: cpu.workers,
        otherCores: cpu.others,
        workersRssBytes: sum((c) => c.rssBytes),
      };
      loginsSinceTick = 0;
      timeline.push(e);
      const tail = `gateway rss ${mib(rss)} cpu ${fmtCores(cpu.gateways)}, workers cpu ${fmtCores(cpu.workers)}, others ${fmtCores(cpu.others)}`;
      io.log(
        phase === 'login'
          ? `${label}: logged in ${e.loggedIn}/${opts.users} (+${e.logins}), in flight ${e.inFlight}, failed attempts ${e.failedAttempts}, ${tail}`
          : `${label}: online ${e.online}/${opts.users}, disconnects ${e.disconnects}, keepalives ${sum((c) => c.keepAlivesSent)} sent / ` +
              `${sum((c) => c.keepAliveAnswers)} answered, ${tail}`,
      );
    };

    // ---- login
    const atLogin = await mark();
    const workerRssAtLogin = workers.map((w) => (w.pid ? readRssBytes(w.pid) : null));
    lastTick = atLogin;
    const loginStart = atLogin.at;
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
        gateways,
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
        await tick('login', `login t=${Math.round((performance.now() - loginStart) / 1000)}s`);
        nextTick += D.IDLE_PROGRESS_INTERVAL_MS;
      }
    }
    // The last (partial) second of the login phase, so the timeline holds every login.
    if (performance.now() - lastTick.at >= 100) await tick('login', `login t=${((performance.now() - loginStart) / 1000).toFixed(1)}s`);
    const afterLogin = lastTick.at >= performance.now() - 20 ? lastTick : await mark();
    const loginEnd = afterLogin.at;
    const loggedInNow = sum((c) => c.loggedIn);
    io.log(`${loggedInNow}/${opts.users} users logged in after ${Math.round(loginEnd - loginStart)} ms (${failures()} failed attempts)`);

    // ---- idle
    const idleStart = afterLogin.at;
    const idleEnd = idleStart + opts.idleS * 1000;
    const windowMs = Math.min(D.IDLE_RSS_WINDOW_S, opts.idleS / 2) * 1000;
    const sampleAt = Array.from({ length: D.IDLE_RSS_SAMPLES }, (_, k) => idleEnd - windowMs + (k * windowMs) / (D.IDLE_RSS_SAMPLES - 1));
    const idleSamples: number[][] = probes.map(() => []);
    lastTick = afterLogin;
    nextTick = idleStart + D.IDLE_PROGRESS_INTERVAL_MS;
    let idleMetrics: Array<GatewayMetricsSample | null> = probes.map(() => null);
    if (!signals.aborted) io.log(`holding ${loggedInNow} users idle for ${opts.idleS} s (keepalives only, sense mode ${opts.senseMode})…`);
    while (!signals.aborted) {
      const now = performance.now();
      while (sampleAt.length > 0 && sampleAt[0]! <= now) {
        sampleAt.shift();
        const s = await Promise.all(probes.map((p) => sample(p, false)));
        s.forEach((x, g) => x.rssBytes !== null && idleSamples[g]!.push(x.rssBytes));
      }
      if (sampleAt.length === 0 && now >= idleEnd) break;
      if (now >= nextTick) {
        await tick('idle', `idle t=${Math.round((now - idleStart) / 1000)}/${opts.idleS}s`);
        nextTick += D.IDLE_PROGRESS_INTERVAL_MS;
      }
      await heldDelay(Math.min(50, nextTick - performance.now(), (sampleAt[0] ?? idleEnd) - performance.now()));
    }
    const afterIdle = await mark();
    const workerRss = workers.map((w) => (w.pid ? readRssBytes(w.pid) : null));
    // Heap and the gateway's own connection count, read after the RSS samples (a scrape allocates).
    idleMetrics = (await Promise.all(probes.map((p) => sample(p, true)))).map((s) => s.metrics);

    // ---- stop the workers: who is still online?
    for (const w of workers) w.send({ type: 'stop' });
    const finalBy = performance.now() + D.IDLE_WORKER_FINAL_TIMEOUT_MS;
    while (!workers.every((w) => w.final !== null || w.gone) && performance.now() < finalBy) await heldDelay(50);
    for (const w of workers) if (w.final === null) w.problem ??= 'no final report';
    const sutAlive = sut ? sut.processes.every((p) => p.alive) : true;
    if (sut) {
      io.log('stopping the system under test…');
      await sut.stop();
    }

    // ---- results
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
    const loggedIn = sum((c) => c.loggedIn);
    const onlineAtEnd = workers.reduce((a, w) => a + (w.final?.counters.online ?? 0), 0);
    const wallMs = Number.isFinite(firstStartAt) && Number.isFinite(lastLoginAt) ? lastLoginAt - firstStartAt : null;
    const seconds: number[] = [];
    if (wallMs !== null) {
      for (let s = Math.floor(firstStartAt / 1000); s <= Math.floor(lastLoginAt / 1000); s++) seconds.push(perSecond.get(s) ?? 0);
    }
    const loginMs = loginEnd - loginStart;
    const idleMs = afterIdle.at - idleStart;
    const loginCpu = phaseCpu(atLogin, afterLogin);
    const idleCpu = phaseCpu(afterLogin, afterIdle);
    const gwReports: IdleGatewayReport[] = probes.map((p, g) => {
      const users = workers.reduce((a, w) => a + (w.final?.onlineByGateway[g] ?? 0), 0);
      const base = baselineRss[g] ?? null;
      const idle = median(idleSamples[g]!);
      const bytesPerUser = base !== null && idle !== null && users > 0 ? (idle - base) / users : null;
      const a = atLogin.gw[g];
      const b = afterLogin.gw[g];
      const loginCpuS = a != null && b != null ? b - a : null;
      const gwLogins = gatewayShare(g, probes.length, opts.users, loggedIn);
      return {
        node: p.gw.node,
        pid: p.pid,
        admin: p.admin,
        source: p.source,
        users,
        baselineRssBytes: base,
        baselineSamples: baselineSamples[g]!,
        idleRssBytes: idle,
        idleSamples: idleSamples[g]!,
        bytesPerUser,
        kibPerUser: bytesPerUser === null ? null : bytesPerUser / 1024,
        cpuCores: { login: coresBetween(a, b, loginMs), idle: coresBetween(b, afterIdle.gw[g], idleMs) },
        cpuUsPerLogin: loginCpuS !== null && gwLogins > 0 ? (loginCpuS * 1e6) / gwLogins : null,
        metrics: { baseline: baselineMetrics[g] ?? null, idle: idleMetrics[g] ?? null },
      };
    });
    const memUsers = gwReports.reduce((a, g) => a + g.users, 0);
    const memBase = sumOrNull(gwReports.map((g) => g.baselineRssBytes));
    const memIdle = sumOrNull(gwReports.map((g) => g.idleRssBytes));
    const memPerUser = memBase !== null && memIdle !== null && memUsers > 0 ? (memIdle - memBase) / memUsers : null;
    const workerReports: IdleWorkerReport[] = workers.map((w, i) => {
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
    const tcpUsers = Array.from({ length: opts.users }, (_, i) => isTcpUser(i, opts.tcpShare) && gateways[i % gateways.length]!.tcp !== null).filter(Boolean).length;
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
    if (sut) checks.push({ name: 'system under test alive', ok: sutAlive, detail: sutAlive ? 'until the end' : 'a spawned process exited during the run' });
    if (signals.aborted) checks.push({ name: 'completed', ok: false, detail: 'interrupted by a signal' });
    const cpu0 = cpus()[0];
    return {
      version: 1,
      mode: 'idle',
      startedAt,
      finishedAt: new Date().toISOString(),
      machine: { node: process.version, platform: `${process.platform}-${process.arch}`, cpus: cpus().length, cpuModel: cpu0?.model ?? '?', loadAvgAtStart },
      options: opts,
      target: { kind: opts.target.kind, gateways },
      wsClient: opts.wsClient,
      users: { total: opts.users, ws: opts.users - tcpUsers, tcp: tcpUsers, loggedIn, onlineAtEnd, disconnects, errors },
      login: {
        wallMs,
        loginsPerSec: wallMs !== null && wallMs > 0 ? (loggedIn * 1000) / wallMs : null,
        peakPerSec: seconds.reduce((a, b) => Math.max(a, b), 0),
        perSecond: seconds,
        latencyMs: latency.summary(),
        attempts: sum((c) => c.attempts),
        failures: loginFailures,
        gaveUp: opts.users - loggedIn,
        cpu: loginCpu,
        cpuUsPerLogin: {
          gateways: loginCpu.gateways !== null && loggedIn > 0 ? (loginCpu.gateways * loginMs * 1000) / loggedIn : null,
          workers: loginCpu.workers !== null && loggedIn > 0 ? (loginCpu.workers * loginMs * 1000) / loggedIn : null,
        },
      },
      idle: {
        seconds: idleMs / 1000,
        keepAlivesSent: sum((c) => c.keepAlivesSent),
        keepAliveAnswers: sum((c) => c.keepAliveAnswers),
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
      workers: workerReports,
      timeline,
      processes: sut ? sut.processes.map(processReport) : [],
      checks,
    };
  } finally {
    signals.dispose();
    for (const w of workers) w.kill();
    if (sut) await sut.stop();
  }
}

/**
 * Successful logins that went to gateway `g` of `n` (users are placed round-robin, so a gateway
 * gets its share of the logins in proportion to the users assigned to it).
 */
function gatewayShare(g: number, n: number, users: number, loggedIn: number): number {
  const assigned = Math.floor((users - 1 - g) / n) + 1;
  return users > 0 ? (loggedIn * assigned) / users : 0;
}
