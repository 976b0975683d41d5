// Operator settings of `switchboard standalone` as a real process, over real HTTP and UDP:
// - /metrics: dispatch's answers as the gateway admin port's do (IM_METRICS_TOKEN, else loopback or
//   IM_ADMIN_TOKEN), and /admin/sd (Prometheus discovery) takes the admin token only;
// - IM_UDP_MAX_SESSIONS reaches the gateway: with 1, a second UDP address gets nothing while one user is logged in.
// A request "from another host" is made to the host's own non-loopback address (the process binds it):
// its source address is that interface's, not loopback.
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PacketType, SERVER_UID, createPacket } from '@switchboard/protocol';
import { waitFor } from '@switchboard/core';
import { ProcessGroup, type ReadyNodeProcess } from '@switchboard/testkit';
import { UdpTestClient } from '../cluster/udp-client.js';

const PORTS_ANY = { IM_WS_PORT: '0', IM_TCP_PORT: '0', IM_UDP_PORT: '0', IM_ADMIN_PORT: '0', IM_DISPATCH_PORT: '0' };
const ADMIN = 'operator-admin-token-0123';
const METRICS = 'operator-metrics-token-0123';

interface Ports {
  ws: number;
  tcp: number;
  udp: number;
  admin: number;
  dispatch: number;
}

const group = new ProcessGroup();
afterAll(() => group.killAll());

async function standalone(env: Record<string, string | undefined>): Promise<{ proc: ReadyNodeProcess; ports: Ports }> {
  const proc = await group.spawn({
    args: ['standalone'],
    env: { ...PORTS_ANY, IM_AUTH: 'none', IM_LOG_LEVEL: 'warn', IM_NODE_ID: undefined, IM_ADMIN_TOKEN: undefined, IM_METRICS_TOKEN: undefined, IM_UDP_MAX_SESSIONS: undefined, ...env },
  });
  return { proc, ports: (proc.ready as unknown as { ports: Ports }).ports };
}

async function status(url: string, token?: string): Promise<number> {
  const res = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  await res.arrayBuffer();
  return res.status;
}

/** This host's first non-loopback IPv4 address, or null (then the "another host" test is skipped). */
function externalIpv4(): string | null {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return null;
}

describe('standalone on loopback, IM_ADMIN_TOKEN + IM_METRICS_TOKEN + IM_UDP_MAX_SESSIONS=1', () => {
  let ports: Ports;
  beforeAll(async () => {
    ({ ports } = await standalone({ IM_ADMIN_TOKEN: ADMIN, IM_METRICS_TOKEN: METRICS, IM_UDP_MAX_SESSIONS: '1' }));
  });

  it('/metrics - dispatch and gateway alike: the metrics token (or the admin token) from everyone, loopback included', async () => {
    for (const base of [`http://127.0.0.1:${ports.dispatch}`, `http://127.0.0.1:${ports.admin}`]) {
      expect(await status(`${base}/metrics`), base).toBe(401);
      expect(await status(`${base}/metrics`, 'wrong'), base).toBe(401);
      expect(await status(`${base}/metrics`, METRICS), base).toBe(200);
      expect(await status(`${base}/metrics`, ADMIN), base).toBe(200);
    }
  });

  it('/admin/sd (the discovery job) takes the admin token; the metrics token is not enough', async () => {
    const sd = `http://127.0.0.1:${ports.dispatch}/admin/sd`;
    expect(await status(sd)).toBe(401);
    expect(await status(sd, METRICS)).toBe(401);
    expect(await status(sd, ADMIN)).toBe(200);
  });

  it('IM_UDP_MAX_SESSIONS=1 - while one user is logged in over UDP, a new address is not answered and counted as udp_cap', async () => {
    const a = await UdpTestClient.open(ports.udp, { name: 'udp-cap-a' });
    const late = await UdpTestClient.open(ports.udp, { name: 'udp-cap-late' });
    try {
      expect((await a.login('udp-cap-a')).code).toBe(0);
      late.sendPacket(createPacket({ type: PacketType.ECHO, dataContent: 'anyone?', from: 'x', to: SERVER_UID }));
      // Wait for the gateway to have handled it (counted as udp_cap), not for a fixed time.
      const udpCap = async (): Promise<number> => {
        const res = await fetch(`http://127.0.0.1:${ports.admin}/metrics`, { headers: { authorization: `Bearer ${METRICS}` } });
        return Number(/^switchboard_protocol_errors_total\{reason="udp_cap"\} (\d+)$/m.exec(await res.text())?.[1] ?? 0);
      };
      await waitFor(async () => ((await udpCap()) >= 1 ? true : null), { timeoutMs: 15_000, intervalMs: 200, what: 'udp_cap counted' });
      expect(late.datagrams).toEqual([]);
      // The logged-in session is kept: it still gets answers.
      const since = a.packets.length;
      a.sendPacket(createPacket({ type: PacketType.ECHO, dataContent: 'still here', from: 'udp-cap-a', to: SERVER_UID }));
      await a.waitForPacket(PacketType.ECHO_RESPONSE, undefined, { since });
    } finally {
      a.close();
      late.close();
    }
  });
});

describe('standalone without IM_UDP_MAX_SESSIONS (default 50,000)', () => {
  it('a second UDP address is answered while a user is logged in', async () => {
    const { ports } = await standalone({});
    const a = await UdpTestClient.open(ports.udp, { name: 'udp-default-a' });
    const b = await UdpTestClient.open(ports.udp, { name: 'udp-default-b' });
    try {
      expect((await a.login('udp-default-a')).code).toBe(0);
      b.sendPacket(createPacket({ type: PacketType.ECHO, dataContent: 'hello', from: 'x', to: SERVER_UID }));
      await b.waitForPacket(PacketType.ECHO_RESPONSE);
    } finally {
      a.close();
      b.close();
    }
  });
});

const external = externalIpv4();

describe.skipIf(external === null)('standalone bound to a non-loopback address (requests from "another host")', () => {
  it('IM_ADMIN_TOKEN + IM_METRICS_TOKEN set - dispatch /metrics answers 401 without a token, as the gateway does', async () => {
    const { ports } = await standalone({ IM_BIND_HOST: external!, IM_ADMIN_TOKEN: ADMIN, IM_METRICS_TOKEN: METRICS });
    for (const base of [`http://${external}:${ports.dispatch}`, `http://${external}:${ports.admin}`]) {
      expect(await status(`${base}/metrics`), base).toBe(401);
      expect(await status(`${base}/metrics`, METRICS), base).toBe(200);
      expect(await status(`${base}/metrics`, ADMIN), base).toBe(200);
    }
    // Health stays open.
    expect(await status(`http://${external}:${ports.dispatch}/healthz`)).toBe(200);
  });

  it('IM_ADMIN_TOKEN only - from another host /metrics needs it, on dispatch as on the gateway', async () => {
    const { ports } = await standalone({ IM_BIND_HOST: external!, IM_ADMIN_TOKEN: ADMIN });
    for (const base of [`http://${external}:${ports.dispatch}`, `http://${external}:${ports.admin}`]) {
      expect(await status(`${base}/metrics`), base).toBe(401);
      expect(await status(`${base}/metrics`, ADMIN), base).toBe(200);
    }
  });
});
