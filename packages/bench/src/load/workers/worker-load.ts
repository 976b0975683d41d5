/**
 * What one load worker process does with its job: log its users in, run the load from the common
 * start (warmup, window), drain, collect offline queues, and hand back its `LoadPart`. Its users send
 * only to each other, so every message's send, ack and delivery are seen by this process's tracker.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isTcpUser } from '../../shared/args.js';
import type { RunIo } from '../../shared/run-io.js';
import { sleepUntil } from '../../shared/wait.js';
import { epochNow } from '../../idle/idle-ipc.js';
import { LoadDriver } from '../load.js';
import { cores, loopDelaySummary } from '../measure.js';
import { SimUser } from '../sim-user.js';
import { createFleet, drainAndCollect, logIn, type Fleet, type LoginOutcome } from '../switchboard-phase.js';
import { MsgFlag } from '../tracker.js';
import type { LoadPart, LoadProgress, LoadWorkerJob } from './load-ipc.js';

export class WorkerLoad {
  private driver: LoadDriver | null = null;

  private constructor(
    private readonly job: LoadWorkerJob,
    private readonly fleet: Fleet,
    readonly login: LoginOutcome,
    private readonly io: RunIo,
  ) {}

  /** Make the job's users (global uids and TCP mix) and log them in; throws when fewer than two made it. */
  static async logIn(job: LoadWorkerJob, io: RunIo): Promise<WorkerLoad> {
    const { opts, from } = job;
    const env = { dispatchUrl: job.dispatchUrl, sut: null, pids: null, chaos: [], io, aborted: () => false };
    const fleet = createFleet(opts, env, (i, _uid, _t, ctx) =>
      new SimUser(i, `${opts.uidPrefix}${from + i}`, isTcpUser(from + i, opts.tcpShare) ? 'tcp' : 'ws', ctx),
    );
    const login = await logIn(opts, io, fleet);
    return new WorkerLoad(job, fleet, login, io);
  }

  /** The running counters for the parent's progress line. */
  progress(): LoadProgress {
    const { users, stats } = this.fleet;
    let online = 0;
    let pending = 0;
    for (const u of users) {
      if (u.online) online++;
      pending += u.pending.size;
    }
    return { online, sent: stats.sent, acked: stats.acked, delivered: stats.delivered, pending, resends: stats.resends, disconnects: stats.disconnects };
  }

  /** Run the load from epoch ms `startAt` to the end of the window (or `aborted()`), drain, collect. */
  async run(startAt: number, aborted: () => boolean): Promise<LoadPart> {
    const { opts } = this.job;
    const { fleet } = this;
    const { window, users } = fleet;
    const t0 = performance.now() + (startAt - epochNow());
    window.start = t0;
    window.from = t0 + opts.warmupS * 1000;
    window.to = window.from + opts.durationS * 1000;
    const driver = new LoadDriver(users, opts.load, window, opts.pairing, opts.peers);
    this.driver = driver;
    fleet.driver = driver;
    const qosTimer = setInterval(() => {
      const now = performance.now();
      for (const u of users) u.qosTick(now);
    }, opts.qos.tickMs).unref();
    await sleepUntil(t0, aborted, 5);

    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    let cpuFrom: NodeJS.CpuUsage | null = null;
    let cpuFromAt = 0;
    const fromTimer = setTimeout(() => {
      cpuFrom = process.cpuUsage();
      cpuFromAt = performance.now();
      loopDelay.enable();
    }, Math.max(0, window.from - performance.now()));
    driver.start();
    await sleepUntil(window.to, aborted);
    const cpuTo = process.cpuUsage();
    const cpuToAt = performance.now();
    loopDelay.disable();
    clearTimeout(fromTimer);
    driver.stop();
    if (aborted()) window.to = Math.min(window.to, performance.now());

    const nodes: Record<string, number> = {};
    for (const u of users) if (u.online) nodes[u.node] = (nodes[u.node] ?? 0) + 1;
    const drain = await drainAndCollect(opts, { io: this.io, aborted }, fleet, { stopAfterDrain: () => clearInterval(qosTimer) });
    fleet.stopping = true;
    for (const u of users) u.stop();
    const measuredCores = cpuFrom ? cores(cpuFrom, cpuTo, cpuToAt - cpuFromAt) : NaN;
    return this.part(nodes, drain, loopDelaySummary(loopDelay), measuredCores);
  }

  private part(nodes: Record<string, number>, drain: LoadPart['drain'], loopDelayMs: LoadPart['loopDelayMs'], measuredCores: number): LoadPart {
    const { job, fleet } = this;
    const { tracker, users, stats, window } = fleet;
    const missing = tracker.without(MsgFlag.DELIVERED);
    const toEpoch = (t: number) => t - performance.now() + epochNow();
    return {
      n: job.n,
      pid: process.pid,
      users: users.length,
      ws: users.filter((u) => u.transport === 'ws').length,
      tcp: users.filter((u) => u.transport === 'tcp').length,
      login: this.login,
      stats: stats.snapshot(),
      nodes,
      unacked: tracker.countWhere(0, MsgFlag.ACKED),
      lost: missing.length,
      lostAfterAck: missing.filter((s) => tracker.has(s, MsgFlag.ACKED)).length,
      deliveredUnacked: tracker.countWhere(MsgFlag.DELIVERED, MsgFlag.ACKED),
      pairingMisses: this.driver?.pairingMisses ?? 0,
      notSentOffline: this.driver?.skippedOffline ?? 0,
      drain,
      missingSample: missing.slice(0, 10).map((s) => ({
        fp: tracker.fp(s),
        from: users[tracker.sender[s]!]!.uid,
        to: users[tracker.receiver[s]!]!.uid,
        acked: tracker.has(s, MsgFlag.ACKED),
        gaveUp: tracker.has(s, MsgFlag.GAVE_UP),
        crossNode: tracker.has(s, MsgFlag.CROSS_NODE),
      })),
      loopDelayMs,
      cores: measuredCores,
      windowEpoch: { from: toEpoch(window.from), to: toEpoch(window.to) },
    };
  }

  /** Close every connection (after a failure). */
  stop(): void {
    this.fleet.stopping = true;
    for (const u of this.fleet.users) u.stop();
  }
}
