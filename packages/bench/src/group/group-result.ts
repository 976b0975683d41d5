import { cpus } from 'node:os';
import type { LoadDriver } from '../load/load.js';
import { quietLatency, type QuietLatency } from '../load/measure.js';
import type { PhaseCommon } from '../load/report.js';
import { commonResult, type Fleet, type LoadTimers, type LoginOutcome, type WindowMeasures } from '../load/switchboard-phase.js';
import { MsgFlag } from '../load/tracker.js';
import { saturationVerdict, type Saturation } from '../load/verdict.js';
import { groupId, type GroupOptions } from './group-args.js';
import type { BrokerSummary } from './group-metrics.js';
import type { GroupWorld } from './group-user.js';

/** A second of the window is quiet when other processes used at most this many cores in it. */
export const QUIET_OTHER_CORES = 0.2;

/** The drain after the load and the catch-up collection after it. */
export interface GroupDrain {
  waitedMs: number;
  /** Members logged in again because they missed messages. */
  collectedUsers: number;
  /** (message, member) deliveries that arrived after that login. */
  collectedMessages: number;
  collectMs: number;
}

/**
 * Result of the group phase. "Messages" are group messages (one send to a group: `sent`, `acked`
 * and the other sender-side counts); "deliveries" are (message, member) pairs. A message is acked
 * once its gateway accepted it (wrote it to the group's history when there is one).
 */
export interface GroupResult extends PhaseCommon {
  groups: { count: number; members: number; ids: string[]; placement: GroupOptions['group']['placement'] };
  /** Online members per gateway when the load ended, over all groups and for each of the first 20 groups. */
  spread: { total: Record<string, number>; perGroup: Array<Record<string, number>> };
  /** Acks received in the window per second: group messages accepted per second. */
  acceptedPerSec: number;
  /** Deliveries owed: for each message, the members online at its send except its sender. */
  expectedDeliveries: number;
  /** Unique deliveries (past each member's dedupe), owed or not. */
  delivered: number;
  /** Deliveries that arrived in the window per second. */
  deliveredPerSec: number;
  /** Deliveries to members not owed them (offline at the send and caught up later, or the sender itself). */
  unexpectedDeliveries: number;
  /** Deliveries owed and never made, after the drain and the collection. */
  lost: number;
  /** Of those, of messages acked to their sender. */
  lostAfterAck: number;
  /** Messages with at least one lost delivery. */
  messagesWithLoss: number;
  /** Group packets with a `to` or `from` other than docs/groups.md's (`misrouted`: deliveries to users not in the message's group). */
  addressMismatches: number;
  broker: BrokerSummary;
  /**
   * Latency over the window's quiet seconds only (other processes ≤ 0.2 cores, the series' criterion):
   * on a shared machine, what the system did when nobody else took the cores.
   */
  quiet: QuietLatency;
  /** Which side ran out of CPU in the window: the generator, a gateway (or dispatch), or the whole machine. */
  saturation: Saturation;
  drain: GroupDrain;
  missingSample: Array<{ fp: string; group: string; from: string; member: string; acked: boolean }>;
}

/** What the phase measured besides the fleet's own counters. */
export interface GroupMeasures {
  world: GroupWorld;
  login: LoginOutcome;
  spread: GroupResult['spread'];
  drain: GroupDrain;
  broker: BrokerSummary;
  timers: LoadTimers;
  measures: WindowMeasures;
}

/** The counts, ratios, latencies, CPU and samples of the group phase, as the report holds them. */
export function groupResult(opts: GroupOptions, fleet: Fleet, driver: LoadDriver, r: GroupMeasures): GroupResult {
  const { users, tracker, stats } = fleet;
  const common = commonResult(opts, fleet, driver, r);
  const { ledger } = r.world;
  const perSec = (n: number) => (common.windowS > 0 ? n / common.windowS : NaN);
  return {
    ...common,
    groups: {
      count: opts.group.groups,
      members: opts.group.members,
      ids: Array.from({ length: Math.min(opts.group.groups, 20) }, (_, g) => groupId(opts.uidPrefix, g)),
      placement: opts.group.placement,
    },
    spread: r.spread,
    acceptedPerSec: perSec(stats.ackedInWindow),
    expectedDeliveries: ledger.expectedDeliveries,
    delivered: ledger.delivered,
    deliveredPerSec: perSec(stats.deliveredInWindow),
    unexpectedDeliveries: ledger.unexpected,
    ...ledger.lost((seq) => tracker.has(seq, MsgFlag.ACKED)),
    addressMismatches: r.world.addressMismatches,
    broker: r.broker,
    quiet: quietLatency(stats, fleet.window, r.timers.cpuSamples, QUIET_OTHER_CORES),
    saturation: saturationVerdict({
      generator: [{ name: 'bench', cores: common.cpu.loadGenerator }],
      server: Object.entries(common.cpu.sut).map(([name, cores]) => ({ name, cores })),
      machineCores: common.cpu.machine,
      otherCores: common.cpu.others,
      cpus: cpus().length,
    }),
    drain: r.drain,
    missingSample: ledger.missing(10).map(({ seq, user }) => ({
      fp: tracker.fp(seq),
      group: groupId(opts.uidPrefix, tracker.receiver[seq]!),
      from: users[tracker.sender[seq]!]!.uid,
      member: users[user]!.uid,
      acked: tracker.has(seq, MsgFlag.ACKED),
    })),
  };
}
