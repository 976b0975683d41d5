import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { ManagedProcess, parseBenchArgs, runBench, switchboardCommand, type BenchOptions } from '@switchboard/bench';

/** Pids of this process's children that run the load worker (from /proc). */
function loadWorkerChildren(): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('load-worker')) out.push(Number(d));
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

// The bench against a real `switchboard standalone` process, through its dispatch API, as an
// operator runs it: every user logs in through dispatch, half of them over TCP.
describe('switchboard bench against standalone', () => {
  let sut: ManagedProcess;
  let dispatch: string;
  const log: string[] = [];

  beforeAll(async () => {
    sut = await ManagedProcess.start('standalone', process.execPath, [...switchboardCommand(), 'standalone'], {
      ...process.env,
      IM_DISPATCH_PORT: '0',
      IM_WS_PORT: '0',
      IM_TCP_PORT: '0',
      IM_UDP_PORT: '0',
      IM_ADMIN_PORT: '0',
      IM_LOG_LEVEL: 'warn',
      IM_AUTH: 'none',
      // 50 users at full speed send far more than the default 200 packets/s per connection.
      IM_RATE_LIMIT_PER_SEC: '100000',
      IM_RATE_LIMIT_BURST: '100000',
    });
    dispatch = `http://127.0.0.1:${sut.ready!.ports['dispatch']}`;
  });

  afterAll(async () => {
    await sut?.stop();
  });

  function options(extra: string[]): BenchOptions {
    const r = parseBenchArgs(['--dispatch', dispatch, '--users', '50', '--duration', '2', '--warmup', '1', '--drain', '10', '--quiet', ...extra]);
    if (r.help) throw new Error('unexpected help');
    return r.options;
  }

  it('closed loop - nothing lost, no application duplicates, non-zero rate, echo ratio', async () => {
    const report = await runBench(options(['--echo-baseline']), { log: (l) => log.push(l) });
    const s = report.switchboard;
    const context = JSON.stringify({ switchboard: { ...s, latencyMs: undefined }, log: log.slice(-20), sut: sut.output() }, null, 1);
    expect(s.users.loggedIn, context).toBe(50);
    expect(s.users.tcp).toBe(25);
    expect(s.sent, context).toBeGreaterThan(0);
    expect(s.lost, context).toBe(0);
    expect(s.appDuplicates, context).toBe(0);
    expect(s.misrouted, context).toBe(0);
    expect(s.delivered, context).toBe(s.sent);
    expect(s.throughputPerSec, context).toBeGreaterThan(0);
    expect(s.latencyMs.sendToAck.count).toBeGreaterThan(0);
    expect(s.latencyMs.sendToAck.p50).toBeGreaterThan(0);
    expect(s.latencyMs.sendToDeliver.p99).toBeLessThanOrEqual(s.latencyMs.sendToDeliver.max);
    expect(s.crossNodeShare).toBe(0); // one gateway
    expect(report.checks.every((c) => c.ok), JSON.stringify(report.checks)).toBe(true);
    expect(report.echo?.roundTripsPerSec ?? 0).toBeGreaterThan(0);
    expect(report.ratio ?? 0).toBeGreaterThan(0);
  });

  it('open loop - offered rate is met, nothing lost', async () => {
    const report = await runBench(options(['--rate', '2000']), { log: (l) => log.push(l) });
    const s = report.switchboard;
    expect(s.lost).toBe(0);
    expect(s.appDuplicates).toBe(0);
    expect(s.sentInWindow).toBeGreaterThanOrEqual(3_600);
    expect(s.sentInWindow).toBeLessThanOrEqual(4_000);
    expect(s.throughputPerSec).toBeGreaterThan(1_000); // half the offered rate: CI machines are shared
  });

  it('--workers 2 - two worker processes share users and rate; merged counts, per-second max, saturation', async () => {
    const report = await runBench(options(['--workers', '2', '--rate', '1000']), { log: (l) => log.push(l) });
    const s = report.switchboard;
    const context = JSON.stringify({ switchboard: { ...s, timeline: undefined }, log: log.slice(-20), sut: sut.output() }, null, 1);
    expect(s.users.loggedIn, context).toBe(50);
    expect(s.users.tcp).toBe(25);
    expect(s.lost, context).toBe(0);
    expect(s.appDuplicates, context).toBe(0);
    expect(s.misrouted, context).toBe(0);
    expect(s.delivered, context).toBe(s.sent);
    // 1000/s over a 2 s window, split 500/s per worker
    expect(s.sentInWindow, context).toBeGreaterThanOrEqual(1_800);
    expect(s.sentInWindow, context).toBeLessThanOrEqual(2_000);
    // The merged per-second slots add up to the totals, and every measured ack is in the histogram.
    expect(s.timeline.reduce((a, e) => a + e.sent, 0)).toBe(s.sent);
    expect(s.timeline.reduce((a, e) => a + e.acked, 0)).toBe(s.acked);
    expect(s.latencyMs.sendToAck.count).toBe(s.sentInWindow);
    // The generator: this process and two workers of 25 users each, in other processes.
    expect(s.generator.map((g) => [g.name, g.users])).toEqual([
      ['bench', 0],
      ['worker 1', 25],
      ['worker 2', 25],
    ]);
    expect(s.generator.slice(1).every((g) => g.pid !== null && g.pid !== process.pid)).toBe(true);
    expect(s.ackMaxPerSecond.seconds).toBe(2);
    expect(s.ackMaxPerSecond.worstMaxMs).toBe(Math.max(...s.timeline.slice(1, 3).map((e) => e.ackMaxMs)));
    expect(s.saturation.verdict.length).toBeGreaterThan(0);
    expect(report.checks.every((c) => c.ok), JSON.stringify(report.checks)).toBe(true);
  });

  it('--workers 2 - a worker that cannot log its users in fails the run with its reason, no hang, no orphans', async () => {
    // Nothing listens on port 1: every login attempt is refused until the login timeout.
    const r = parseBenchArgs(['--ws', 'ws://127.0.0.1:1/websocket', '--users', '4', '--workers', '2', '--login-timeout', '1', '--quiet']);
    if (r.help) throw new Error('unexpected help');
    const t0 = Date.now();
    await expect(runBench(r.options, { log: () => {} })).rejects.toThrow(/worker [12] failed to log its users in: error: .*could log in/);
    expect(Date.now() - t0).toBeLessThan(60_000);
    // The workers were killed: no child of this process runs load-worker.ts any more.
    const deadline = Date.now() + 10_000;
    while (loadWorkerChildren().length > 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    expect(loadWorkerChildren()).toEqual([]);
  });
});
