// UdpListener and fitDatagram on their own: the datagram fitting rules, the session table (cap,
// eviction order, the cap warning), blocking and closing. The session layer here is a stub; the
// real one is exercised in udp.test.ts.
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { Logger } from '@switchboard/core';
import {
  CloseCode,
  ErrorCode,
  SERVER_UID,
  createPacket,
  decodePacket,
  encodePacket,
  errorPacket,
  keepAlivePacket,
  kickoutPacket,
  loginResponsePacket,
  parseErrorResponse,
  parseKickoutInfo,
  parseLoginResponse,
  PacketType,
} from '@switchboard/protocol';
import { fitDatagram, UdpListener, type UdpDropReason } from '../../src/transport/udp-transport.js';
import type { Transport } from '../../src/transport/transport.js';
import { quietWindow, until } from '../fixtures.js';
import { UdpTestClient } from './udp-client.js';

const bytes = (s: string) => Buffer.byteLength(s);

describe('fitDatagram', () => {
  it('fits - a packet within the limit is sent as it is', () => {
    const ka = encodePacket(keepAlivePacket('alice'));
    expect(fitDatagram(ka, bytes(ka))).toBe(ka);
  });

  it('compact - leaves out only keys whose missing value a MobileIMSDK client reads the same', () => {
    const full = encodePacket(loginResponsePacket('a', { code: 0, firstLoginTime: 1795310089341 }));
    const out = fitDatagram(full, bytes(full) - 1);
    expect(out).toBe('{"type":50,"dataContent":"{\\"code\\":0,\\"firstLoginTime\\":1795310089341}","from":"0","to":"a"}');
    expect(decodePacket(out!)).toEqual(decodePacket(full));
    expect(parseLoginResponse(decodePacket(out!).dataContent)).toEqual({ code: 0, firstLoginTime: 1795310089341 });
    // Values that differ from those defaults are kept.
    const p = createPacket({ type: PacketType.ECHO_RESPONSE, dataContent: 'x', from: 'a', to: SERVER_UID, bridge: true, QoS: true, fp: 'f', typeu: 3, sm: 9 });
    const wire = encodePacket(p);
    expect(fitDatagram(wire, bytes(wire))).toBe(wire);
    expect(fitDatagram(wire, bytes(wire) - 1)).toBeNull();
  });

  it('errors - the 301 echo is cut to fit, never the code; with no room at all nothing is sent', () => {
    const rejected = encodePacket(
      createPacket({ type: PacketType.DATA, dataContent: 'hello before login "quoted" ünï ✓ 😀😀😀', from: 'zed', to: '0', fp: 'f'.repeat(36), QoS: true }),
    );
    const wire = encodePacket(errorPacket(ErrorCode.UNLOGIN, rejected));
    for (const limit of [bytes(wire), 300, 200, 120, 90, 70, 68]) {
      const out = fitDatagram(wire, limit);
      expect(out, `limit ${limit}`).not.toBeNull();
      expect(bytes(out!)).toBeLessThanOrEqual(limit);
      const e = parseErrorResponse(decodePacket(out!).dataContent);
      expect(e.errorCode).toBe(ErrorCode.UNLOGIN);
      expect(rejected.startsWith(e.errorMsg ?? '')).toBe(true);
      expect(out!).not.toMatch(/\\\\ud83d(?!\\\\ude00)/); // no lone high surrogate
    }
    // The longest prefix that fits is kept: a 99-byte Java keepalive earns a 301 of 96–99 bytes.
    const ka = encodePacket(keepAlivePacket('jtcp2'));
    const e99 = fitDatagram(encodePacket(errorPacket(ErrorCode.UNLOGIN, ka)), 99)!;
    expect(bytes(e99)).toBeGreaterThanOrEqual(99 - 3); // one more character costs at most 4 bytes
    expect(bytes(e99)).toBeLessThanOrEqual(99);
    expect(ka.startsWith(parseErrorResponse(decodePacket(e99).dataContent).errorMsg!)).toBe(true);
    const bare = fitDatagram(wire, 68)!; // the smallest 301 there is
    expect(parseErrorResponse(decodePacket(bare).dataContent)).toEqual({ errorCode: 301, errorMsg: null });
    expect(fitDatagram(wire, bytes(bare) - 1)).toBeNull();
  });

  it('kickouts - the reason is cut to fit, the code kept', () => {
    const wire = encodePacket(kickoutPacket('bob', 2, 'r'.repeat(2000)));
    const out = fitDatagram(wire, 1024)!;
    expect(bytes(out)).toBeLessThanOrEqual(1024);
    const k = parseKickoutInfo(decodePacket(out).dataContent);
    expect(k.code).toBe(2);
    expect(k.reason!.length).toBeGreaterThan(800);
  });

  it('data - a message is never cut: too long means not sent', () => {
    const wire = encodePacket(createPacket({ type: PacketType.DATA, dataContent: 'x'.repeat(1100), from: 'a', to: 'b', fp: 'f', QoS: true }));
    expect(fitDatagram(wire, 1024)).toBeNull();
    expect(fitDatagram('not json at all', 5)).toBeNull();
  });
});

/** A pino logger writing parsed lines into `lines`. */
function memoryLogger(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines };
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/**
 * A listener with a stub session layer: `login…` (padded by the client so the answer fits) is
 * answered with a successful login response, `bad` closes as a protocol error, `bye` closes
 * normally, anything else is echoed back unchanged.
 */
async function stubListener(o: { maxSessions?: number; blockMs?: number } = {}) {
  const { log, lines } = memoryLogger();
  const sessions: Transport[] = [];
  const closed: Transport[] = [];
  const drops: UdpDropReason[] = [];
  const listener = await UdpListener.listen({
    host: '127.0.0.1',
    port: 0,
    maxSessions: o.maxSessions ?? 100,
    maxDatagramInBytes: 2048,
    maxDatagramOutBytes: 1024,
    blockMs: o.blockMs ?? 10_000,
    capWarnIntervalMs: 60_000,
    log,
    onDrop: (r) => drops.push(r),
    onSession: (t) => {
      sessions.push(t);
      t.onClose(() => closed.push(t));
      t.onPacket((text) => {
        if (text.startsWith('login')) t.send(encodePacket(loginResponsePacket('u', { code: 0, firstLoginTime: 1 })));
        else if (text === 'bad') t.close(CloseCode.PROTOCOL_ERROR, 'bad');
        else if (text === 'bye') t.close(CloseCode.BYE, 'Bye');
        else t.send(text);
      });
    },
  });
  cleanups.push(() => listener.close());
  const client = async () => {
    const c = await UdpTestClient.open(listener.port);
    cleanups.push(() => c.close());
    return c;
  };
  return { listener, lines, sessions, closed, drops, client };
}

const LOGIN = 'login' + ' '.repeat(200);

describe('UdpListener', () => {
  it('sessions - one per remote ip:port, each with its own remote; a closed one is forgotten and the next datagram starts a new one', async () => {
    const s = await stubListener();
    const a = await s.client();
    const b = await s.client();
    a.sendRaw('one');
    a.sendRaw('two');
    b.sendRaw('three');
    await until(() => a.datagrams.length === 2 && b.datagrams.length === 1, 'the echoes');
    expect(s.sessions.map((t) => t.remote)).toEqual([`127.0.0.1:${a.localPort}`, `127.0.0.1:${b.localPort}`]);
    expect(s.sessions.every((t) => t.kind === 'udp')).toBe(true);
    a.sendRaw('bye');
    await until(() => s.closed.length === 1, 'the close');
    expect(s.listener.size).toBe(1);
    expect(s.sessions[0]!.send('after close')).toBe(false);
    a.sendRaw('again');
    await until(() => s.sessions.length === 3, 'a new session for the same address');
  });

  it('amplification - before a successful login response the replies are budgeted by what the address sent; after it, only by 1024', async () => {
    const s = await stubListener();
    const c = await s.client();
    c.sendRaw('x');
    await until(() => c.datagrams.length === 1, 'the 1-byte echo');
    // The stub answers 'x' with 'x' and then (from outside) something bigger: refused.
    expect(s.sessions[0]!.send('xx')).toBe(true);
    await quietWindow(100);
    expect(c.datagrams.length).toBe(1);
    expect(s.drops).toEqual(['amplification']);
    c.sendRaw(LOGIN);
    await until(() => c.datagrams.length === 2, 'the login response');
    expect(s.sessions[0]!.send('y'.repeat(1024))).toBe(true);
    expect(s.sessions[0]!.send('z'.repeat(1025))).toBe(true);
    await until(() => c.datagrams.length === 3, 'the 1024-byte datagram');
    await quietWindow(100);
    expect(c.datagrams.map((d) => d.bytes)).toEqual([1, bytes(encodePacket(loginResponsePacket('u', { code: 0, firstLoginTime: 1 }))), 1024]);
    expect(s.drops).toEqual(['amplification', 'too_large']);
  });

  it('cap - a new address evicts the oldest session that has not logged in; with none left it is dropped; one warning line', async () => {
    const s = await stubListener({ maxSessions: 3 });
    const logged = await s.client();
    logged.sendRaw(LOGIN);
    await until(() => logged.datagrams.length === 1, 'login');
    const u1 = await s.client();
    const u2 = await s.client();
    u1.sendRaw('u1');
    await until(() => u1.datagrams.length === 1, 'u1');
    u2.sendRaw('u2');
    await until(() => u2.datagrams.length === 1, 'u2');
    // Full: u3 evicts u1 (the oldest not logged in), u4 evicts u2.
    const u3 = await s.client();
    u3.sendRaw('u3');
    await until(() => u3.datagrams.length === 1, 'u3');
    expect(s.closed.map((t) => t.remote)).toEqual([`127.0.0.1:${u1.localPort}`]);
    const u4 = await s.client();
    u4.sendRaw(LOGIN);
    await until(() => u4.datagrams.length === 1, 'u4 login');
    u3.sendRaw(LOGIN);
    await until(() => u3.datagrams.length === 2, 'u3 login');
    expect(s.closed.map((t) => t.remote)).toEqual([`127.0.0.1:${u1.localPort}`, `127.0.0.1:${u2.localPort}`]);
    // Every slot is logged in now: new addresses are dropped.
    const u5 = await s.client();
    u5.sendRaw('u5');
    await quietWindow(150);
    expect(u5.datagrams).toEqual([]);
    expect(s.drops).toContain('cap');
    expect(s.listener.size).toBe(3);
    const warnings = s.lines.filter((l) => l['level'] === 40 && String(l['msg']).startsWith('UDP session cap reached'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ maxSessions: 3, evicted: 1, dropped: 0 });
    // Logged-in sessions were never touched.
    logged.sendRaw('still here');
    await until(() => logged.datagrams.length === 2, 'the logged-in echo');
  });

  it('blocking - an address closed as a protocol error is ignored for blockMs, a normal close is not', async () => {
    const s = await stubListener({ blockMs: 300 });
    const c = await s.client();
    c.sendRaw('bad');
    await until(() => s.closed.length === 1, 'the close');
    c.sendRaw('ignored');
    await quietWindow(100);
    expect(c.datagrams).toEqual([]);
    expect(s.drops).toEqual(['blocked']);
    await quietWindow(250);
    c.sendRaw('welcome back');
    await until(() => c.datagrams.length === 1, 'the echo after the block');
    c.sendRaw('bye');
    await until(() => s.closed.length === 2, 'the normal close');
    c.sendRaw('no block');
    await until(() => c.datagrams.length === 2, 'an echo right after a normal close');
  });

  it('oversize - over 2048 bytes: dropped; from a session, it is closed and blocked; stopAccepting and close', async () => {
    const s = await stubListener();
    const c = await s.client();
    c.sendRaw('x'.repeat(2049));
    await quietWindow(100);
    expect(s.sessions).toEqual([]);
    c.sendRaw('x'.repeat(2048));
    await until(() => s.sessions.length === 1, 'a session for 2048 bytes');
    c.sendRaw('x'.repeat(2049));
    await until(() => s.closed.length === 1, 'the oversize close');
    // (the stub's 2048-byte echo was over 1024: not sent)
    expect(s.drops).toEqual(['oversize', 'too_large', 'oversize']);

    const d = await s.client();
    d.sendRaw('hello');
    await until(() => d.datagrams.length === 1, 'd');
    s.listener.stopAccepting();
    const e = await s.client();
    e.sendRaw('too late');
    d.sendRaw('existing sessions still work');
    await until(() => d.datagrams.length === 2, 'd again');
    expect(e.datagrams).toEqual([]);
    await s.listener.close();
    expect(s.closed.length).toBe(2);
    expect(s.listener.size).toBe(0);
    await s.listener.close();
  });
});
