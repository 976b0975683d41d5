import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import {
  ErrorCode,
  KickoutCode,
  PacketType,
  decodePacket,
  encodePacket,
  keepAliveResponsePacket,
  kickoutPacket,
  loginResponsePacket,
  parseLoginInfo,
} from '@switchboard/protocol';
import { IdleFleet } from '../../src/idle/idle-fleet.js';
import type { IdleWorkerJob } from '../../src/idle/idle-ipc.js';
import type { WsClient } from '../../src/conn/types.js';

/** A minimal MobileIMSDK WebSocket server: answers logins (refusing uids in `refuse`) and keepalives. */
async function fakeServer(refuse: Set<string> = new Set()) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  const byUid = new Map<string, WebSocket>();
  let keepAlives = 0;
  wss.on('connection', (ws) => {
    ws.on('message', (data) => {
      const p = decodePacket(String(data));
      if (p.type === PacketType.LOGIN) {
        const uid = parseLoginInfo(p.dataContent).loginUserId;
        const code = refuse.has(uid) ? ErrorCode.AUTH_FAILED : ErrorCode.OK;
        if (code === ErrorCode.OK) byUid.set(uid, ws);
        ws.send(encodePacket(loginResponsePacket(uid, { code, firstLoginTime: Date.now() })));
      } else if (p.type === PacketType.KEEPALIVE) {
        keepAlives++;
        ws.send(encodePacket(keepAliveResponsePacket(p.from)));
      }
    });
  });
  await new Promise((r) => wss.once('listening', r));
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/websocket`;
  return { wss, url, byUid, keepAlives: () => keepAlives };
}

let wsClient: WsClient = 'raw';

function job(url: string, extra: Partial<IdleWorkerJob> = {}): IdleWorkerJob {
  return {
    wsClient,
    from: 0,
    to: 20,
    uidPrefix: 'u',
    tcpShare: 0,
    gateways: [{ node: 'n1', ws: url, tcp: null }],
    loginConcurrency: 8,
    loginRatePerSec: null,
    loginDeadline: performance.timeOrigin + performance.now() + 10_000,
    attemptTimeoutMs: 2_000,
    senseMode: '3S',
    ...extra,
  };
}

describe.each(['raw', 'ws'] as const)('IdleFleet (%s WebSocket client)', (client) => {
  const cleanup: Array<() => void> = [];
  beforeEach(() => {
    wsClient = client;
  });
  afterEach(() => {
    for (const f of cleanup.splice(0)) f();
  });

  it('loginAll - every user online, logins counted per second, keepalives answered', async () => {
    const srv = await fakeServer();
    const fleet = new IdleFleet(job(srv.url));
    cleanup.push(() => fleet.close(), () => srv.wss.close());
    await fleet.loginAll();
    expect(fleet.loggedIn).toBe(20);
    expect(fleet.online).toBe(20);
    expect(fleet.openByGateway()).toEqual([20]);
    expect(fleet.takeLoginsPerSecond().reduce((a, [, n]) => a + n, 0)).toBe(20);
    expect(fleet.loginLatencySnapshot().n).toBe(20);
    expect(fleet.firstStartAt).not.toBeNull();
    expect(fleet.lastLoginAt!).toBeGreaterThanOrEqual(fleet.firstStartAt!);
    // 3S: the first beat one interval after login
    await new Promise((r) => setTimeout(r, 3_300));
    expect(fleet.keepAlivesSent).toBe(20);
    expect(srv.keepAlives()).toBe(20);
    expect(fleet.keepAliveAnswers).toBe(20);
    expect(fleet.disconnects).toEqual({});
  });

  it('drops - server close and kickout counted by reason, never reconnected', async () => {
    const srv = await fakeServer();
    const fleet = new IdleFleet(job(srv.url, { senseMode: '15S' }));
    cleanup.push(() => fleet.close(), () => srv.wss.close());
    await fleet.loginAll();
    srv.byUid.get('u3')!.terminate();
    srv.byUid.get('u4')!.send(encodePacket(kickoutPacket('u4', KickoutCode.DUPLICATE_LOGIN)));
    await new Promise((r) => setTimeout(r, 200));
    expect(fleet.disconnects).toEqual({ 'closed-by-server': 1, [`kicked-${KickoutCode.DUPLICATE_LOGIN}`]: 1 });
    expect(fleet.online).toBe(18);
    expect(fleet.openByGateway()).toEqual([18]);
    expect(fleet.loggedIn).toBe(20);
  });

  it('refused logins - retried until the deadline, counted by code, user gives up', async () => {
    const srv = await fakeServer(new Set(['u1']));
    const fleet = new IdleFleet(job(srv.url, { to: 3, senseMode: '15S', loginDeadline: performance.timeOrigin + performance.now() + 1_000 }));
    cleanup.push(() => fleet.close(), () => srv.wss.close());
    await fleet.loginAll();
    expect(fleet.loggedIn).toBe(2);
    expect(fleet.loginFailures[`login-code-${ErrorCode.AUTH_FAILED}`]).toBeGreaterThanOrEqual(2);
    expect(fleet.attempts).toBe(2 + fleet.loginFailures[`login-code-${ErrorCode.AUTH_FAILED}`]!);
  });

  it('connect refused - counted as connect-refused', async () => {
    const srv = await fakeServer();
    const url = srv.url;
    await new Promise((r) => srv.wss.close(r));
    const fleet = new IdleFleet(job(url, { to: 1, senseMode: '15S', loginDeadline: performance.timeOrigin + performance.now() + 300 }));
    cleanup.push(() => fleet.close());
    await fleet.loginAll();
    expect(fleet.loggedIn).toBe(0);
    expect(Object.keys(fleet.loginFailures)).toEqual(['connect-refused']);
  });
});
