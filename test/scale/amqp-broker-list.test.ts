import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@switchboard/core';
import type { NodeId } from '@switchboard/core';
import { AmqpBridge } from '@switchboard/cluster/amqp';
import type { BridgeMessage } from '@switchboard/cluster';
import { TcpProxy, resolveAmqpUrl, uniquePrefix } from '@switchboard/testkit';

/**
 * The broker list without a second RabbitMQ: two proxies toward the machine's broker stand for two
 * brokers. A bridge on `proxyA,proxyB` loses proxyA: it walks on to proxyB, declares its node queue
 * there again and receives; one that boots while the first entry is down starts on the second.
 */
describe('IM_AMQP_URL list - reconnect walks the list (proxies as brokers)', () => {
  let base: string;
  let a: TcpProxy;
  let b: TcpProxy;
  const bridges: AmqpBridge[] = [];
  const prefix = uniquePrefix('brokerlist');

  beforeAll(async () => {
    base = await resolveAmqpUrl();
    [a, b] = await Promise.all([TcpProxy.toward(base, 5672), TcpProxy.toward(base, 5672)]);
  });
  afterAll(async () => {
    await Promise.all(bridges.map((x) => x.close().catch(() => {})));
    await Promise.all([a?.close(), b?.close()]);
  });

  const bridge = (url: string, id: string): AmqpBridge => {
    const x = new AmqpBridge({ url, prefix, nodeId: id as NodeId, reconnectBaseMs: 50, reconnectMaxMs: 200, connectTimeoutMs: 2_000 });
    bridges.push(x);
    return x;
  };
  const deliver = (origin: string, to: string): BridgeMessage => ({ type: 'deliver', origin: origin as NodeId, from: 'u1' as never, to: to as never, fp: null, packet: '{}' });

  it('the first broker lost: the node queue is declared again on the next one, and messages reach it', async () => {
    const got: BridgeMessage[] = [];
    const listed = bridge(`${a.url(base)},${b.url(base)}`, 'gw-list');
    await listed.start((m) => got.push(m));
    expect(a.connections).toBeGreaterThan(0);
    expect(b.connections).toBe(0);
    const sender = bridge(base, 'gw-direct');
    await sender.start(() => {});
    await sender.send('gw-list' as NodeId, deliver('gw-direct', 'u2'));
    await waitFor(() => got.length === 1, { what: 'delivery through the first broker' });

    await a.stop();
    await waitFor(() => listed.state === 'up' && b.connections > 0, { timeoutMs: 10_000, what: 'the bridge up again on the second broker' });
    // Its queue exists again (declared on reconnect): a send is routed, not returned.
    await waitFor(
      async () => {
        try {
          await sender.send('gw-list' as NodeId, deliver('gw-direct', 'u3'));
          return true;
        } catch {
          return false;
        }
      },
      { timeoutMs: 5_000, what: 'a send to the re-declared queue' },
    );
    await waitFor(() => got.some((m) => m.type === 'deliver' && m.to === 'u3'), { what: 'delivery through the second broker' });
    await a.start();
  });

  it('boot with the first broker down: start() walks on to the second', async () => {
    await a.stop();
    const late = bridge(`${a.url(base)},${b.url(base)}`, 'gw-late');
    await late.start(() => {});
    expect(late.state).toBe('up');
    await a.start();
  });
});
