import { describe, expect, it } from 'vitest';
import { createGatewayMetrics, registerBridgeMetrics } from '../../src/metrics.js';

describe('gateway metrics', () => {
  it('per-packet counters counted outside prom-client show up per label at scrape time, every scrape', async () => {
    const m = createGatewayMetrics({ defaultMetrics: false });
    m.packetsIn.inc(2);
    m.packetsIn.inc(2);
    m.packetsIn.inc(4, 3);
    m.messages.inc('c2c_local');
    let text = await m.registry.metrics();
    expect(text).toMatch(/^switchboard_packets_in_total\{type="2"\} 2$/m);
    expect(text).toMatch(/^switchboard_packets_in_total\{type="4"\} 3$/m);
    expect(text).toMatch(/^switchboard_messages_total\{kind="c2c_local"\} 1$/m);
    m.packetsIn.inc(2);
    text = await m.registry.metrics();
    expect(text).toMatch(/^switchboard_packets_in_total\{type="2"\} 3$/m);
    expect(m.packetsIn.get(2)).toBe(3);
    expect(m.packetsOut.get(2)).toBe(0);
  });

  it('bridge counters are read from the bridge at scrape time', async () => {
    const m = createGatewayMetrics({ defaultMetrics: false });
    const stats = { itemsPublished: 0, amqpMessagesPublished: 0, itemsReceived: 0, amqpMessagesReceived: 0 };
    registerBridgeMetrics(m.registry, () => stats);
    stats.itemsPublished = 640;
    stats.amqpMessagesPublished = 10;
    const text = await m.registry.metrics();
    expect(text).toMatch(/^switchboard_bridge_items_published_total 640$/m);
    expect(text).toMatch(/^switchboard_bridge_broker_messages_published_total 10$/m);
    expect(text).toMatch(/^switchboard_bridge_items_received_total 0$/m);
  });
});
