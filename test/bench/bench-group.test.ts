import { describe, expect, it } from 'vitest';
import { formatGroupReport, parseGroupArgs, runGroupBench, type GroupOptions } from '@switchboard/bench';

// Group mode end to end against a standalone the bench spawns: the group is made through dispatch's
// admin API, 30 members (half TCP) log in, random members send QoS group messages for a few seconds,
// every other member gets each one once, and the gateway's own counters agree.
describe('switchboard bench group against standalone', () => {
  function options(extra: string[]): GroupOptions {
    const r = parseGroupArgs(['--spawn-standalone', '--members', '30', '--duration', '2', '--warmup', '1', '--drain', '10', '--quiet', ...extra]);
    if (r.help) throw new Error('unexpected help');
    return r.options;
  }

  it('group mode - every online member gets every message once; nothing lost, no duplicates, deliveries counted', async () => {
    const log: string[] = [];
    const report = await runGroupBench(options(['--rate', '20']), { log: (l) => log.push(l) });
    const g = report.group;
    const context = JSON.stringify({ group: { ...g, timeline: undefined, latencyMs: undefined }, log: log.slice(-20) }, null, 1);
    expect(g.users.loggedIn, context).toBe(30);
    expect(g.users.tcp).toBe(15);
    expect(g.sent, context).toBeGreaterThanOrEqual(55);
    expect(g.acked, context).toBe(g.sent);
    // Every member online throughout: each message is owed to the 29 others, and each of them got it.
    expect(g.expectedDeliveries, context).toBe(g.sent * 29);
    expect(g.delivered, context).toBe(g.expectedDeliveries);
    expect(g.lost, context).toBe(0);
    expect(g.appDuplicates, context).toBe(0);
    expect(g.wireDuplicates, context).toBe(0);
    expect(g.misrouted + g.addressMismatches + g.unexpectedDeliveries, context).toBe(0);
    expect(g.acceptedPerSec, context).toBeGreaterThan(10); // 20 offered; CI machines are shared
    expect(g.deliveredPerSec).toBeGreaterThan(g.acceptedPerSec * 20);
    expect(g.latencyMs.sendToDeliver.count).toBeGreaterThan(0);
    expect(g.latencyMs.sendToDeliver.p99).toBeLessThanOrEqual(g.latencyMs.sendToDeliver.max);
    // One gateway: the gateway counted the same group messages, none went over a broker.
    expect(g.broker.groupMessages, context).toBe(g.sent);
    expect(g.broker.fanoutMessages).toBe(0);
    expect(g.broker.expectedPerGroupMessage).toBe(0);
    expect(g.broker.bridge).toBeNull();
    expect(report.checks.every((c) => c.ok), JSON.stringify(report.checks)).toBe(true);
    expect(formatGroupReport(report)).toMatch(/member deliveries\s+[\d,]+ of [\d,]+ owed/);
    // Which side bound the run: the spawned standalone and this process are both measured.
    expect(g.saturation.server.busiest?.cores, context).toBeGreaterThan(0);
    expect(g.saturation.generator.busiest).toMatchObject({ name: 'bench' });
    expect(formatGroupReport(report).split('\n').find((l) => l.trimStart().startsWith('saturation '))).toContain(g.saturation.verdict);
  });
});
