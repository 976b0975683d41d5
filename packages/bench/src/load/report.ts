import type { BenchOptions } from './args.js';
import type { LatencySummary } from '../shared/histogram.js';
import type { ProcessReport } from '../shared/proc.js';
import type { ChaosEvent } from './chaos.js';
import type { Saturation, StallSummary } from './verdict.js';

/** Result of the Switchboard load phase. Counts are messages unless named otherwise. */
export interface SwitchboardResult {
  users: { total: number; loggedIn: number; ws: number; tcp: number; loginMs: number; loginFailures: number };
  /** Online users per gateway node when the load ended. */
  nodes: Record<string, number>;
  windowS: number;
  /** Open loop: the offered rate; closed loop: null. */
  offeredPerSec: number | null;
  sent: number;
  sentInWindow: number;
  resends: number;
  resendsAfterReconnect: number;
  acked: number;
  lateAcks: number;
  delivered: number;
  /** Sent but not delivered, after the drain and the offline collection. */
  lost: number;
  /** Of those, acked to the sender (the gateway promised delivery or storage): a broken promise. */
  lostAfterAck: number;
  /** Never acked to the sender. */
  unacked: number;
  /** Delivered although the sender never saw the ack. */
  deliveredUnacked: number;
  senderGaveUp: number;
  wireDuplicates: number;
  appDuplicates: number;
  duplicateAcks: number;
  unknownAcks: number;
  misrouted: number;
  foreign: number;
  badPackets: number;
  notSentOffline: number;
  /** Messages sent to a random peer because no user fitted `--pairing`. */
  pairingMisses: number;
  /** Acks received in the measured window per second: the throughput. */
  throughputPerSec: number;
  deliveredPerSec: number;
  /** Share of sent messages whose sender and receiver were on different gateways. */
  crossNodeShare: number;
  latencyMs: { sendToAck: LatencySummary; sendToDeliver: LatencySummary };
  errors: Record<string, number>;
  kicks: Record<string, number>;
  disconnects: number;
  reconnects: number;
  drain: { waitedMs: number; collectedUsers: number; collectedMessages: number; collectMs: number };
  /** Per second of the load (t = 0 at its start, warmup included) and of the drain after it. */
  timeline: TimelineEntry[];
  /** A few undelivered messages, for debugging. */
  missingSample: Array<{ fp: string; from: string; to: string; acked: boolean; gaveUp: boolean; crossNode: boolean }>;
  /**
   * CPU use in the measured window, in cores (1.0 = one core busy): the generator, each spawned
   * process, the machine, its interrupt time (inside the processes' times on kernels without IRQ time
   * accounting) and other processes (machine − generator − spawned processes).
   */
  cpu: { loadGenerator: number; sut: Record<string, number | null>; machine: number; interrupts: number; others: number };
  /** Load generator event-loop delay in the window, ms (with --workers N: the worst worker's). */
  loadGeneratorLoopDelayMs: { p50: number; p99: number; max: number };
  /**
   * The load generator's processes and the cores each used in the measured window: the bench itself
   * (`bench`), and with `--workers N` each worker (`worker 1` …, with its users and event-loop delay).
   * `cpu.loadGenerator` is their sum.
   */
  generator: GeneratorProcess[];
  /** The per-second maximum send→ack latency over the measured seconds, and the stalls (seconds over 50 ms). */
  ackMaxPerSecond: StallSummary;
  /** Which side ran out of CPU: generator, server or machine. */
  saturation: Saturation;
}

/** One process of the load generator. */
export interface GeneratorProcess {
  name: string;
  pid: number | null;
  /** Simulated users in it (0 for the parent of workers). */
  users: number;
  /** Cores in the measured window (null when unknown). */
  cores: number | null;
  /** Event-loop delay p99 in the measured window, ms (NaN when not measured). */
  loopDelayP99Ms: number;
}

/** What the load and the group mode report alike (`commonResult`). */
export type PhaseCommon = Pick<
  SwitchboardResult,
  | 'users' | 'windowS' | 'offeredPerSec' | 'sent' | 'sentInWindow' | 'resends' | 'resendsAfterReconnect' | 'acked' | 'lateAcks'
  | 'unacked' | 'senderGaveUp' | 'wireDuplicates' | 'appDuplicates' | 'duplicateAcks' | 'unknownAcks' | 'misrouted' | 'foreign'
  | 'badPackets' | 'notSentOffline' | 'crossNodeShare' | 'latencyMs' | 'errors' | 'kicks' | 'disconnects' | 'reconnects'
  | 'timeline' | 'cpu' | 'loadGeneratorLoopDelayMs'
>;

/** Result of the echo baseline. */
export interface EchoResult {
  users: number;
  windowS: number;
  sent: number;
  roundTrips: number;
  roundTripsPerSec: number;
  latencyMs: LatencySummary;
  timeline: TimelineEntry[];
  disconnects: number;
  cpu: { loadGenerator: number; echoServer: number | null; machine: number; interrupts: number; others: number };
}

/** A gateway's own record as dispatch lists it (GET /admin/nodes). */
export interface NodeSample {
  state: string;
  connections: number;
  loopLagMs: number | null;
  cpu: number | null;
}

/** One second of a run: messages sent, acked and delivered in it, latency of the acks in it. */
export interface TimelineEntry {
  t: number;
  sent: number;
  acked: number;
  delivered: number;
  ackP50Ms: number;
  ackP99Ms: number;
  ackMaxMs: number;
  /** send→deliver of the deliveries that arrived in that second. */
  deliverP50Ms: number;
  deliverP99Ms: number;
  /** CPU cores other processes used in that second (machine − bench − spawned processes). */
  otherCores?: number;
  /** The gateways' own samples of that second (dispatch targets only). */
  nodes?: Record<string, NodeSample>;
}

/** Everything one `switchboard bench` run measured; what `--json FILE` writes. */
export interface BenchReport {
  version: 1;
  startedAt: string;
  finishedAt: string;
  /** `loadAvgAtStart`: the 1-minute load average when the run began (other work on the machine). */
  machine: { node: string; platform: string; cpus: number; cpuModel: string; loadAvgAtStart: number };
  options: BenchOptions;
  target: { kind: string; dispatch: string | null; ws: string | null };
  switchboard: SwitchboardResult;
  echo: EchoResult | null;
  /** Switchboard msg/s ÷ echo round trips/s. */
  ratio: number | null;
  chaos: ChaosEvent[];
  processes: ProcessReport[];
  /** Short verdicts: zero lost, zero app duplicates… */
  checks: Array<{ name: string; ok: boolean; detail: string }>;
}

/** JSON text of a report (of any mode): NaN and ±Infinity become null. */
export function reportJson(r: object): string {
  return JSON.stringify(r, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n';
}

export const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '-';
export const ms = (n: number): string => (Number.isFinite(n) ? (n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0)) : '-');
export const pct = (x: number): string => (Number.isFinite(x) ? (x * 100).toFixed(1) + ' %' : '-');

export function table(rows: Array<[string, string]>): string {
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`).join('\n');
}

export function latencyRow(l: LatencySummary): string {
  return `p50 ${ms(l.p50)}  p90 ${ms(l.p90)}  p99 ${ms(l.p99)}  max ${ms(l.max)} ms  (n=${fmt(l.count)})`;
}

/** The human table printed at the end of a run. */
export function formatReport(r: BenchReport): string {
  const s = r.switchboard;
  const o = r.options;
  const load = o.load.kind === 'closed' ? `closed loop, ${o.load.inflight} in flight per user` : `open loop, ${fmt(o.load.ratePerSec)} msg/s offered`;
  const out: string[] = [];
  out.push(
    `switchboard bench — ${r.target.kind}${r.target.dispatch ? ` ${r.target.dispatch}` : r.target.ws ? ` ${r.target.ws}` : ''}`,
    `  ${s.users.total} users (${s.users.ws} ws, ${s.users.tcp} tcp), ${o.sizeBytes}-byte QoS C2C messages, ${load}, ` +
      `${o.warmupS} s warmup + ${o.durationS} s measured, sense mode ${o.senseMode}` +
      (o.workers > 1 ? `, ${o.workers} load worker processes` : ''),
    '',
    table([
      ['logged in', `${s.users.loggedIn}/${s.users.total} in ${fmt(s.users.loginMs)} ms (${s.users.loginFailures} failed attempts)`],
      ['gateways', Object.entries(s.nodes).map(([n, c]) => `${n}: ${c}`).join(', ') || '-'],
      ['sent', `${fmt(s.sent)} (${fmt(s.sentInWindow)} in window, ${fmt(s.resends)} resends, ${fmt(s.resendsAfterReconnect)} after reconnect)`],
      ['acked', `${fmt(s.acked)} (${fmt(s.lateAcks)} late, ${fmt(s.duplicateAcks)} duplicate acks)`],
      ['delivered (unique)', fmt(s.delivered)],
      ['lost', `${fmt(s.lost)} (${fmt(s.lostAfterAck)} of them acked; ${fmt(s.unacked)} never acked, ${fmt(s.senderGaveUp)} given up by senders)`],
      ['duplicates', `wire ${fmt(s.wireDuplicates)}, application ${fmt(s.appDuplicates)}`],
      ['throughput', `${fmt(s.throughputPerSec)} msg/s acked, ${fmt(s.deliveredPerSec)} msg/s delivered` + (s.offeredPerSec ? ` (offered ${fmt(s.offeredPerSec)})` : '')],
      ['send→ack', latencyRow(s.latencyMs.sendToAck)],
      ['send→deliver', latencyRow(s.latencyMs.sendToDeliver)],
      ['cross-node', `${pct(s.crossNodeShare)} (pairing ${o.pairing}${o.peers ? `, ${o.peers} peers each` : ''}${s.pairingMisses ? `, ${fmt(s.pairingMisses)} without a fitting receiver` : ''})`],
      ['disconnects', `${s.disconnects} (${s.reconnects} reconnected)`],
      ['errors', Object.entries(s.errors).map(([c, n]) => `${c}×${n}`).join(', ') || 'none'],
      ['kicks', Object.entries(s.kicks).map(([c, n]) => `${c}×${n}`).join(', ') || 'none'],
      ['other', `misrouted ${s.misrouted}, foreign ${s.foreign}, unknown acks ${s.unknownAcks}, bad packets ${s.badPackets}` + (s.notSentOffline ? `, not sent (offline) ${s.notSentOffline}` : '')],
      ['drain', `${fmt(s.drain.waitedMs)} ms; collected ${s.drain.collectedMessages} from ${s.drain.collectedUsers} users' offline queues in ${fmt(s.drain.collectMs)} ms`],
      ['per-second max', stallRow(s.ackMaxPerSecond)],
      cpuRow(s.cpu, s.loadGeneratorLoopDelayMs.p99),
      ...(s.generator.length > 1 ? [generatorRow(s.generator)] : []),
      ['saturation', s.saturation.verdict],
    ]),
  );
  if (r.echo) {
    const e = r.echo;
    out.push(
      '',
      'raw ws/tcp echo baseline (same generator, users, load and size; child process)',
      table([
        ['round trips', `${fmt(e.roundTrips)} (${fmt(e.roundTripsPerSec)}/s)`],
        ['round trip', latencyRow(e.latencyMs)],
        [
          'cpu (cores)',
          `load generator ${e.cpu.loadGenerator.toFixed(2)}, echo server ${e.cpu.echoServer === null ? '-' : e.cpu.echoServer.toFixed(2)} (kernel interrupts ${e.cpu.interrupts.toFixed(2)}), other processes ${e.cpu.others.toFixed(2)}`,
        ],
        ['ratio', r.ratio === null ? '-' : `Switchboard ${fmt(s.throughputPerSec)} msg/s ÷ echo ${fmt(e.roundTripsPerSec)}/s = ${r.ratio.toFixed(3)}`],
      ]),
    );
  }
  if (r.options.timeline) out.push('', ...timelineLines(s.timeline));
  if (r.chaos.length) {
    out.push('', 'chaos', table(r.chaos.map((c) => [`t=${c.atS}s ${c.action}`, `${c.ok ? 'ok' : 'FAILED'} ${c.nodeId ?? ''} ${c.detail}`])));
  }
  out.push(...closingLines(r.processes, Math.max(s.cpu.others, r.echo?.cpu.others ?? 0), r.target.kind, r.checks));
  return out.join('\n') + '\n';
}

/** The per-second maximum send→ack row: median and worst of the seconds' maxima, and the stalls. */
export function stallRow(x: StallSummary): string {
  const worst = x.worstMaxMs === null ? '-' : `${ms(x.worstMaxMs)} ms (t=${x.worstSecond})`;
  const list = x.stallSeconds.length > 12 ? `${x.stallSeconds.slice(0, 12).join(', ')}, …` : x.stallSeconds.join(', ');
  return (
    `send→ack max per second: median ${x.medianMaxMs === null ? '-' : ms(x.medianMaxMs)} ms, worst ${worst}; ` +
    `stalls over ${x.thresholdMs} ms: ${x.stalls} of ${x.seconds} measured seconds${x.stalls ? ` (t=${list})` : ''}`
  );
}

/** The generator's processes with their cores (only printed with --workers N). */
export function generatorRow(g: readonly GeneratorProcess[]): [string, string] {
  return [
    'generator',
    g
      .map((p) => `${p.name}${p.pid ? ` pid ${p.pid}` : ''}${p.users ? ` ${fmt(p.users)} users` : ''} ${p.cores === null ? '-' : p.cores.toFixed(2)} cores` +
        (Number.isFinite(p.loopDelayP99Ms) ? ` (loop p99 ${ms(p.loopDelayP99Ms)} ms)` : ''))
      .join('; '),
  ];
}

/** The CPU row of a phase: the generator, each process of the system under test, interrupts, others, the generator's loop delay. */
export function cpuRow(cpu: SwitchboardResult['cpu'], loopDelayP99: number): [string, string] {
  return [
    'cpu (cores)',
    `load generator ${cpu.loadGenerator.toFixed(2)}` +
      Object.entries(cpu.sut).map(([k, v]) => `, ${k} ${v === null ? '-' : v.toFixed(2)}`).join('') +
      ` (kernel interrupts ${cpu.interrupts.toFixed(2)}); other processes ${cpu.others.toFixed(2)}; generator loop delay p99 ${ms(loopDelayP99)} ms`,
  ];
}

/** The per-second timeline as printed lines (`--timeline`). */
export function timelineLines(timeline: readonly TimelineEntry[]): string[] {
  const out = [
    'timeline (per second; t=0 is the start of the load, warmup included)',
    '     t      sent     acked  delivered   ack p50   ack p99   ack max  others  gateways (connections, loop lag ms)',
  ];
  for (const e of timeline) {
    const nodes = e.nodes
      ? Object.entries(e.nodes)
          .map(([id, n]) => `${id}${n.state === 'active' ? '' : `(${n.state})`} ${n.connections}c ${n.loopLagMs ?? '-'}`)
          .join(', ')
      : '';
    out.push(
      `  ${String(e.t).padStart(4)}  ${fmt(e.sent).padStart(8)}  ${fmt(e.acked).padStart(8)}  ${fmt(e.delivered).padStart(9)}  ` +
        `${ms(e.ackP50Ms).padStart(8)}  ${ms(e.ackP99Ms).padStart(8)}  ${ms(e.ackMaxMs).padStart(8)}  ${(e.otherCores === undefined ? '-' : e.otherCores.toFixed(2)).padStart(6)}  ${nodes}`,
    );
  }
  return out;
}

/**
 * The end of a printed report: what the spawned processes logged after ready, a note when other
 * processes used more than 0.2 cores (`noise`) in a measured window, and the checks.
 */
export function closingLines(processes: readonly ProcessReport[], noise: number, targetKind: string, checks: BenchReport['checks']): string[] {
  const out: string[] = [];
  const noisy = processes.filter((p) => p.warnLines + p.errorLines > 0);
  if (noisy.length) {
    out.push('', 'system under test logged (after ready)');
    for (const p of noisy) {
      out.push(`  ${p.name}: ${p.errorLines} error, ${p.warnLines} warn lines`);
      for (const m of p.problems.slice(0, 8)) out.push(`    [${m.level >= 50 ? 'error' : 'warn'}] ×${m.count} ${m.msg.slice(0, 160)}`);
    }
  }
  if (noise > 0.2) {
    const backends = targetKind === 'spawn-cluster' || targetKind === 'dispatch';
    out.push(
      '',
      backends
        ? `note: other processes used up to ${noise.toFixed(2)} cores during a measured window; with a cluster that includes Redis and RabbitMQ`
        : `note: other processes used up to ${noise.toFixed(2)} cores during a measured window: the numbers are noisy`,
    );
  }
  out.push('', table(checks.map((c) => [c.ok ? 'ok' : 'FAIL', `${c.name}: ${c.detail}`])));
  return out;
}
