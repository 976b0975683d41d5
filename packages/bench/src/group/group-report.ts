import type { ProcessReport } from '../shared/proc.js';
import { closingLines, cpuRow, fmt, latencyRow, ms, pct, reportJson, table, timelineLines, type BenchReport } from '../load/report.js';
import type { GroupOptions } from './group-args.js';
import type { BrokerSummary } from './group-metrics.js';
import type { GroupResult } from './group-result.js';

/** Everything one `switchboard bench group` run measured; what `--json FILE` writes. */
export interface GroupReport {
  version: 1;
  mode: 'group';
  startedAt: string;
  finishedAt: string;
  machine: BenchReport['machine'];
  options: GroupOptions;
  target: { kind: string; dispatch: string | null };
  group: GroupResult;
  processes: ProcessReport[];
  checks: BenchReport['checks'];
}

/** The verdicts of a group run: nothing lost, no application duplicates, messages accepted and delivered, everyone in. */
export function groupChecks(g: GroupResult, aborted: boolean): BenchReport['checks'] {
  const c: BenchReport['checks'] = [
    { name: 'lost', ok: g.lost === 0, detail: `${g.lost} of ${g.expectedDeliveries} member deliveries owed never made (${g.messagesWithLoss} messages)` },
    { name: 'application duplicates', ok: g.appDuplicates === 0, detail: `${g.appDuplicates} (after dedupe by fp)` },
    { name: 'accepted', ok: g.acceptedPerSec > 0, detail: `${g.acceptedPerSec.toFixed(1)} group messages/s acked to their senders` },
    { name: 'deliveries', ok: g.delivered > 0, detail: `${g.delivered} member deliveries counted` },
    {
      name: 'group wire format',
      ok: g.misrouted === 0 && g.addressMismatches === 0,
      detail: `${g.misrouted} to non-members, ${g.addressMismatches} with another to/from than docs/groups.md`,
    },
    { name: 'all users logged in', ok: g.users.loggedIn === g.users.total, detail: `${g.users.loggedIn}/${g.users.total}` },
  ];
  if (aborted) c.push({ name: 'completed', ok: false, detail: 'interrupted by a signal' });
  return c;
}

/** JSON text of a group report, the admin token left out. */
export function groupReportJson(r: GroupReport): string {
  const token = r.options.group.adminToken;
  return reportJson({ ...r, options: { ...r.options, group: { ...r.options.group, adminToken: token === null ? null : '(set)' } } });
}

const ratio = (x: number | null, digits = 2) => (x === null ? '-' : x.toFixed(digits));

/** The broker row: fan-out per group message from the gateways' counters, what it should be, and the bridge's own counters. */
export function brokerLine(b: BrokerSummary): string {
  const fanout =
    b.fanoutMessages === null || b.groupMessages === null
      ? 'fan-out counters not readable'
      : `${ratio(b.fanoutPerGroupMessage)} fan-out messages per group message (${fmt(b.fanoutMessages)} for ${fmt(b.groupMessages)} group messages)`;
  const bridge = b.bridge
    ? `; bridge ${fmt(b.bridge.brokerMessagesPublished)} broker messages published for ${fmt(b.bridge.itemsPublished)} items ` +
      `(${ratio(b.itemsPerBrokerMessage)} items each) = ${ratio(b.brokerMessagesPerGroupMessage)} per group message`
    : '; no bridge counters (one gateway, no broker)';
  return `${fanout}; expected ${ratio(b.expectedPerGroupMessage)} (other gateways with online members)${bridge}`;
}

/** The human table printed at the end of a group run. */
export function formatGroupReport(r: GroupReport): string {
  const g = r.group;
  const o = r.options;
  const load = o.load.kind === 'closed' ? `closed loop, ${o.load.inflight} in flight per member` : `open loop, ${fmt(o.load.ratePerSec, 1)} group msg/s offered`;
  const spread = (m: Record<string, number>) => Object.entries(m).map(([n, c]) => `${n}: ${c}`).join(', ') || '-';
  const out: string[] = [
    `switchboard bench group — ${r.target.kind}${r.target.dispatch ? ` ${r.target.dispatch}` : ''}`,
    `  ${g.groups.count} group(s) x ${g.groups.members} members (${g.users.ws} ws, ${g.users.tcp} tcp; placement ${g.groups.placement}), ` +
      `${o.sizeBytes}-byte QoS group messages, ${load}, ${o.warmupS} s warmup + ${o.durationS} s measured, sense mode ${o.senseMode}`,
    '',
    table([
      ['logged in', `${g.users.loggedIn}/${g.users.total} in ${fmt(g.users.loginMs)} ms (${g.users.loginFailures} failed attempts)`],
      ['members online', spread(g.spread.total) + (g.spread.perGroup.length > 1 ? ` (group 0: ${spread(g.spread.perGroup[0]!)})` : '')],
      ['group messages', `sent ${fmt(g.sent)} (${fmt(g.sentInWindow)} in window, ${fmt(g.resends)} resends, ${fmt(g.resendsAfterReconnect)} after reconnect)`],
      ['acked', `${fmt(g.acked)} (${fmt(g.lateAcks)} late, ${fmt(g.duplicateAcks)} duplicate acks; ${fmt(g.unacked)} never acked, ${fmt(g.senderGaveUp)} given up by senders)`],
      ['accepted', `${fmt(g.acceptedPerSec, 1)} group msg/s` + (g.offeredPerSec ? ` (offered ${fmt(g.offeredPerSec, 1)})` : '')],
      ['member deliveries', `${fmt(g.delivered)} of ${fmt(g.expectedDeliveries)} owed, ${fmt(g.deliveredPerSec)}/s in the window; ${fmt(g.unexpectedDeliveries)} to members not owed them`],
      ['lost', `${fmt(g.lost)} deliveries (${fmt(g.lostAfterAck)} of acked messages; ${fmt(g.messagesWithLoss)} messages with a loss)`],
      ['duplicates', `wire ${fmt(g.wireDuplicates)}, application ${fmt(g.appDuplicates)}`],
      ['send→ack', latencyRow(g.latencyMs.sendToAck)],
      ['send→deliver', latencyRow(g.latencyMs.sendToDeliver)],
      ['broker', brokerLine(g.broker)],
      [
        'quiet seconds',
        `${g.quiet.seconds} of ${g.quiet.of} measured seconds had other processes ≤ ${g.quiet.maxOtherCores} cores; in them send→deliver ` +
          `p50 ${ms(g.quiet.sendToDeliver.p50)}  p99 ${ms(g.quiet.sendToDeliver.p99)}  max ${ms(g.quiet.sendToDeliver.max)} ms (n=${fmt(g.quiet.sendToDeliver.count)}), send→ack p99 ${ms(g.quiet.sendToAck.p99)} ms`,
      ],
      ['cross-node', `${pct(g.crossNodeShare)} of group messages had members online on other gateways`],
      ['disconnects', `${g.disconnects} (${g.reconnects} reconnected)`],
      ['errors', Object.entries(g.errors).map(([c, n]) => `${c}×${n}`).join(', ') || 'none'],
      ['kicks', Object.entries(g.kicks).map(([c, n]) => `${c}×${n}`).join(', ') || 'none'],
      [
        'other',
        `to non-members ${g.misrouted}, other to/from ${g.addressMismatches}, foreign ${g.foreign}, unknown acks ${g.unknownAcks}, bad packets ${g.badPackets}` +
          (g.notSentOffline ? `, not sent (offline) ${g.notSentOffline}` : ''),
      ],
      ['drain', `${fmt(g.drain.waitedMs)} ms; ${g.drain.collectedMessages} deliveries after logging ${g.drain.collectedUsers} members in again, ${fmt(g.drain.collectMs)} ms`],
      cpuRow(g.cpu, g.loadGeneratorLoopDelayMs.p99),
      ['saturation', g.saturation.verdict],
    ]),
  ];
  if (o.timeline) out.push('', ...timelineLines(g.timeline));
  out.push(...closingLines(r.processes, g.cpu.others, r.target.kind, r.checks));
  return out.join('\n') + '\n';
}
