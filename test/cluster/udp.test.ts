// UDP across gateways: real dispatch + gateway processes on Redis and RabbitMQ (TestCluster). A UDP
// user on one gateway exchanges QoS messages with WebSocket, TCP and UDP users on another, is kicked
// across nodes, and gets its offline queue on any node. See docs/protocol.md section 4.3.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, KickoutCode, PacketType, keepAlivePacket, parseErrorResponse } from '@switchboard/protocol';
import type { TestClient } from '@switchboard/testkit';
import { TestCluster, type GatewayProc } from './harness.js';
import { UdpTestClient } from './udp-client.js';

const udpPort = (g: GatewayProc): number => (g.ports as unknown as { udp: number }).udp;

describe('UDP across a cluster of dispatch + 2 gateways', () => {
  let cluster: TestCluster;
  const clients: Array<TestClient | UdpTestClient> = [];
  const track = <T extends TestClient | UdpTestClient>(c: T): T => {
    clients.push(c);
    return c;
  };
  const udpOn = async (g: GatewayProc, uid: string, opts: { autoAck?: boolean } = {}): Promise<UdpTestClient> => {
    const c = track(await UdpTestClient.open(udpPort(g), { ...opts, name: uid }));
    const r = await c.login(uid);
    if (r.code !== 0) throw new Error(`UDP login of ${uid} failed with ${r.code}`);
    return c;
  };

  beforeAll(async () => {
    cluster = await TestCluster.start('udp', { gateways: 2 });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => (c instanceof UdpTestClient ? c.close() : c.close().catch(() => {}))));
    await cluster?.stop();
  });

  it('ports - every gateway binds its own UDP port, prints it in its ready line, registers it, and dispatch hands it out', async () => {
    const ports = cluster.gateways.map(udpPort);
    expect(ports.every((p) => Number.isInteger(p) && p > 0)).toBe(true);
    expect(new Set(ports).size).toBe(2);
    const nodes = (await cluster.nodes()) as unknown as Array<{ id: string; ports: { udp: number } }>;
    for (const g of cluster.gateways) expect(nodes.find((n) => n.id === g.nodeId)?.ports.udp).toBe(udpPort(g));
    for (let i = 0; i < 10; i++) {
      const d = (await cluster.dispatchFor(`udp-dispatch-${i}`)) as unknown as { node: string; udp: { host: string; port: number } };
      const g = cluster.gateways.find((x) => x.nodeId === d.node)!;
      expect(d.udp).toEqual({ host: '127.0.0.1', port: udpPort(g) });
    }
  });

  for (const peerKind of ['ws', 'tcp'] as const) {
    it(`cross-node - UDP ↔ ${peerKind} QoS both ways: delivered once, each sender gets the receiver's real ack`, async () => {
      const [g1, g2] = cluster.gateways;
      const u = await udpOn(g1!, `udp-x-${peerKind}`, { autoAck: false });
      const p = track(await cluster.clientOn(g2!, `peer-x-${peerKind}`, peerKind, { autoAck: false }));

      // UDP → peer; the peer does not ack yet, so neither may the gateway.
      const fp1 = u.send(p.uid!, `udp to ${peerKind} ünï ✓`, { typeu: 3 })!;
      const m1 = await p.waitForMessage((x) => x.fp === fp1);
      expect(m1).toMatchObject({ from: u.uid, to: p.uid, dataContent: `udp to ${peerKind} ünï ✓`, typeu: 3, QoS: true });
      await new Promise((r) => setTimeout(r, 300));
      expect(u.acks).not.toContain(fp1);
      await p.ack(m1);
      await u.waitForAck(fp1);

      // peer → UDP, the same way round.
      const fp2 = await p.send(u.uid!, `${peerKind} to udp`);
      const m2 = await u.waitForMessage((x) => x.fp === fp2);
      await new Promise((r) => setTimeout(r, 300));
      expect(p.acks).not.toContain(fp2);
      u.ack(m2);
      await p.waitForAck(fp2);

      await new Promise((r) => setTimeout(r, 1_000));
      expect(u.acks.filter((f) => f === fp1)).toHaveLength(1);
      expect(p.acks.filter((f) => f === fp2)).toHaveLength(1);
      expect(u.messages.filter((x) => x.fp === fp2)).toHaveLength(1);
      expect(p.messages.filter((x) => x.fp === fp1)).toHaveLength(1);
    });
  }

  it('cross-node - UDP ↔ UDP QoS both ways, with keepalives answered on each gateway', async () => {
    const [g1, g2] = cluster.gateways;
    const a = await udpOn(g1!, 'udp-uu-a');
    const b = await udpOn(g2!, 'udp-uu-b');
    await a.keepAlive();
    await b.keepAlive();
    const fp1 = a.send(b.uid!, 'a to b')!;
    await b.waitForMessage((x) => x.fp === fp1);
    await a.waitForAck(fp1);
    const fp2 = b.send(a.uid!, 'b to a')!;
    await a.waitForMessage((x) => x.fp === fp2);
    await b.waitForAck(fp2);
    expect(a.duplicates + b.duplicates).toBe(0);
  });

  it('cross-node kick - a UDP session replaced by a login on the other gateway gets kickout 1 and is forgotten', async () => {
    const [g1, g2] = cluster.gateways;
    const old = await udpOn(g1!, 'udp-kicked');
    const fresh = track(await cluster.clientOn(g2!, 'udp-kicked', 'ws'));
    await old.waitForPacket(PacketType.KICKOUT, undefined, { timeoutMs: 10_000 });
    expect(old.kickouts).toEqual([{ code: KickoutCode.DUPLICATE_LOGIN, reason: null }]);
    // Forgotten on g1: the old address is not logged in any more.
    const since = old.packets.length;
    old.sendPacket(keepAlivePacket('udp-kicked'));
    const err = await old.waitForPacket(PacketType.ERROR, undefined, { since });
    expect(parseErrorResponse(err.dataContent).errorCode).toBe(ErrorCode.UNLOGIN);
    // Messages reach the new session.
    const s = await udpOn(g1!, 'udp-kick-sender');
    const fp = s.send('udp-kicked', 'for the new session')!;
    await fresh.waitForMessage((x) => x.fp === fp);
    await s.waitForAck(fp);
  });

  it('offline - a message stored while the user was away is delivered at its UDP login on another gateway', async () => {
    const [g1, g2] = cluster.gateways;
    const w = track(await cluster.clientOn(g1!, 'udp-off-sender', 'ws'));
    const fp = await w.send('udp-off-receiver', 'waiting for you');
    await w.waitForAck(fp); // stored offline
    const u = await udpOn(g2!, 'udp-off-receiver');
    const m = await u.waitForMessage((x) => x.fp === fp, 10_000);
    expect(m).toMatchObject({ from: 'udp-off-sender', dataContent: 'waiting for you' });
  });

  it('size - a message too long for a datagram never reaches a UDP user on another gateway', async () => {
    const [g1, g2] = cluster.gateways;
    const u = await udpOn(g1!, 'udp-size-receiver');
    const w = track(await cluster.clientOn(g2!, 'udp-size-sender', 'ws'));
    const fp = await w.send(u.uid!, 'x'.repeat(1_100));
    // The receiver's gateway refuses to write it; the sender's custody stores it offline (acked), to be
    // delivered at a login over a transport that carries it (docs/protocol.md section 4.3).
    await w.waitForAck(fp, { timeoutMs: 10_000 });
    expect(u.messages.find((x) => x.fp === fp)).toBeUndefined();
    expect(Math.max(0, ...u.datagrams.map((d) => d.bytes))).toBeLessThanOrEqual(1024);
    const small = await w.send(u.uid!, 'small');
    await u.waitForMessage((x) => x.fp === small);
  });
});
