// The login deadline and the connection caps (docs/errors.md 4003–4005): a connection that never
// logs in is closed even while it sends echoes; a gateway holds at most maxConnections; one address
// holds at most maxUnauthPerIp connections that have not logged in (logged-in ones do not count).
import { afterEach, describe, expect, it } from 'vitest';
import { CloseCode, PacketType, createPacket, encodePacket, SERVER_UID } from '@switchboard/protocol';
import { cleanup, onCleanup, quietWindow, RawTcpClient, RawWsClient, startGateway, uid, until } from '../fixtures.js';
import { UdpTestClient } from './udp-client.js';

afterEach(cleanup);

const echo = encodePacket(createPacket({ type: PacketType.ECHO, dataContent: 'still here', from: 'nobody', to: SERVER_UID }));

describe('login deadline', () => {
  it('a connection that only sends echoes is closed with 4003 once the deadline passed; one that logs in in time stays', async () => {
    const f = await startGateway({ loginTimeoutMs: 1_200 });
    const idler = await RawWsClient.open(f.wsPort, '/websocket');
    const tcpIdler = await RawTcpClient.open(f.tcpPort);
    const timer = setInterval(() => {
      idler.sendText(echo);
      tcpIdler.sendText(echo);
    }, 200);
    onCleanup(() => clearInterval(timer));
    const t0 = Date.now();
    const late = await f.connect('ws');
    await quietWindow(600);
    expect((await late.login(uid('in-time'))).code).toBe(0);
    await idler.waitForEnd(5_000);
    expect(idler.closeCode).toBe(CloseCode.LOGIN_TIMEOUT);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_100);
    await until(() => tcpIdler.ended, 'the TCP connection to be closed');
    expect(idler.texts.length).toBeGreaterThan(2); // the echoes were answered, and did not extend the deadline
    await quietWindow(1_500);
    expect(late.closed).toBe(false);
    expect(await f.metric('switchboard_login_timeouts_total')).toBe(2);
  });
});

describe('connection caps', () => {
  it('maxConnections - the connection over the cap is closed at once with 4004, logged-in or not; a freed slot is taken again', async () => {
    const f = await startGateway({ maxConnections: 3 });
    const a = await f.login(uid('a'), 'ws');
    await f.login(uid('b'), 'tcp');
    await f.connect('ws');
    const over = await RawWsClient.open(f.wsPort, '/websocket');
    await over.waitForEnd();
    expect(over.closeCode).toBe(CloseCode.TOO_MANY_CONNECTIONS);
    const overTcp = await RawTcpClient.open(f.tcpPort);
    await until(() => overTcp.ended, 'the TCP connection over the cap to be closed');
    expect(await f.metric('switchboard_connections_refused_total', { reason: 'max_connections' })).toBe(2);
    await a.close();
    await until(async () => (await f.metric('switchboard_connections')) === 2, 'the slot to be freed');
    const again = await f.login(uid('c'), 'ws');
    expect(again.closed).toBe(false);
  });

  it('maxUnauthPerIp - a fourth connection not logged in from one address gets 4005; logging in frees its place; logged-in users do not count', async () => {
    const f = await startGateway({ maxUnauthPerIp: 3, udpPort: 0 });
    const waiting = [await f.connect('ws'), await f.connect('tcp'), await f.connect('ws')];
    const fourth = await RawWsClient.open(f.wsPort, '/websocket');
    await fourth.waitForEnd();
    expect(fourth.closeCode).toBe(CloseCode.TOO_MANY_UNAUTHENTICATED);
    expect(f.gw.listConnections(0, 100).total).toBe(3);
    // One of them logs in: its place is free.
    expect((await waiting[0]!.login(uid('now-in'))).code).toBe(0);
    const next = await RawWsClient.open(f.wsPort, '/websocket');
    await quietWindow(200);
    expect(next.ended).toBe(false);
    // Many users behind one address are fine as long as they log in: 10 logged in, cap 3.
    next.destroy();
    await waiting[1]!.close();
    await waiting[2]!.close();
    await until(() => f.gw.listConnections(0, 100).connections.filter((c) => c.userId === null).length === 0, 'the waiting ones to be gone');
    for (let i = 0; i < 10; i++) await f.login(uid(`nat-${i}`), i % 2 ? 'tcp' : 'ws');
    expect(f.gw.listConnections(0, 100).total).toBe(11);
    // UDP pseudo-sessions are not counted (their source address can be forged).
    for (let i = 0; i < 4; i++) {
      const u = await UdpTestClient.open(f.gw.boundPorts.udp, {});
      onCleanup(() => u.close());
      u.sendRaw(echo);
      await until(() => u.datagrams.length === 1, 'the UDP echo');
    }
    for (let i = 0; i < 3; i++) await f.connect(i % 2 ? 'tcp' : 'ws');
    const refused = await RawWsClient.open(f.wsPort, '/websocket');
    await refused.waitForEnd();
    expect(refused.closeCode).toBe(CloseCode.TOO_MANY_UNAUTHENTICATED);
    expect(await f.metric('switchboard_connections_refused_total', { reason: 'max_unauth_per_ip' })).toBe(2);
  });
});
