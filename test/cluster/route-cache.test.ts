import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestClient } from '@switchboard/testkit';
import { TestCluster, type GatewayProc } from './harness.js';

/** A gateway's metric from its /metrics (sum over label sets matching `label`, e.g. `result="hit"`). */
async function metric(gw: GatewayProc, name: string, label?: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${gw.ports.admin}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{')) continue;
    if (label !== undefined && !line.includes(label)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

// The relay's route cache on real gateways, Redis and RabbitMQ (docs/operations.md, "Route cache").
// Presence broadcasts come once a minute and custody resends after 5 s here, so a message that arrives
// well within that after its receiver moved was redirected by the `miss` answer, not by a broadcast or
// a resend. A route to a gateway that died gets no `miss`: the resend (which asks Redis) redirects it.
describe('route cache across 3 gateway processes', () => {
  let cluster: TestCluster;
  const clients: TestClient[] = [];
  const track = <T extends TestClient>(c: T): T => {
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    cluster = await TestCluster.start('routecache', {
      gateways: 3,
      env: { IM_PRESENCE_INTERVAL_MS: '60000', IM_CUSTODY_RESEND_MS: '5000', IM_CUSTODY_GIVE_UP_MS: '10000', IM_SENSE_MODE: '15S' },
    });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await cluster?.stop();
  });

  it('a stream to a user on another gateway uses one lookup; after the user moves, the stale route gets a miss and the next message arrives at once', async () => {
    const [g1, g2, g3] = cluster.gateways;
    const a = track(await cluster.clientOn(g1!, 'rc-alice', 'ws'));
    const b = track(await cluster.clientOn(g2!, 'rc-bob', 'tcp'));
    const hits0 = await metric(g1!, 'switchboard_route_cache_total', 'result="hit"');
    for (let i = 0; i < 5; i++) {
      const fp = await a.send('rc-bob', `cached ${i}`);
      await a.waitForAck(fp);
      expect(b.messages.some((p) => p.fp === fp)).toBe(true);
    }
    expect((await metric(g1!, 'switchboard_route_cache_total', 'result="hit"')) - hits0).toBeGreaterThanOrEqual(4);
    // Bob moves to gateway 3: gateway 1 still has his old route, and no broadcast will come for a minute.
    await b.close();
    const b3 = track(await cluster.clientOn(g3!, 'rc-bob', 'ws'));
    const t0 = Date.now();
    const fp = await a.send('rc-bob', 'after the move');
    await a.waitForAck(fp, { timeoutMs: 10_000 });
    expect(Date.now() - t0).toBeLessThan(4_000);
    expect(b3.messages.filter((p) => p.fp === fp)).toHaveLength(1);
    expect(await metric(g1!, 'switchboard_route_misses_total')).toBe(1);
  });

  it('a cached route to a gateway that was SIGKILLed: the message is acked and reaches, once, the user who logged in elsewhere', async () => {
    const [g1, g2, g3] = cluster.gateways;
    const a = track(await cluster.clientOn(g1!, 'rc-carol', 'ws'));
    const d = track(await cluster.clientOn(g2!, 'rc-dave', 'ws'));
    const fp1 = await a.send('rc-dave', 'cached');
    await a.waitForAck(fp1);
    expect(d.messages.some((p) => p.fp === fp1)).toBe(true);
    g2!.proc.kill('SIGKILL');
    const d3 = track(await cluster.clientOn(g3!, 'rc-dave', 'tcp'));
    const fp2 = await a.send('rc-dave', 'after the crash');
    // Sent while gateway 1 may still hold the dead route: no `miss` comes from a dead gateway, so the
    // resend (5 s, from Redis) or the offline queue's nudge brings it.
    await a.waitForAck(fp2, { timeoutMs: 20_000 });
    await d3.waitForMessage((p) => p.fp === fp2, { timeoutMs: 20_000 });
    expect(d3.messages.filter((p) => p.fp === fp2)).toHaveLength(1);
  });
});
