import { cpus } from 'node:os';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { UnavailableError } from '@switchboard/core';
import { isTcpUser } from '../shared/args.js';
import { dispatchUser, listNodes } from '../shared/dispatch-client.js';
import { machineCpu } from '../shared/proc.js';
import type { RunIo } from '../shared/run-io.js';
import type { Sut } from '../shared/sut.js';
import { pool, sleepUntil, waitUntil } from '../shared/wait.js';
import * as D from '../shared/defaults.js';
import type { BenchOptions } from './args.js';
import { scheduleChaos, type ChaosEvent } from './chaos.js';
import { LoadDriver } from './load.js';
import { cores, cpuReport, cpuSources, loopDelaySummary, timeline, type CpuSource } from './measure.js';
import type { NodeSample, PhaseCommon, SwitchboardResult, TimelineEntry } from './report.js';
import { SimUser, type Placement, type UserContext } from './sim-user.js';
import { PhaseStats, type Window } from './stats.js';
import { MessageTracker, MsgFlag } from './tracker.js';
import { resultVerdicts } from './verdict.js';

/** What the Switchboard phase gets from the run around it. */
export interface PhaseEnv {
  dispatchUrl: string | null;
  sut: Sut | null;
  pids: Map<string, number> | null;
  chaos: ChaosEvent[];
  io: RunIo;
  aborted: () => boolean;
}

/** The simulated users of the phase and what they share; `driver` and `stopping` change as it runs. */
export interface Fleet {
  readonly tracker: MessageTracker;
  readonly window: Window;
  readonly stats: PhaseStats;
  readonly users: SimUser[];
  driver: LoadDriver | null;
  stopping: boolean;
}

/** How the login went. */
export interface LoginOutcome {
  loggedIn: number;
  loginMs: number;
  loginFailures: number;
}

/** The background work of the load: QoS resends, chaos, progress lines, the per-second samples. */
export interface LoadTimers {
  /** The gateways' own records (GET /admin/nodes), once a second. */
  readonly nodeSamples: Array<{ t: number; nodes: Record<string, NodeSample> }>;
  /** Cores other processes used, by second. */
  readonly cpuSamples: Map<number, number>;
  /** The processes whose CPU counts as the system under test's. */
  readonly sutProcs: CpuSource[];
  /** After the drain: no more resends, chaos or samples. */
  stopAfterDrain(): void;
  /** At the very end: no more progress lines. */
  stopProgress(): void;
}

/** One CPU reading of the measured window's start or end. */
export interface CpuMark {
  lg: NodeJS.CpuUsage;
  sut: Array<number | null>;
  machine: ReturnType<typeof machineCpu>;
  at: number;
}

/** What was read over the measured window itself. */
export interface WindowMeasures {
  cpuMarks: CpuMark[];
  loopDelay: IntervalHistogram;
}

/** The drain and the offline-queue collection after it. */
export type DrainOutcome = SwitchboardResult['drain'];

/**
 * The Switchboard phase of a run: log the users in, load them (with chaos and the per-second
 * samples), drain, log receivers of missing messages in again for their offline queues, and count.
 */
export async function runSwitchboardPhase(opts: BenchOptions, env: PhaseEnv): Promise<SwitchboardResult> {
  const fleet = createFleet(opts, env);
  const login = await logIn(opts, env.io, fleet);
  const t0 = performance.now();
  const { window } = fleet;
  window.start = t0;
  window.from = t0 + opts.warmupS * 1000;
  window.to = window.from + opts.durationS * 1000;
  const driver = new LoadDriver(fleet.users, opts.load, window, opts.pairing, opts.peers);
  fleet.driver = driver;
  const timers = startLoadTimers(opts, env, fleet, t0);
  const measures = await runLoad(opts, env, fleet, driver, timers.sutProcs);
  const nodes: Record<string, number> = {};
  for (const u of fleet.users) if (u.online) nodes[u.node] = (nodes[u.node] ?? 0) + 1;
  const drain = await drainAndCollect(opts, env, fleet, timers);
  fleet.stopping = true;
  timers.stopProgress();
  for (const u of fleet.users) u.stop();
  return switchboardResult(opts, fleet, driver, { login, nodes, drain, timers, measures });
}

/** Makes one simulated user (group mode makes group members). */
export type UserFactory = (index: number, uid: string, transport: 'ws' | 'tcp', ctx: UserContext) => SimUser;

/**
 * The users, placed by dispatch (or at the `--ws` / `--tcp` address, or by `placeUser` when given),
 * made by `make`, and what they share.
 */
export function createFleet(
  opts: BenchOptions,
  env: PhaseEnv,
  make: UserFactory = (i, uid, transport, ctx) => new SimUser(i, uid, transport, ctx),
  placeUser?: (u: SimUser) => Promise<Placement>,
): Fleet {
  const tracker = new MessageTracker();
  const window: Window = { start: Infinity, from: Infinity, to: Infinity };
  const fleet: Fleet = { tracker, window, stats: new PhaseStats(window), users: [], driver: null, stopping: false };
  const target = opts.target;
  const place = async (u: SimUser): Promise<Placement> => {
    if (placeUser) return placeUser(u);
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
    stats: fleet.stats,
    users: fleet.users,
    sizeBytes: opts.sizeBytes,
    senseMode: opts.senseMode,
    qos: opts.qos,
    window,
    place,
    onSlotFree: (u) => fleet.driver?.onSlotFree(u),
    onReconnected: (u) => fleet.driver?.topUp(u),
    get stopping() {
      return fleet.stopping;
    },
  };
  for (let i = 0; i < opts.users; i++) {
    fleet.users.push(make(i, `${opts.uidPrefix}${i}`, isTcpUser(i, opts.tcpShare) ? 'tcp' : 'ws', ctx));
  }
  return fleet;
}

/** Log every user in, `--connect-concurrency` at a time; throws when fewer than two made it. */
export async function logIn(opts: BenchOptions, io: RunIo, { users, stats }: Fleet): Promise<LoginOutcome> {
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
  return { loggedIn, loginMs, loginFailures };
}

/** Start the QoS resend tick, the chaos, the progress lines and the per-second node and CPU samples. */
export function startLoadTimers(opts: BenchOptions, env: PhaseEnv, fleet: Fleet, t0: number): LoadTimers {
  const { users, stats, window } = fleet;
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
    log: env.io.log,
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
    env.io.log(
      `t=${((now - t0) / 1000).toFixed(1)}s online ${online}/${users.length} sent ${stats.sent} acked ${stats.acked} (${Math.round(rate)}/s) ` +
        `delivered ${stats.delivered} pending ${pending} resends ${stats.resends} disconnects ${stats.disconnects}`,
    );
  }, D.PROGRESS_INTERVAL_MS).unref();
  const nodes = env.dispatchUrl ? sampleNodes(env.dispatchUrl, t0) : null;
  const sutProcs = cpuSources(opts, env.sut);
  const cpu = sampleOtherCpu(sutProcs, t0);
  return {
    nodeSamples: nodes?.samples ?? [],
    cpuSamples: cpu.samples,
    sutProcs,
    stopAfterDrain() {
      clearInterval(qosTimer);
      if (nodes) clearInterval(nodes.timer);
      clearInterval(cpu.timer);
      cancelChaos();
    },
    stopProgress() {
      clearInterval(progress);
    },
  };
}

/** What the gateways say about themselves (GET /admin/nodes), once a second, for the timeline. */
export function sampleNodes(dispatchUrl: string, t0: number): { samples: LoadTimers['nodeSamples']; timer: NodeJS.Timeout } {
  const samples: LoadTimers['nodeSamples'] = [];
  let sampling = false;
  const timer = setInterval(() => {
    if (sampling) return;
    sampling = true;
    const t = Math.floor((performance.now() - t0) / 1000);
    listNodes(dispatchUrl)
      .then((list) => {
        const nodes: Record<string, NodeSample> = {};
        for (const n of list) nodes[n.id] = { state: n.state, connections: n.connections, loopLagMs: n.loopLagMs ?? null, cpu: n.cpu ?? null };
        samples.push({ t, nodes });
      })
      // Dispatch did not answer this second: an empty sample marks the gap in the timeline.
      .catch(() => samples.push({ t, nodes: {} }))
      .finally(() => (sampling = false));
  }, 1_000).unref();
  return { samples, timer };
}

/**
 * CPU of the machine, per second, split into ours (this process and `sutProcs`, which with --workers N
 * include the workers) and everybody else's (to spot noisy seconds).
 */
export function sampleOtherCpu(sutProcs: CpuSource[], t0: number): { samples: Map<number, number>; timer: NodeJS.Timeout } {
  const samples = new Map<number, number>();
  let lastCpu = { at: performance.now(), machine: machineCpu(), lg: process.cpuUsage(), sut: sutProcs.map((p) => p.cpuSeconds()) };
  const timer = setInterval(() => {
    const now = { at: performance.now(), machine: machineCpu(), lg: process.cpuUsage(), sut: sutProcs.map((p) => p.cpuSeconds()) };
    const sut: Record<string, number | null> = {};
    now.sut.forEach((v, i) => {
      const a = lastCpu.sut[i];
      sut[String(i)] = v != null && a != null ? (v - a) / ((now.at - lastCpu.at) / 1000) : null;
    });
    const c = cpuReport(cores(lastCpu.lg, now.lg, now.at - lastCpu.at), sut, lastCpu.machine, now.machine, now.at - lastCpu.at);
    samples.set(Math.floor((now.at - 500 - t0) / 1000), Math.round(c.others * 100) / 100);
    lastCpu = now;
  }, 1_000).unref();
  return { samples, timer };
}

/**
 * The load itself: the driver runs until the window ends (or a signal), CPU and the event-loop delay
 * measured over the window proper (after the warmup).
 */
export async function runLoad(opts: BenchOptions, env: PhaseEnv, { window }: Fleet, driver: LoadDriver, sutProcs: CpuSource[]): Promise<WindowMeasures> {
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  const cpuMarks: CpuMark[] = [];
  const mark = () =>
    cpuMarks.push({ lg: process.cpuUsage(), sut: sutProcs.map((p) => p.cpuSeconds()), machine: machineCpu(), at: performance.now() });
  const fromTimer = setTimeout(() => {
    mark();
    loopDelay.enable();
  }, Math.max(0, window.from - performance.now()));

  env.io.log(
    `load: ${opts.load.kind === 'closed' ? `${opts.load.inflight} in flight per user` : `${opts.load.ratePerSec} msg/s`}, ${opts.warmupS} s warmup + ${opts.durationS} s measured`,
  );
  driver.start();
  await sleepUntil(window.to, env.aborted);
  if (cpuMarks.length === 1) mark();
  loopDelay.disable();
  clearTimeout(fromTimer);
  driver.stop();
  if (env.aborted()) window.to = Math.min(window.to, performance.now());
  return { cpuMarks, loopDelay };
}

/**
 * Wait for outstanding acks and deliveries (`--drain`), stop the load's timers, then log the
 * receivers of still-missing messages in again to collect their offline queues (`--collect`).
 */
export async function drainAndCollect(
  opts: BenchOptions,
  env: Pick<PhaseEnv, 'io' | 'aborted'>,
  { users, tracker }: Pick<Fleet, 'users' | 'tracker'>,
  timers: Pick<LoadTimers, 'stopAfterDrain'>,
): Promise<DrainOutcome> {
  const { io } = env;
  const drainStart = performance.now();
  io.log(`load over; waiting up to ${opts.drainS} s for outstanding acks and deliveries…`);
  await waitUntil(() => sendersSettled(users) && tracker.countWhere(MsgFlag.ACKED, MsgFlag.DELIVERED) === 0, drainStart + opts.drainS * 1000);
  const waitedMs = performance.now() - drainStart;
  timers.stopAfterDrain();

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
  return { waitedMs: Math.round(waitedMs), collectedUsers, collectedMessages, collectMs: Math.round(collectMs) };
}

/** No user waits for an ack it can still get (users gone for good, kicked or stopped, do not count). */
export function sendersSettled(users: readonly SimUser[]): boolean {
  for (const u of users) if (u.pending.size > 0 && (u.online || u.state === 'offline' || u.state === 'connecting')) return false;
  return true;
}

/**
 * What the load and the group mode report alike: the users, the window, what the senders did, the
 * duplicates and strays, latencies, link trouble, the timeline and CPU.
 */
export function commonResult(
  opts: BenchOptions,
  { users, window, stats, tracker }: Fleet,
  driver: LoadDriver,
  r: { login: LoginOutcome; timers: LoadTimers; measures: WindowMeasures },
): PhaseCommon {
  return phaseCommon(opts, {
    stats,
    window,
    ws: users.filter((u) => u.transport === 'ws').length,
    tcp: users.filter((u) => u.transport === 'tcp').length,
    login: r.login,
    unacked: tracker.countWhere(0, MsgFlag.ACKED),
    notSentOffline: driver.skippedOffline,
    timeline: timeline(stats, r.timers.nodeSamples, r.timers.cpuSamples),
    cpu: windowCpu(r.timers.sutProcs, r.measures.cpuMarks),
    loopDelay: loopDelaySummary(r.measures.loopDelay),
  });
}

/** What `phaseCommon` builds a result from: one process's fleet, or the merged shares of the workers. */
export interface CommonInputs {
  stats: PhaseStats;
  window: Window;
  ws: number;
  tcp: number;
  login: LoginOutcome;
  unacked: number;
  notSentOffline: number;
  timeline: TimelineEntry[];
  cpu: SwitchboardResult['cpu'];
  loopDelay: { p50: number; p99: number; max: number };
}

/** The fields the load and the group mode report alike, from plain inputs. */
export function phaseCommon(opts: BenchOptions, c: CommonInputs): PhaseCommon {
  const { stats, window } = c;
  return {
    users: {
      total: opts.users,
      loggedIn: c.login.loggedIn,
      ws: c.ws,
      tcp: c.tcp,
      loginMs: Math.round(c.login.loginMs),
      loginFailures: c.login.loginFailures,
    },
    windowS: (window.to - window.from) / 1000,
    offeredPerSec: opts.load.kind === 'open' ? opts.load.ratePerSec : null,
    sent: stats.sent,
    sentInWindow: stats.sentInWindow,
    resends: stats.resends,
    resendsAfterReconnect: stats.resendsAfterReconnect,
    acked: stats.acked,
    lateAcks: stats.lateAcks,
    unacked: c.unacked,
    senderGaveUp: stats.senderGaveUp,
    wireDuplicates: stats.wireDuplicates,
    appDuplicates: stats.appDuplicates,
    duplicateAcks: stats.duplicateAcks,
    unknownAcks: stats.unknownAcks,
    misrouted: stats.misrouted,
    foreign: stats.foreign,
    badPackets: stats.badPackets,
    notSentOffline: c.notSentOffline,
    crossNodeShare: stats.sent > 0 ? stats.crossNode / stats.sent : NaN,
    latencyMs: { sendToAck: stats.ackLatency.summary(), sendToDeliver: stats.deliverLatency.summary() },
    errors: stats.errors,
    kicks: stats.kicks,
    disconnects: stats.disconnects,
    reconnects: stats.reconnects,
    timeline: c.timeline,
    cpu: c.cpu,
    loadGeneratorLoopDelayMs: c.loopDelay,
  };
}

/** The verdict fields of a result (stalls, saturation) and its generator list, from its common part. */
export function withVerdicts(opts: BenchOptions, common: PhaseCommon, generator: SwitchboardResult['generator']): Pick<SwitchboardResult, 'generator' | 'ackMaxPerSecond' | 'saturation'> {
  return {
    generator,
    ...resultVerdicts({
      warmupS: opts.warmupS,
      windowS: common.windowS,
      timeline: common.timeline,
      generator,
      sut: common.cpu.sut,
      machineCores: common.cpu.machine,
      otherCores: common.cpu.others,
      cpus: cpus().length,
    }),
  };
}

/** The counts, latencies, CPU and samples of the phase, as the report holds them. */
function switchboardResult(
  opts: BenchOptions,
  fleet: Fleet,
  driver: LoadDriver,
  r: { login: LoginOutcome; nodes: Record<string, number>; drain: DrainOutcome; timers: LoadTimers; measures: WindowMeasures },
): SwitchboardResult {
  const { users, tracker, stats } = fleet;
  const common = commonResult(opts, fleet, driver, r);
  const perSec = (n: number) => (common.windowS > 0 ? n / common.windowS : NaN);
  const missing = tracker.without(MsgFlag.DELIVERED);
  const generator = [{ name: 'bench', pid: process.pid, users: opts.users, cores: common.cpu.loadGenerator, loopDelayP99Ms: common.loadGeneratorLoopDelayMs.p99 }];
  return {
    ...common,
    ...withVerdicts(opts, common, generator),
    nodes: r.nodes,
    delivered: stats.delivered,
    lost: missing.length,
    lostAfterAck: missing.filter((s) => tracker.has(s, MsgFlag.ACKED)).length,
    deliveredUnacked: tracker.countWhere(MsgFlag.DELIVERED, MsgFlag.ACKED),
    pairingMisses: driver.pairingMisses,
    throughputPerSec: perSec(stats.ackedInWindow),
    deliveredPerSec: perSec(stats.deliveredInWindow),
    drain: r.drain,
    missingSample: missing.slice(0, 10).map((s) => ({
      fp: tracker.fp(s),
      from: users[tracker.sender[s]!]!.uid,
      to: users[tracker.receiver[s]!]!.uid,
      acked: tracker.has(s, MsgFlag.ACKED),
      gaveUp: tracker.has(s, MsgFlag.GAVE_UP),
      crossNode: tracker.has(s, MsgFlag.CROSS_NODE),
    })),
  };
}

/** CPU of the measured window, between its two marks (each spawned process by name and node). */
export function windowCpu(sutProcs: CpuSource[], [m0, m1]: CpuMark[]): SwitchboardResult['cpu'] {
  const sutCpu: Record<string, number | null> = {};
  sutProcs.forEach((p, i) => {
    const a = m0?.sut[i];
    const b = m1?.sut[i];
    sutCpu[p.ready?.nodeId ? `${p.name} ${p.ready.nodeId}` : p.name] =
      a != null && b != null && m0 && m1 ? (b - a) / ((m1.at - m0.at) / 1000) : null;
  });
  return cpuReport(m0 && m1 ? cores(m0.lg, m1.lg, m1.at - m0.at) : NaN, sutCpu, m0?.machine ?? null, m1?.machine ?? null, m0 && m1 ? m1.at - m0.at : 0);
}
