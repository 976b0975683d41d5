import { cpus, loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { UnavailableError } from '@switchboard/core';
import { isTcpUser } from '../shared/args.js';
import type { BenchOptions } from './args.js';
import { readClusterPids, scheduleChaos, type ChaosEvent } from './chaos.js';
import { dispatchUser, listNodes } from '../shared/dispatch-client.js';
import { EchoUser, startEchoServer } from './echo.js';
import { LoadDriver } from './load.js';
import { machineCpu, processReport, readCpuSeconds, type ManagedProcess } from '../shared/proc.js';
import { installSignalStop, type RunIo } from '../shared/run-io.js';
import { sleepUntil, waitUntil } from '../shared/wait.js';
import type { BenchReport, EchoResult, NodeSample, SwitchboardResult, TimelineEntry } from './report.js';
import { SimUser, type Placement, type UserContext } from './sim-user.js';
import { PhaseStats, type Window } from './stats.js';
import { Sut } from '../shared/sut.js';
import { MessageTracker, MsgFlag } from './tracker.js';
import * as D from '../shared/defaults.js';

/**
 * Run one benchmark as `opts` says: start the system under test if asked, log the users in, load,
 * drain, collect offline queues, optionally run the echo baseline, stop what it started.
 * Never throws for a bad result (the report's `checks` say so); throws when the run itself fails
 * (nothing to connect to, fewer than two users logged in).
 */
export async function runBench(opts: BenchOptions, io: RunIo): Promise<BenchReport> {
  const startedAt = new Date().toISOString();
  const loadAvgAtStart = loadavg()[0] ?? NaN;
  const processes: ManagedProcess[] = [];
  const chaos: ChaosEvent[] = [];
  let sut: Sut | null = null;
  const stopSignals = installSignalStop(io);
  try {
    let dispatchUrl: string | null = null;
    if (opts.target.kind === 'spawn-standalone' || opts.target.kind === 'spawn-cluster') {
      io.log(`starting ${opts.target.kind === 'spawn-standalone' ? 'switchboard standalone' : `a cluster of dispatch + ${opts.target.gateways} gateways`}…`);
      sut = await Sut.start({
        kind: opts.target.kind === 'spawn-standalone' ? 'standalone' : 'cluster',
        gateways: opts.target.kind === 'spawn-cluster' ? opts.target.gateways : 1,
        senseMode: opts.senseMode,
        env: opts.sutEnv,
        nodeArgs: opts.sutNodeArgs,
      });
      processes.push(...sut.processes);
      dispatchUrl = sut.dispatchUrl;
      io.log(`system under test ready: dispatch ${dispatchUrl}, pids ${sut.processes.map((p) => `${p.name}=${p.pid}`).join(' ')}`);
    } else if (opts.target.kind === 'dispatch') {
      dispatchUrl = opts.target.url;
    }
    const pids = opts.chaos.clusterPidsFile ? readClusterPids(opts.chaos.clusterPidsFile) : null;

    const sb = await runSwitchboardPhase(opts, { dispatchUrl, sut, pids, chaos, io, aborted: () => stopSignals.aborted });
    if (sut) {
      io.log('stopping the system under test…');
      await sut.stop();
    }
    let echo: EchoResult | null = null;
    if (opts.echoBaseline && !stopSignals.aborted) {
      echo = await runEchoPhase(opts, io, processes, () => stopSignals.aborted);
    }
    const ratio = echo && echo.roundTripsPerSec > 0 ? sb.throughputPerSec / echo.roundTripsPerSec : null;
    const cpu0 = cpus()[0];
    return {
      version: 1,
      startedAt,
      finishedAt: new Date().toISOString(),
      machine: {
        node: process.version,
        platform: `${process.platform}-${process.arch}`,
        cpus: cpus().length,
        cpuModel: cpu0?.model ?? '?',
        loadAvgAtStart,
      },
      options: opts,
      target: {
        kind: opts.target.kind,
        dispatch: dispatchUrl,
        ws: opts.target.kind === 'direct' ? opts.target.wsUrl : null,
      },
      switchboard: sb,
      echo,
      ratio,
      chaos,
      processes: processes.map(processReport),
      checks: checks(sb, stopSignals.aborted),
    };
  } finally {
    stopSignals.dispose();
    if (sut) await sut.stop();
  }
}

function checks(sb: SwitchboardResult, aborted: boolean): BenchReport['checks'] {
  const c: BenchReport['checks'] = [
    { name: 'lost', ok: sb.lost === 0, detail: `${sb.lost} of ${sb.sent} messages neither delivered nor found in offline queues` },
    { name: 'application duplicates', ok: sb.appDuplicates === 0, detail: `${sb.appDuplicates} (after dedupe by fp)` },
    { name: 'throughput', ok: sb.throughputPerSec > 0, detail: `${Math.round(sb.throughputPerSec)} msg/s` },
    { name: 'all users logged in', ok: sb.users.loggedIn === sb.users.total, detail: `${sb.users.loggedIn}/${sb.users.total}` },
  ];
  if (aborted) c.push({ name: 'completed', ok: false, detail: 'interrupted by a signal' });
  return c;
}

/** Run `fn` over `items` with at most `n` in progress. */
export async function pool<T>(items: readonly T[], n: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  let i = 0;
  const worker = async () => {
    while (i < items.length) await fn(items[i++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, items.length)) }, worker));
}

/** CPU cores the load generator used between two `process.cpuUsage()` samples over `ms`. */
function cores(a: NodeJS.CpuUsage, b: NodeJS.CpuUsage, ms: number): number {
  return ms > 0 ? (b.user - a.user + (b.system - a.system)) / 1000 / ms : NaN;
}

/**
 * CPU of the measured window in cores: ours (load generator, system under test), the whole
 * machine's, and what other processes took (others = machine − ours; large values mean a noisy run).
 * `interrupts` (irq + softirq, where loopback networking runs) is informational: kernels without
 * CONFIG_IRQ_TIME_ACCOUNTING (the project's machines) charge it to the interrupted process, so it is
 * already inside ours; on kernels with it, "others" includes it.
 */
function cpuReport(
  loadGenerator: number,
  sut: Record<string, number | null>,
  m0: { busy: number; irq: number } | null,
  m1: { busy: number; irq: number } | null,
  ms: number,
): { loadGenerator: number; sut: Record<string, number | null>; machine: number; interrupts: number; others: number } {
  const s = ms / 1000;
  const machine = m0 && m1 && s > 0 ? (m1.busy - m0.busy) / s : NaN;
  const interrupts = m0 && m1 && s > 0 ? (m1.irq - m0.irq) / s : NaN;
  const ours = loadGenerator + Object.values(sut).reduce<number>((a, v) => a + (v ?? 0), 0);
  return { loadGenerator, sut, machine, interrupts, others: Math.max(0, machine - ours) };
}

/** A process whose CPU the report shows as the system under test's. */
interface CpuSource {
  readonly name: string;
  readonly ready?: { nodeId?: string } | null;
  cpuSeconds(): number | null;
}

/** The spawned processes, and those named with `--sut-pid` (e.g. another server benchmarked with --ws). */
function cpuSources(opts: BenchOptions, sut: Sut | null): CpuSource[] {
  const external = opts.sutPids.map((pid) => ({ name: `pid ${pid}`, ready: null, cpuSeconds: () => readCpuSeconds(pid) }));
  return [...(sut?.processes ?? []), ...external];
}

/** The per-second view of a phase, with the gateways' own samples when there are some. */
function timeline(
  stats: PhaseStats,
  samples: Array<{ t: number; nodes: Record<string, NodeSample> }>,
  others: Map<number, number>,
): TimelineEntry[] {
  const byT = new Map(samples.map((x) => [x.t, x.nodes]));
  return stats.timeline.map((s, t) => ({
    t,
    sent: s.sent,
    acked: s.acked,
    delivered: s.delivered,
    ackP50Ms: round1(s.ackLatency.percentile(50)),
    ackP99Ms: round1(s.ackLatency.percentile(99)),
    ackMaxMs: round1(s.ackLatency.max),
    ...(others.has(t) ? { otherCores: others.get(t)! } : {}),
    ...(byT.has(t) ? { nodes: byT.get(t)! } : {}),
  }));
}

const round1 = (x: number) => Math.round(x * 10) / 10;

interface PhaseEnv {
  dispatchUrl: string | null;
  sut: Sut | null;
  pids: Map<string, number> | null;
  chaos: ChaosEvent[];
  io: RunIo;
  aborted: () => boolean;
}

async function runSwitchboardPhase(opts: BenchOptions, env: PhaseEnv): Promise<SwitchboardResult> {
  const { io } = env;
  const tracker = new MessageTracker();
  const window: Window = { start: Infinity, from: Infinity, to: Infinity };
  const stats = new PhaseStats(window);
  const users: SimUser[] = [];
  let stopping = false;
  let driver: LoadDriver | null = null;
  const target = opts.target;

  const place = async (u: SimUser): Promise<Placement> => {
    if (target.kind === 'direct') {
      if (u.transport === 'tcp') {
        if (!target.tcp) throw new UnavailableError('no --tcp address for a TCP user');
        return { endpoint: { kind: 'tcp', host: target.tcp.host, port: target.tcp.port }, node: 'direct', reconnect: null };
      }
      return { endpoint: { kind: 'ws', url: target.wsUrl }, node: 'direct', reconnect: null };
    }
    const a = await dispatchUser(env.dispatchUrl!, u.uid);
    return {
      endpoint: u.transport === 'ws' ? { kind: 'ws', url: a.ws } : { kind: 'tcp', host: a.tcp.host, port: a.tcp.port },
      node: a.node,
      reconnect: a.reconnect,
    };
  };
  const ctx: UserContext = {
    tracker,
    stats,
    users,
    sizeBytes: opts.sizeBytes,
    senseMode: opts.senseMode,
    qos: opts.qos,
    window,
    place,
    onSlotFree: (u) => driver?.onSlotFree(u),
    onReconnected: (u) => driver?.topUp(u),
    get stopping() {
      return stopping;
    },
  };
  for (let i = 0; i < opts.users; i++) users.push(new SimUser(i, `${opts.uidPrefix}${i}`, isTcpUser(i, opts.tcpShare) ? 'tcp' : 'ws', ctx));

  // ---- login
  io.log(`logging in ${opts.users} users (${opts.connectConcurrency} at a time)…`);
  const loginStart = performance.now();
  const loginDeadline = loginStart + opts.loginTimeoutS * 1000;
  await pool(users, opts.connectConcurrency, (u) => u.loginUntil(loginDeadline));
  const loginMs = performance.now() - loginStart;
  const loggedIn = users.filter((u) => u.online).length;
  const loginFailures = stats.loginFailures;
  io.log(`${loggedIn}/${opts.users} users logged in after ${Math.round(loginMs)} ms (${loginFailures} failed attempts)`);
  if (loggedIn < 2) {
    for (const u of users) u.stop();
    throw new UnavailableError(`only ${loggedIn} of ${opts.users} users could log in within ${opts.loginTimeoutS} s: nothing to measure`);
  }

  // ---- load
  const t0 = performance.now();
  window.start = t0;
  window.from = t0 + opts.warmupS * 1000;
  window.to = window.from + opts.durationS * 1000;
  driver = new LoadDriver(users, opts.load, window, opts.pairing);
  const qosTimer = setInterval(() => {
    const now = performance.now();
    for (const u of users) u.qosTick(now);
  }, opts.qos.tickMs).unref();
  const cancelChaos = scheduleChaos(opts, {
    window,
    dispatchUrl: env.dispatchUrl,
    sut: env.sut,
    pids: env.pids,
    onlineNodes: () => users.filter((u) => u.online).map((u) => u.node),
    events: env.chaos,
    log: io.log,
  });
  let lastAcked = 0;
  let lastAt = t0;
  const progress = setInterval(() => {
    const now = performance.now();
    const rate = ((stats.acked - lastAcked) * 1000) / (now - lastAt);
    lastAcked = stats.acked;
    lastAt = now;
    let pending = 0;
    let online = 0;
    for (const u of users) {
      pending += u.pending.size;
      if (u.online) online++;
    }
    io.log(
      `t=${((now - t0) / 1000).toFixed(1)}s online ${online}/${users.length} sent ${stats.sent} acked ${stats.acked} (${Math.round(rate)}/s) ` +
        `delivered ${stats.delivered} pending ${pending} resends ${stats.resends} disconnects ${stats.disconnects}`,
    );
  }, D.PROGRESS_INTERVAL_MS).unref();

  // What the gateways say about themselves (GET /admin/nodes), once a second, for the timeline.
  const nodeSamples: Array<{ t: number; nodes: Record<string, NodeSample> }> = [];
  let sampling = false;
  const sampler = env.dispatchUrl
    ? setInterval(() => {
        if (sampling) return;
        sampling = true;
        const t = Math.floor((performance.now() - t0) / 1000);
        listNodes(env.dispatchUrl!)
          .then((list) => {
            const nodes: Record<string, NodeSample> = {};
            for (const n of list) nodes[n.id] = { state: n.state, connections: n.connections, loopLagMs: n.loopLagMs ?? null, cpu: n.cpu ?? null };
            nodeSamples.push({ t, nodes });
          })
          .catch(() => nodeSamples.push({ t, nodes: {} }))
          .finally(() => (sampling = false));
      }, 1_000).unref()
    : null;
  // CPU of the machine, per second, split into ours and everybody else's (to spot noisy seconds).
  const cpuSamples = new Map<number, number>();
  const sutProcs = cpuSources(opts, env.sut);
  let lastCpu = { at: performance.now(), machine: machineCpu(), lg: process.cpuUsage(), sut: sutProcs.map((p) => p.cpuSeconds()) };
  const cpuSampler = setInterval(() => {
    const now = { at: performance.now(), machine: machineCpu(), lg: process.cpuUsage(), sut: sutProcs.map((p) => p.cpuSeconds()) };
    const sut: Record<string, number | null> = {};
    now.sut.forEach((v, i) => {
      const a = lastCpu.sut[i];
      sut[String(i)] = v != null && a != null ? (v - a) / ((now.at - lastCpu.at) / 1000) : null;
    });
    const c = cpuReport(cores(lastCpu.lg, now.lg, now.at - lastCpu.at), sut, lastCpu.machine, now.machine, now.at - lastCpu.at);
    cpuSamples.set(Math.floor((now.at - 500 - t0) / 1000), Math.round(c.others * 100) / 100);
    lastCpu = now;
  }, 1_000).unref();
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  const cpuMarks: { lg: NodeJS.CpuUsage; sut: Array<number | null>; machine: ReturnType<typeof machineCpu>; at: number }[] = [];
  const mark = () =>
    cpuMarks.push({ lg: process.cpuUsage(), sut: sutProcs.map((p) => p.cpuSeconds()), machine: machineCpu(), at: performance.now() });
  const fromTimer = setTimeout(() => {
    mark();
    loopDelay.enable();
  }, Math.max(0, window.from - performance.now()));

  io.log(`load: ${opts.load.kind === 'closed' ? `${opts.load.inflight} in flight per user` : `${opts.load.ratePerSec} msg/s`}, ${opts.warmupS} s warmup + ${opts.durationS} s measured`);
  driver.start();
  await sleepUntil(window.to, env.aborted);
  if (cpuMarks.length === 1) mark();
  loopDelay.disable();
  clearTimeout(fromTimer);
  driver.stop();
  if (env.aborted()) window.to = Math.min(window.to, performance.now());
  const nodes: Record<string, number> = {};
  for (const u of users) if (u.online) nodes[u.node] = (nodes[u.node] ?? 0) + 1;

  // ---- drain: wait for outstanding acks and deliveries
  const drainStart = performance.now();
  io.log(`load over; waiting up to ${opts.drainS} s for outstanding acks and deliveries…`);
  await waitUntil(() => {
    for (const u of users) if (u.pending.size > 0 && (u.online || u.state === 'offline' || u.state === 'connecting')) return false;
    return tracker.countWhere(MsgFlag.ACKED, MsgFlag.DELIVERED) === 0;
  }, drainStart + opts.drainS * 1000);
  const waitedMs = performance.now() - drainStart;
  clearInterval(qosTimer);
  if (sampler) clearInterval(sampler);
  clearInterval(cpuSampler);
  cancelChaos();

  // ---- collect: log receivers of missing messages back in, for their offline queues
  const collectStart = performance.now();
  const missingBefore = tracker.without(MsgFlag.DELIVERED);
  let collectedUsers = 0;
  if (missingBefore.length > 0 && opts.collectS > 0 && !env.aborted()) {
    const receivers = [...new Set(missingBefore.map((s) => tracker.receiver[s]!))];
    collectedUsers = receivers.length;
    io.log(`${missingBefore.length} messages not delivered yet: logging their ${receivers.length} receivers in again to collect offline queues…`);
    const deadline = collectStart + opts.collectS * 1000;
    await pool(receivers, opts.connectConcurrency, (i) => users[i]!.relogin(deadline));
    await waitUntil(() => missingBefore.every((s) => tracker.has(s, MsgFlag.DELIVERED)), deadline, 200);
  }
  const collectMs = performance.now() - collectStart;
  const collectedMessages = missingBefore.filter((s) => tracker.has(s, MsgFlag.DELIVERED)).length;
  stopping = true;
  clearInterval(progress);
  for (const u of users) u.stop();

  // ---- results
  const windowS = (window.to - window.from) / 1000;
  const missing = tracker.without(MsgFlag.DELIVERED);
  const m0 = cpuMarks[0];
  const m1 = cpuMarks[1];
  const sutCpu: Record<string, number | null> = {};
  sutProcs.forEach((p, i) => {
    const a = m0?.sut[i];
    const b = m1?.sut[i];
    sutCpu[p.ready?.nodeId ? `${p.name} ${p.ready.nodeId}` : p.name] =
      a != null && b != null && m0 && m1 ? (b - a) / ((m1.at - m0.at) / 1000) : null;
  });
  const ns = (n: number) => n / 1e6;
  return {
    users: {
      total: opts.users,
      loggedIn,
      ws: users.filter((u) => u.transport === 'ws').length,
      tcp: users.filter((u) => u.transport === 'tcp').length,
      loginMs: Math.round(loginMs),
      loginFailures,
    },
    nodes,
    windowS,
    offeredPerSec: opts.load.kind === 'open' ? opts.load.ratePerSec : null,
    sent: stats.sent,
    sentInWindow: stats.sentInWindow,
    resends: stats.resends,
    resendsAfterReconnect: stats.resendsAfterReconnect,
    acked: stats.acked,
    lateAcks: stats.lateAcks,
    delivered: stats.delivered,
    lost: missing.length,
    lostAfterAck: missing.filter((s) => tracker.has(s, MsgFlag.ACKED)).length,
    unacked: tracker.countWhere(0, MsgFlag.ACKED),
    deliveredUnacked: tracker.countWhere(MsgFlag.DELIVERED, MsgFlag.ACKED),
    senderGaveUp: stats.senderGaveUp,
    wireDuplicates: stats.wireDuplicates,
    appDuplicates: stats.appDuplicates,
    duplicateAcks: stats.duplicateAcks,
    unknownAcks: stats.unknownAcks,
    misrouted: stats.misrouted,
    foreign: stats.foreign,
    badPackets: stats.badPackets,
    notSentOffline: driver.skippedOffline,
    pairingMisses: driver.pairingMisses,
    throughputPerSec: windowS > 0 ? stats.ackedInWindow / windowS : NaN,
    deliveredPerSec: windowS > 0 ? stats.deliveredInWindow / windowS : NaN,
    crossNodeShare: stats.sent > 0 ? stats.crossNode / stats.sent : NaN,
    latencyMs: { sendToAck: stats.ackLatency.summary(), sendToDeliver: stats.deliverLatency.summary() },
    errors: stats.errors,
    kicks: stats.kicks,
    disconnects: stats.disconnects,
    reconnects: stats.reconnects,
    drain: { waitedMs: Math.round(waitedMs), collectedUsers, collectedMessages, collectMs: Math.round(collectMs) },
    timeline: timeline(stats, nodeSamples, cpuSamples),
    missingSample: missing.slice(0, 10).map((s) => ({
      fp: tracker.fp(s),
      from: users[tracker.sender[s]!]!.uid,
      to: users[tracker.receiver[s]!]!.uid,
      acked: tracker.has(s, MsgFlag.ACKED),
      gaveUp: tracker.has(s, MsgFlag.GAVE_UP),
      crossNode: tracker.has(s, MsgFlag.CROSS_NODE),
    })),
    cpu: cpuReport(m0 && m1 ? cores(m0.lg, m1.lg, m1.at - m0.at) : NaN, sutCpu, m0?.machine ?? null, m1?.machine ?? null, m0 && m1 ? m1.at - m0.at : 0),
    loadGeneratorLoopDelayMs: {
      p50: loopDelay.count ? ns(loopDelay.percentile(50)) : NaN,
      p99: loopDelay.count ? ns(loopDelay.percentile(99)) : NaN,
      max: loopDelay.count ? ns(loopDelay.max) : NaN,
    },
  };
}

async function runEchoPhase(opts: BenchOptions, io: RunIo, processes: ManagedProcess[], aborted: () => boolean): Promise<EchoResult> {
  io.log('echo baseline: starting a raw ws/tcp echo server in a child process…');
  const echo = await startEchoServer();
  processes.push(echo.proc);
  try {
    const tracker = new MessageTracker();
    const window: Window = { start: Infinity, from: Infinity, to: Infinity };
    const stats = new PhaseStats(window);
    let driver: LoadDriver | null = null;
    const ctx = { tracker, stats, window, sizeBytes: opts.sizeBytes, onSlotFree: (u: EchoUser) => driver?.onSlotFree(u) };
    const users: EchoUser[] = [];
    for (let i = 0; i < opts.users; i++) {
      const tcp = isTcpUser(i, opts.tcpShare);
      users.push(new EchoUser(i, `${opts.uidPrefix}${i}`, tcp ? { kind: 'tcp', ...echo.tcp } : { kind: 'ws', url: echo.wsUrl }, ctx));
    }
    await pool(users, opts.connectConcurrency, (u) => u.connect(D.DEFAULT_LOGIN_RESPONSE_TIMEOUT_MS).catch(() => {}));
    const connected = users.filter((u) => u.online).length;
    io.log(`echo baseline: ${connected}/${users.length} connected; load for ${opts.warmupS} s warmup + ${opts.durationS} s`);
    const t0 = performance.now();
    window.start = t0;
    window.from = t0 + opts.warmupS * 1000;
    window.to = window.from + opts.durationS * 1000;
    driver = new LoadDriver(users, opts.load, window);
    const marks: Array<{ lg: NodeJS.CpuUsage; srv: number | null; machine: ReturnType<typeof machineCpu>; at: number }> = [];
    const mark = () => marks.push({ lg: process.cpuUsage(), srv: echo.proc.cpuSeconds(), machine: machineCpu(), at: performance.now() });
    const fromTimer = setTimeout(mark, Math.max(0, window.from - performance.now()));
    driver.start();
    await sleepUntil(window.to, aborted);
    clearTimeout(fromTimer);
    if (marks.length === 1) mark();
    driver.stop();
    if (aborted()) window.to = Math.min(window.to, performance.now());
    await waitUntil(() => users.every((u) => u.inflight === 0 || !u.online), performance.now() + 5_000);
    for (const u of users) u.close();
    const windowS = (window.to - window.from) / 1000;
    const [a, b] = marks;
    return {
      users: connected,
      windowS,
      sent: stats.sent,
      roundTrips: stats.acked,
      roundTripsPerSec: windowS > 0 ? stats.ackedInWindow / windowS : NaN,
      latencyMs: stats.ackLatency.summary(),
      timeline: timeline(stats, [], new Map()),
      disconnects: stats.disconnects,
      cpu: (() => {
        const lg = a && b ? cores(a.lg, b.lg, b.at - a.at) : NaN;
        const srv = a && b && a.srv !== null && b.srv !== null ? (b.srv - a.srv) / ((b.at - a.at) / 1000) : null;
        const c = cpuReport(lg, { echo: srv }, a?.machine ?? null, b?.machine ?? null, a && b ? b.at - a.at : 0);
        return { loadGenerator: lg, echoServer: srv, machine: c.machine, interrupts: c.interrupts, others: c.others };
      })(),
    };
  } finally {
    await echo.proc.stop();
  }
}

