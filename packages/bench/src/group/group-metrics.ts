/** What group mode reads of the gateways' `/metrics`: group messages, their fan-out and the bridge's counters. */
import { DEFAULT_HTTP_TIMEOUT_MS } from '../shared/defaults.js';

/** The counters of one gateway that say what group messages cost the broker (null: not exposed, e.g. no AMQP bridge). */
export interface GatewayCounters {
  /** `switchboard_messages_total{kind="group"}`: group messages this gateway accepted. */
  groupMessages: number | null;
  /** `switchboard_group_fanout_messages_total`: bridge messages its group messages caused. */
  fanout: number | null;
  /** `switchboard_bridge_items_published_total` / `..._broker_messages_published_total` and the received pair. */
  itemsPublished: number | null;
  brokerMessagesPublished: number | null;
  itemsReceived: number | null;
  brokerMessagesReceived: number | null;
}

const NAMES: Record<Exclude<keyof GatewayCounters, 'groupMessages'>, string> = {
  fanout: 'switchboard_group_fanout_messages_total',
  itemsPublished: 'switchboard_bridge_items_published_total',
  brokerMessagesPublished: 'switchboard_bridge_broker_messages_published_total',
  itemsReceived: 'switchboard_bridge_items_received_total',
  brokerMessagesReceived: 'switchboard_bridge_broker_messages_received_total',
};

/**
 * The counters in a Prometheus text exposition: a metric's samples summed over its label sets, except
 * `switchboard_messages_total`, of which only `kind="group"` counts. A metric without a sample line is
 * null, unless its `# TYPE` line is there (declared, never counted: 0).
 */
export function parseGatewayCounters(text: string): GatewayCounters {
  const sums = new Map<string, number>();
  let group: number | null = null;
  for (const line of text.split('\n')) {
    if (line === '' || line.charCodeAt(0) === 35 /* # */) continue;
    const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const v = Number(m[3]);
    if (!Number.isFinite(v)) continue;
    if (m[1] === 'switchboard_messages_total') {
      if (/(?:^\{|,)kind="group"/.test(m[2] ?? '')) group = (group ?? 0) + v;
    } else {
      sums.set(m[1]!, (sums.get(m[1]!) ?? 0) + v);
    }
  }
  const read = (name: string): number | null => sums.get(name) ?? (text.includes(`# TYPE ${name} `) ? 0 : null);
  if (group === null && text.includes('# TYPE switchboard_messages_total ')) group = 0;
  return {
    groupMessages: group,
    fanout: read(NAMES.fanout),
    itemsPublished: read(NAMES.itemsPublished),
    brokerMessagesPublished: read(NAMES.brokerMessagesPublished),
    itemsReceived: read(NAMES.itemsReceived),
    brokerMessagesReceived: read(NAMES.brokerMessagesReceived),
  };
}

/** Every gateway's counters now (GET `<admin>/metrics`), by node id; null for a gateway that did not answer. */
export async function readGatewayCounters(gateways: ReadonlyArray<{ node: string; admin: string | null }>): Promise<Record<string, GatewayCounters | null>> {
  const out: Record<string, GatewayCounters | null> = {};
  await Promise.all(
    gateways.map(async (g) => {
      out[g.node] = null;
      if (!g.admin) return;
      try {
        const res = await fetch(`${g.admin}/metrics`, { signal: AbortSignal.timeout(DEFAULT_HTTP_TIMEOUT_MS) });
        if (res.ok) out[g.node] = parseGatewayCounters(await res.text());
      } catch {
        // Unreachable or slow: this gateway's counters stay unknown and the sums say so (null).
      }
    }),
  );
  return out;
}

/** What the group messages of a run cost the broker, from the gateways' counters before and after it. */
export interface BrokerSummary {
  /** Σ over gateways of the group messages they accepted in between. */
  groupMessages: number | null;
  /** Σ over gateways of `switchboard_group_fanout_messages_total` in between. */
  fanoutMessages: number | null;
  /** fanoutMessages ÷ groupMessages: the broker messages per group message as the gateways count them. */
  fanoutPerGroupMessage: number | null;
  /** What it should be: the mean number of other gateways with online members at each send (the bench's count). */
  expectedPerGroupMessage: number;
  /** Σ over gateways of the bridge's counters in between (null without an AMQP bridge, e.g. standalone). */
  bridge: { itemsPublished: number; brokerMessagesPublished: number; itemsReceived: number; brokerMessagesReceived: number } | null;
  /** bridge broker messages published ÷ group messages (with everything else the bridge carried in between). */
  brokerMessagesPerGroupMessage: number | null;
  /** bridge items published ÷ broker messages published: how many items one broker message carried. */
  itemsPerBrokerMessage: number | null;
  /** Each gateway's differences. */
  perNode: Record<string, Partial<Record<keyof GatewayCounters, number | null>>>;
}

/** The difference of every counter per gateway, their sums over the gateways, and the ratios. */
export function brokerSummary(
  before: Record<string, GatewayCounters | null>,
  after: Record<string, GatewayCounters | null>,
  expectedPerGroupMessage: number,
): BrokerSummary {
  const perNode: BrokerSummary['perNode'] = {};
  const keys = ['groupMessages', 'fanout', ...Object.keys(NAMES).filter((k) => k !== 'fanout')] as Array<keyof GatewayCounters>;
  const sums: Partial<Record<keyof GatewayCounters, number | null>> = {};
  for (const node of Object.keys(after)) {
    const a = before[node] ?? null;
    const b = after[node] ?? null;
    const d: Partial<Record<keyof GatewayCounters, number | null>> = {};
    for (const k of keys) {
      const x = a?.[k];
      const y = b?.[k];
      d[k] = x != null && y != null ? y - x : null;
      // A sum is known when every gateway's difference is.
      sums[k] = k in sums ? (sums[k] != null && d[k] != null ? sums[k]! + d[k]! : null) : d[k];
    }
    perNode[node] = d;
  }
  const div = (x: number | null | undefined, y: number | null | undefined) => (x != null && y != null && y > 0 ? x / y : null);
  const groupMessages = sums.groupMessages ?? null;
  const bridge =
    sums.itemsPublished != null && sums.brokerMessagesPublished != null && sums.itemsReceived != null && sums.brokerMessagesReceived != null
      ? { itemsPublished: sums.itemsPublished, brokerMessagesPublished: sums.brokerMessagesPublished, itemsReceived: sums.itemsReceived, brokerMessagesReceived: sums.brokerMessagesReceived }
      : null;
  return {
    groupMessages,
    fanoutMessages: sums.fanout ?? null,
    fanoutPerGroupMessage: div(sums.fanout, groupMessages),
    expectedPerGroupMessage,
    bridge,
    brokerMessagesPerGroupMessage: div(bridge?.brokerMessagesPublished, groupMessages),
    itemsPerBrokerMessage: div(bridge?.itemsPublished, bridge?.brokerMessagesPublished),
    perNode,
  };
}
