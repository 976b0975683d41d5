import { describe, expect, it } from 'vitest';
import { decodePacket, encodePacket, dataPacket } from '@switchboard/protocol';
import { GroupLedger } from '../../src/group/group-ledger.js';
import { brokerSummary, parseGatewayCounters, type GatewayCounters } from '../../src/group/group-metrics.js';
import { brokerLine, groupChecks } from '../../src/group/group-report.js';
import type { GroupResult } from '../../src/group/group-result.js';
import { GroupUser, type GroupWorld } from '../../src/group/group-user.js';
import type { SimUser, UserContext } from '../../src/load/sim-user.js';
import { PhaseStats, type Window } from '../../src/load/stats.js';
import { quietLatency } from '../../src/load/measure.js';
import { MessageTracker, MsgFlag, makeContent } from '../../src/load/tracker.js';

describe('GroupLedger', () => {
  it('receipts - owed, not owed, again, not a member', () => {
    // Two groups of 10: users 0–9 and 10–19.
    const l = new GroupLedger(10);
    l.onSent(0, 1, [11, 12, 13], 2); // user 10 sent to group 1; 11–13 online
    expect(l.expectedDeliveries).toBe(3);
    expect(l.outstanding).toBe(3);
    expect(l.onReceived(0, 11)).toBe('expected');
    expect(l.onReceived(0, 11)).toBe('duplicate');
    expect(l.onReceived(0, 14)).toBe('unexpected'); // a member offline at the send
    expect(l.onReceived(0, 3)).toBe('not-member'); // a member of group 0
    expect(l.onReceived(5, 11)).toBe('not-member'); // no such message
    expect(l.delivered).toBe(2);
    expect(l.unexpected).toBe(1);
    expect(l.outstanding).toBe(2);
    expect(l.gotIt(0, 11)).toBe(true);
    expect(l.gotIt(0, 12)).toBe(false);
    expect(l.missing()).toEqual([
      { seq: 0, user: 12 },
      { seq: 0, user: 13 },
    ]);
  });

  it('lost - pairs owed and not delivered, split by whether the message was acked; messages with a loss', () => {
    const l = new GroupLedger(5);
    l.onSent(0, 0, [1, 2, 3, 4], 1);
    l.onSent(1, 0, [0, 2, 3, 4], 1);
    l.onSent(2, 0, [0, 1], 0);
    for (const u of [1, 2, 3, 4]) l.onReceived(0, u);
    l.onReceived(1, 0); // 2, 3, 4 missing
    l.onReceived(2, 0); // 1 missing
    const acked = new Set([0, 1]);
    expect(l.lost((seq) => acked.has(seq))).toEqual({ lost: 4, lostAfterAck: 3, messagesWithLoss: 2 });
    expect(l.missing(2)).toEqual([
      { seq: 1, user: 2 },
      { seq: 1, user: 3 },
    ]);
    expect(l.meanRemoteNodes).toBeCloseTo(2 / 3, 9);
  });

  it('bitsets - members not a multiple of 8, thousands of messages (growth), duplicates in the owed list count once', () => {
    const members = 13;
    const l = new GroupLedger(members);
    for (let seq = 0; seq < 3_000; seq++) {
      const g = seq % 3;
      const owed = Array.from({ length: members }, (_, k) => g * members + k).filter((u) => u !== g * members);
      l.onSent(seq, g, [...owed, owed[0]!], 2);
      for (const u of owed) if (!(seq === 2_999 && u === g * members + 12)) l.onReceived(seq, u);
    }
    expect(l.expectedDeliveries).toBe(3_000 * 12);
    expect(l.outstanding).toBe(1);
    expect(l.missing()).toEqual([{ seq: 2_999, user: 2 * members + 12 }]);
    expect(l.meanRemoteNodes).toBe(2);
  });

  it('onSent - out of order or to a non-member is a programming error', () => {
    const l = new GroupLedger(4);
    expect(() => l.onSent(1, 0, [], 0)).toThrow(RangeError);
    expect(() => l.onSent(0, 0, [4], 0)).toThrow(/not a member of group 0/);
    expect(new GroupLedger(4).meanRemoteNodes).toBeNaN();
  });
});

const METRICS = `# HELP switchboard_messages_total Messages accepted by kind
# TYPE switchboard_messages_total counter
switchboard_messages_total{kind="c2c"} 7
switchboard_messages_total{kind="group"} 40
# TYPE switchboard_group_fanout_messages_total counter
switchboard_group_fanout_messages_total 78
# TYPE switchboard_bridge_items_published_total counter
switchboard_bridge_items_published_total 80
# TYPE switchboard_bridge_broker_messages_published_total counter
switchboard_bridge_broker_messages_published_total 79
# TYPE switchboard_bridge_items_received_total counter
switchboard_bridge_items_received_total 81
# TYPE switchboard_bridge_broker_messages_received_total counter
switchboard_bridge_broker_messages_received_total 80
`;

describe('gateway counters', () => {
  it('parseGatewayCounters - only kind="group" of the messages; the fan-out and bridge counters', () => {
    expect(parseGatewayCounters(METRICS)).toEqual({
      groupMessages: 40,
      fanout: 78,
      itemsPublished: 80,
      brokerMessagesPublished: 79,
      itemsReceived: 81,
      brokerMessagesReceived: 80,
    });
  });

  it('parseGatewayCounters - declared and never counted is 0, absent (no AMQP bridge) is null', () => {
    const standalone = '# TYPE switchboard_messages_total counter\n# TYPE switchboard_group_fanout_messages_total counter\n';
    expect(parseGatewayCounters(standalone)).toEqual({
      groupMessages: 0,
      fanout: 0,
      itemsPublished: null,
      brokerMessagesPublished: null,
      itemsReceived: null,
      brokerMessagesReceived: null,
    });
  });

  const counters = (g: number, f: number, bridge: [number, number] | null): GatewayCounters => ({
    groupMessages: g,
    fanout: f,
    itemsPublished: bridge?.[0] ?? null,
    brokerMessagesPublished: bridge?.[1] ?? null,
    itemsReceived: bridge?.[0] ?? null,
    brokerMessagesReceived: bridge?.[1] ?? null,
  });

  it('brokerSummary - differences summed over the gateways, fan-out and broker messages per group message', () => {
    const before = { a: counters(10, 20, [25, 24]), b: counters(0, 0, [0, 0]), c: counters(5, 10, [10, 10]) };
    const after = { a: counters(50, 100, [110, 100]), b: counters(40, 80, [80, 80]), c: counters(45, 90, [95, 90]) };
    const s = brokerSummary(before, after, 2);
    expect(s.groupMessages).toBe(120);
    expect(s.fanoutMessages).toBe(240);
    expect(s.fanoutPerGroupMessage).toBe(2);
    expect(s.expectedPerGroupMessage).toBe(2);
    expect(s.bridge).toEqual({ itemsPublished: 250, brokerMessagesPublished: 236, itemsReceived: 250, brokerMessagesReceived: 236 });
    expect(s.brokerMessagesPerGroupMessage).toBeCloseTo(236 / 120, 9);
    expect(s.itemsPerBrokerMessage).toBeCloseTo(250 / 236, 9);
    expect(s.perNode['a']).toMatchObject({ groupMessages: 40, fanout: 80, brokerMessagesPublished: 76 });
  });

  it('brokerSummary - an unreadable gateway makes the sums unknown; no bridge counters, no bridge figures', () => {
    const partial = brokerSummary({ a: counters(0, 0, [0, 0]), b: null }, { a: counters(10, 20, [20, 20]), b: counters(10, 20, [20, 20]) }, 2);
    expect(partial.groupMessages).toBeNull();
    expect(partial.fanoutPerGroupMessage).toBeNull();
    expect(partial.perNode['b']).toMatchObject({ groupMessages: null });
    const standalone = brokerSummary({ gw: counters(0, 0, null) }, { gw: counters(30, 0, null) }, 0);
    expect(standalone).toMatchObject({ groupMessages: 30, fanoutMessages: 0, fanoutPerGroupMessage: 0, bridge: null, brokerMessagesPerGroupMessage: null });
    expect(brokerLine(standalone)).toBe(
      '0.00 fan-out messages per group message (0 for 30 group messages); expected 0.00 (other gateways with online members); no bridge counters (one gateway, no broker)',
    );
  });
});

describe('GroupUser', () => {
  /** Two groups of 4 (users 0–3 and 4–7); every user online on node a or b as given. */
  function world(nodes: string[]): { users: GroupUser[]; w: GroupWorld; ctx: UserContext } {
    const window: Window = { start: 0, from: 0, to: Infinity };
    const users: GroupUser[] = [];
    const ctx: UserContext = {
      tracker: new MessageTracker(),
      stats: new PhaseStats(window),
      users: users as SimUser[],
      sizeBytes: 64,
      senseMode: '15S',
      qos: { tickMs: 5_000, graceMs: 3_000, retries: 2 },
      window,
      place: () => Promise.reject(new Error('not in this test')),
      onSlotFree: () => {},
      onReconnected: () => {},
      stopping: false,
    };
    const w: GroupWorld = { ledger: new GroupLedger(4), members: 4, address: (g) => `g:run-g${g}`, addressMismatches: 0 };
    nodes.forEach((node, i) => {
      const u = new GroupUser(i, `u${i}`, 'ws', ctx, w);
      u.state = 'online';
      u.node = node;
      users.push(u);
    });
    return { users, w, ctx };
  }

  it('sendNew - owed to the other online members of its group; remote gateways counted; held for resends', () => {
    const { users, w, ctx } = world(['a', 'a', 'b', 'c', 'a', 'a', 'a', 'a']);
    users[3]!.state = 'offline';
    expect(users[1]!.group).toBe(0);
    expect(users[5]!.group).toBe(1);
    users[1]!.sendNew(users[1]!.group, 0, true);
    expect(w.ledger.expectedDeliveries).toBe(2); // 0 and 2; 3 is offline
    expect(w.ledger.meanRemoteNodes).toBe(1); // b
    expect(ctx.tracker.receiver[0]).toBe(0);
    expect(ctx.tracker.has(0, MsgFlag.CROSS_NODE | MsgFlag.MEASURED)).toBe(true);
    expect(users[1]!.pending.size).toBe(1);
    expect(ctx.stats.sent).toBe(1);
    users[5]!.sendNew(1, 0, false);
    expect(ctx.tracker.has(1, MsgFlag.CROSS_NODE)).toBe(false);
  });

  it('deliver - counts a member delivery with its latency; a non-member, a repeat and a wrong address are told apart', () => {
    const { users, w, ctx } = world(['a', 'a', 'b', 'b', 'a', 'a', 'a', 'a']);
    users[0]!.sendNew(0, performance.now() - 5, true);
    const p = decodePacket(
      encodePacket(dataPacket({ from: 'g:run-g0:u0', to: 'g:run-g0', dataContent: makeContent(performance.now() - 5, 0, 64), fp: ctx.tracker.fp(0), QoS: true })),
    );
    const deliver = (u: GroupUser, pk = p) => (u as unknown as { deliver(seq: number, p: unknown): void }).deliver(0, pk);
    deliver(users[2]!);
    expect(ctx.stats.delivered).toBe(1);
    expect(ctx.stats.deliverLatency.summary().p50).toBeGreaterThanOrEqual(4);
    deliver(users[2]!);
    expect(ctx.stats.appDuplicates).toBe(1);
    deliver(users[5]!);
    expect(ctx.stats.misrouted).toBe(1);
    deliver(users[3]!, { ...p, from: 'u0' });
    expect(w.addressMismatches).toBe(1);
    expect(w.ledger.delivered).toBe(2);
  });
});

describe('quietLatency', () => {
  it('quietLatency - merges the seconds of the window in which other processes stayed at or under the limit', () => {
    // Load from t=0, window [1 s, 4 s): seconds 1, 2, 3; second 0 is warmup.
    const window: Window = { start: 0, from: 1_000, to: 4_000 };
    const stats = new PhaseStats(window);
    stats.onDelivered(500, 1_000, false); // warmup second: never counted
    stats.onDelivered(1_500, 10, true);
    stats.onDelivered(1_600, 20, true);
    stats.onDelivered(2_500, 500, true); // a noisy second
    stats.onAcked(3_200, 5, true); // second 3 has no CPU sample: not known to be quiet
    stats.onDelivered(3_500, 7, true);
    const q = quietLatency(stats, window, new Map([[0, 0], [1, 0.15], [2, 0.9]]), 0.2);
    expect(q).toMatchObject({ maxOtherCores: 0.2, seconds: 1, of: 3 });
    expect(q.sendToDeliver.count).toBe(2);
    expect(q.sendToDeliver.max).toBe(20);
    expect(q.sendToAck.count).toBe(0);
    const all = quietLatency(stats, window, new Map([[1, 0], [2, 0], [3, 0]]), 0.2);
    expect(all.seconds).toBe(3);
    expect(all.sendToDeliver.count).toBe(4);
    expect(all.sendToAck.count).toBe(1);
  });
});

describe('groupChecks', () => {
  it('groupChecks - lost, application duplicates, accepted, deliveries, wire format, logins', () => {
    const g = {
      lost: 0,
      expectedDeliveries: 10,
      messagesWithLoss: 0,
      appDuplicates: 0,
      acceptedPerSec: 4,
      delivered: 10,
      misrouted: 0,
      addressMismatches: 0,
      users: { loggedIn: 3, total: 3 },
    } as unknown as GroupResult;
    expect(groupChecks(g, false).every((c) => c.ok)).toBe(true);
    const bad = groupChecks({ ...g, lost: 1, addressMismatches: 2 }, true);
    expect(bad.filter((c) => !c.ok).map((c) => c.name)).toEqual(['lost', 'group wire format', 'completed']);
  });
});
