import { monitorEventLoopDelay } from 'node:perf_hooks';
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
import { cores, cpuReport, cpuSources, timeline } from './measure.js';
import type { NodeSample, SwitchboardResult } from './report.js';
import { SimUser, type Placement, type UserContext } from './sim-user.js';
import { PhaseStats, type Window } from './stats.js';
import { MessageTracker, MsgFlag } from './tracker.js';

/** What the Switchboard phase gets from the run around it. */
export interface PhaseEnv {
  dispatchUrl: string | null;
  sut: Sut | null;
  pids: Map<string, number> | null;
  chaos: ChaosEvent[];
  io: RunIo;
  aborted: () => boolean;
}

export async function runSwitchboardPhase(opts: BenchOptions, env: PhaseEnv): Promise<SwitchboardResult> {
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
