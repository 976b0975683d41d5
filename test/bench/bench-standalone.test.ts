import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManagedProcess, parseBenchArgs, runBench, switchboardCommand, type BenchOptions } from '@switchboard/bench';

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
});
