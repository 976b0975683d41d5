import { isTcpUser } from '../shared/args.js';
import { machineCpu, type ManagedProcess } from '../shared/proc.js';
import type { RunIo } from '../shared/run-io.js';
import { pool, sleepUntil, waitUntil } from '../shared/wait.js';
import * as D from '../shared/defaults.js';
import type { BenchOptions } from './args.js';
import { EchoUser, startEchoServer } from './echo.js';
import { LoadDriver } from './load.js';
import { cores, cpuReport, timeline } from './measure.js';
import type { EchoResult } from './report.js';
import { PhaseStats, type Window } from './stats.js';
import { MessageTracker } from './tracker.js';

/** The echo baseline: the same users and load against a raw ws/TCP echo server in a child process. */
export async function runEchoPhase(opts: BenchOptions, io: RunIo, processes: ManagedProcess[], aborted: () => boolean): Promise<EchoResult> {
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
    // A user that cannot connect stays offline: it is left out of `connected` and of the load.
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
