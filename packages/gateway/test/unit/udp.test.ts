// The UDP transport inside a real Gateway (in process, memory backends): the same session logic
// as WebSocket and TCP, the UDP limits (2048 in, 1024 out), the UDP idle timeout, and UDP's own
// hazards (malformed and oversize datagrams, amplification, session floods).
import { afterEach, describe, expect, it } from 'vitest';
import {
  ErrorCode,
  KickoutCode,
  PacketType,
  SERVER_UID,
  createPacket,
  dataPacket,
  encodePacket,
  keepAlivePacket,
  parseErrorResponse,
  type Packet,
} from '@switchboard/protocol';
import { waitFor } from '@switchboard/core';
import { cleanup, onCleanup, prng, quietWindow, startGateway, uid, until, type GatewayFixture, type GatewayFixtureOptions } from '../fixtures.js';
import { UdpTestClient } from './udp-client.js';

afterEach(cleanup);

async function gateway(opts: GatewayFixtureOptions = {}): Promise<GatewayFixture & { udpPort: number }> {
  const f = await startGateway({ udpPort: 0, ...opts });
  return Object.assign(f, { udpPort: f.gw.boundPorts.udp });
}

async function udpClient(f: { udpPort: number }, opts: { autoAck?: boolean; name?: string } = {}): Promise<UdpTestClient> {
  const c = await UdpTestClient.open(f.udpPort, opts);
  onCleanup(() => c.close());
  return c;
}

async function udpLogin(f: { udpPort: number }, id: string, opts: { autoAck?: boolean } = {}): Promise<UdpTestClient> {
  const c = await udpClient(f, { ...opts, name: id });
  const r = await c.login(id);
  expect(r.code).toBe(0);
  return c;
}

/** A data packet whose wire form (as the gateway relays it) is exactly `bytes` long. */
function packetOfSize(from: string, to: string, fp: string, bytes: number): Packet {
  const base = dataPacket({ from, to, dataContent: '', fp, QoS: true, typeu: -1 });
  const pad = bytes - Buffer.byteLength(encodePacket(base));
  if (pad < 0) throw new Error(`a packet of ${bytes} bytes is too short`);
  return { ...base, dataContent: 'x'.repeat(pad) };
}

const udpConnections = (f: GatewayFixture) => f.metric('switchboard_connections', { transport: 'udp' });

describe('Gateway over UDP', () => {
  it('session - login, keepalive, echo and logout; the bound port is reported; a forgotten address is not logged in', async () => {
    const f = await gateway();
    expect(f.udpPort).toBeGreaterThan(0);
    expect(f.gw.boundPorts.udp).toBe(f.udpPort);
    const id = uid('udp-alice');
    const c = await udpLogin(f, id);
    expect(c.firstLoginTime).toBeGreaterThan(0);
    expect(f.gw.hasUser(id)).toBe(true);
    expect(await udpConnections(f)).toBe(1);
    expect(f.gw.listConnections(0, 10).connections[0]).toMatchObject({ transport: 'udp', userId: id, state: 'online' });

    const ka = await c.keepAlive();
    expect(ka).toMatchObject({ type: PacketType.KEEPALIVE_RESPONSE, from: SERVER_UID, to: id });
    const echo = createPacket({ type: PacketType.ECHO, dataContent: 'ping-echo', from: id, to: SERVER_UID });
    const since = c.packets.length;
    c.sendPacket(echo);
    expect(await c.waitForPacket(PacketType.ECHO_RESPONSE, undefined, { since })).toEqual({ ...echo, type: PacketType.ECHO_RESPONSE });

    // Logout: forgotten at once, nothing sent back.
    const before = c.datagrams.length;
    c.logout();
    await until(() => !f.gw.hasUser(id), 'the UDP user to log out');
    await until(async () => (await udpConnections(f)) === 0, 'the pseudo-session to be forgotten');
    expect(c.datagrams.length).toBe(before);
    // The same address is a new, unauthenticated session now: 301 as MobileIMSDK answers.
    const since2 = c.packets.length;
    c.sendPacket(keepAlivePacket(id));
    const err = await c.waitForPacket(PacketType.ERROR, undefined, { since: since2 });
    expect(parseErrorResponse(err.dataContent).errorCode).toBe(ErrorCode.UNLOGIN);
  });

  it('QoS - UDP ↔ WS and UDP ↔ TCP on one gateway: each message delivered once, acked end to end', async () => {
    const f = await gateway();
    const u = await udpLogin(f, uid('udp-u'));
    const w = await f.login(uid('ws-w'), 'ws');
    const t = await f.login(uid('tcp-t'), 'tcp');
    const text = (n: string) => `hello ${n} <b>&="x'y" ünïcødé ✓`;

    for (const peer of [w, t]) {
      // UDP → peer
      const fp1 = u.send(peer.uid!, text(`udp→${peer.transport}`), { typeu: 7 })!;
      const got = await peer.waitForMessage((p) => p.fp === fp1);
      expect(got).toMatchObject({ type: 2, from: u.uid, to: peer.uid, dataContent: text(`udp→${peer.transport}`), QoS: true, typeu: 7 });
      await u.waitForAck(fp1);
      expect(u.packets.find((p) => p.type === PacketType.ACK && p.dataContent === fp1)).toMatchObject({ from: peer.uid, to: u.uid, QoS: false });

      // peer → UDP
      const fp2 = await peer.send(u.uid!, text(`${peer.transport}→udp`), { typeu: 9 });
      const m = await u.waitForMessage((p) => p.fp === fp2);
      expect(m).toMatchObject({ from: peer.uid, to: u.uid, dataContent: text(`${peer.transport}→udp`), typeu: 9 });
      await peer.waitForAck(fp2);
    }
    await quietWindow(1_200); // past the custody resend (500 ms in the fixture): nothing doubled
    expect(u.duplicates).toBe(0);
    expect(u.acks.length).toBe(2);
    expect(w.acks.length + t.acks.length).toBe(2);
    expect(w.messages.length + t.messages.length).toBe(2);
  });

  it('QoS - the sender is acked only when the UDP receiver acks; an unacked message is resent, then stored offline', async () => {
    const f = await gateway();
    const silent = await udpLogin(f, uid('udp-silent'), { autoAck: false });
    const w = await f.login(uid('ws-sender'), 'ws');
    const fp = await w.send(silent.uid!, 'ack me if you can');
    const first = await silent.waitForMessage((p) => p.fp === fp);
    await quietWindow(200);
    expect(w.acks).not.toContain(fp);
    silent.ack(first);
    await w.waitForAck(fp);

    // Never acked: resent once (custody resend), then stored and the sender acked.
    const fp2 = await w.send(silent.uid!, 'nobody acks this');
    await w.waitForAck(fp2, { timeoutMs: 3_000 });
    expect(silent.packets.filter((p) => p.type === 2 && p.fp === fp2).length).toBe(2);
    expect(await f.offlineCount(silent.uid!)).toBe(1);
  });

  it('limits - datagrams to UDP users stay ≤ 1024 bytes: a longer message is error 1031 for its sender, from WS, TCP or UDP', async () => {
    const f = await gateway();
    const u = await udpLogin(f, uid('udp-small'));
    const w = await f.login(uid('ws-big'), 'ws');
    const t = await f.login(uid('tcp-big'), 'tcp');
    const u2 = await udpLogin(f, uid('udp-big'));

    // Exactly 1024 bytes: delivered, in one datagram of 1024 bytes.
    const ok = packetOfSize(w.uid!, u.uid!, 'fp-1024', 1024);
    await w.sendRaw(ok);
    await u.waitForMessage((p) => p.fp === 'fp-1024');
    expect(u.datagrams.find((d) => d.text.includes('fp-1024'))?.bytes).toBe(1024);
    await w.waitForAck('fp-1024');

    // 1025 bytes from each kind of sender: error 1031 naming the fp, no delivery, no ack.
    await w.sendRaw(packetOfSize(w.uid!, u.uid!, 'fp-ws-1025', 1025));
    await t.sendRaw(packetOfSize(t.uid!, u.uid!, 'fp-tcp-1025', 1025));
    u2.sendPacket(packetOfSize(u2.uid!, u.uid!, 'fp-udp-1025', 1025));
    await w.waitForPacket(PacketType.ERROR);
    await t.waitForPacket(PacketType.ERROR);
    await u2.waitForPacket(PacketType.ERROR);
    expect(w.errors).toEqual([{ errorCode: ErrorCode.MESSAGE_TOO_LARGE, errorMsg: 'fp-ws-1025' }]);
    expect(t.errors).toEqual([{ errorCode: ErrorCode.MESSAGE_TOO_LARGE, errorMsg: 'fp-tcp-1025' }]);
    expect(u2.errors).toEqual([{ errorCode: ErrorCode.MESSAGE_TOO_LARGE, errorMsg: 'fp-udp-1025' }]);
    await quietWindow(1_200);
    expect(u.messages.map((p) => p.fp)).toEqual(['fp-1024']);
    expect(w.acks).toEqual(['fp-1024']);
    expect(t.acks).toEqual([]);
    expect(u2.acks).toEqual([]);
    expect(Math.max(...u.datagrams.map((d) => d.bytes))).toBeLessThanOrEqual(1024);

    // Non-QoS too: refused with 1031 rather than sent as a datagram the client cannot read.
    const big = { ...packetOfSize(w.uid!, u.uid!, 'x', 1100), fp: null, QoS: false };
    await w.sendRaw(big);
    await until(() => w.errors.length === 2, 'a second error for the non-QoS message');
    expect(w.errors[1]?.errorCode).toBe(ErrorCode.MESSAGE_TOO_LARGE);
  });

  it('limits - an offline message too long for UDP waits in the queue while the shorter ones are delivered at a UDP login', async () => {
    const f = await gateway();
    const rid = uid('udp-offline');
    const w = await f.login(uid('ws-offline'), 'ws');
    await w.sendRaw(packetOfSize(w.uid!, rid, 'fp-big', 1500));
    await w.waitForAck('fp-big'); // stored offline: that is what the ack means for an offline receiver
    const fpSmall = await w.send(rid, 'small one');
    await w.waitForAck(fpSmall);
    expect(await f.offlineCount(rid)).toBe(2);

    const u = await udpLogin(f, rid);
    await u.waitForMessage((p) => p.fp === fpSmall);
    await until(async () => (await f.offlineCount(rid)) === 1, 'the small message to leave the queue');
    await quietWindow(300);
    expect(u.messages.map((p) => p.fp)).toEqual([fpSmall]);
    // It is there for a WebSocket login of the same user.
    u.logout();
    await until(() => !f.gw.hasUser(rid), 'the UDP user to log out');
    const ws = await f.login(rid, 'ws');
    await ws.waitForMessage((p) => p.fp === 'fp-big');
  });

  it('limits - a 2048-byte datagram is read; a larger one is dropped and forgets the session that sent it', async () => {
    const f = await gateway({ udpBlockMs: 600 });
    const u = await udpLogin(f, uid('udp-big-in'));
    const w = await f.login(uid('ws-big-in'), 'ws');
    u.sendPacket(packetOfSize(u.uid!, w.uid!, 'fp-2048', 2048));
    await w.waitForMessage((p) => p.fp === 'fp-2048');
    await u.waitForAck('fp-2048');

    const received = u.datagrams.length;
    u.sendPacket(packetOfSize(u.uid!, w.uid!, 'fp-2049', 2049));
    await until(() => !f.gw.hasUser(u.uid!), 'the UDP user to be forgotten after an oversize datagram');
    expect(await f.metric('switchboard_protocol_errors_total', { reason: 'udp_oversize' })).toBe(1);
    // Dropped, never relayed, nothing sent back; then the address is ignored for the block time.
    u.sendPacket(keepAlivePacket(u.uid!));
    await quietWindow(300);
    expect(u.datagrams.length).toBe(received);
    expect(w.messages.map((p) => p.fp)).toEqual(['fp-2048']);
    await quietWindow(400);
    const since = u.packets.length;
    u.sendPacket(keepAlivePacket(u.uid!));
    const err = await u.waitForPacket(PacketType.ERROR, undefined, { since });
    expect(parseErrorResponse(err.dataContent).errorCode).toBe(ErrorCode.UNLOGIN);

    // From a new address: dropped without creating a session; the biggest UDP payload does not hurt.
    const stranger = await udpClient(f);
    stranger.sendRaw(Buffer.alloc(2049, 0x7b));
    stranger.sendRaw(Buffer.alloc(65_507, 0x20));
    await until(async () => (await f.metric('switchboard_protocol_errors_total', { reason: 'udp_oversize' })) === 3, 'both oversize datagrams to be counted');
    expect(stranger.datagrams).toEqual([]);
    await until(async () => (await udpConnections(f)) === 0, 'no UDP session left (the 301 closed the last one)');
  });

  it('malformed datagrams - never crash the gateway, never earn a reply longer than themselves, never disturb others', async () => {
    const f = await gateway({ udpBlockMs: 0 });
    const a = await udpLogin(f, uid('udp-bystander'));
    const w = await f.login(uid('ws-bystander'), 'ws');
    const rnd = prng(0x5eed_0d9);
    const inputs: Array<Buffer | string> = [
      '',
      'x',
      '{',
      '[]',
      'null',
      '{"type":"x"}',
      '{"type":2,"dataContent":{"an":"object"},"from":"a","to":"b"}',
      Buffer.from([0xff, 0xfe, 0xfd]),
      Buffer.from('{"type":1,"dataContent":"\u00e9"}', 'latin1'),
      '{"type":0,"dataContent":"not json"}',
      '{"type":0,"dataContent":"{\\"loginUserId\\":\\"\\"}"}',
      ...Array.from({ length: 40 }, () => rnd.bytes(1 + rnd.int(300))),
    ];
    const clients: UdpTestClient[] = [];
    for (const input of inputs) {
      const c = await udpClient(f);
      clients.push(c);
      c.sendRaw(input);
    }
    // A logged-in session that sends garbage is forgotten, as MobileIMSDK drops it.
    a.sendRaw('{"type":2,');
    await until(() => !f.gw.hasUser(a.uid!), 'the garbage-sending UDP user to be forgotten');
    await quietWindow(300);
    for (const [i, c] of clients.entries()) {
      expect(c.receivedBytes, `input #${i} (${c.sentBytes} bytes) got ${c.datagrams.map((d) => d.text).join(' | ')}`).toBeLessThanOrEqual(c.sentBytes);
    }
    await until(async () => (await udpConnections(f)) === 0, 'every garbage session to be closed');

    // The gateway still serves everyone.
    const b = await udpLogin(f, uid('udp-after'));
    const fp = b.send(w.uid!, 'still here')!;
    await w.waitForMessage((p) => p.fp === fp);
    await b.waitForAck(fp);
  });

  it('amplification - what an address that has not logged in receives never exceeds what it sent', async () => {
    const f = await gateway({ udpBlockMs: 0 });
    const id = 'alice_udp550';

    // A Java keepalive before login (99 bytes for a 5-character uid): the 301 is compact and its echo cut to fit.
    const ka = await udpClient(f);
    ka.sendPacket(keepAlivePacket('jtcp2'));
    expect(ka.sentBytes).toBe(99);
    const e = await ka.waitForPacket(PacketType.ERROR);
    expect(ka.datagrams[0]!.bytes).toBeLessThanOrEqual(99);
    const err = parseErrorResponse(e.dataContent);
    expect(err.errorCode).toBe(ErrorCode.UNLOGIN);
    expect(encodePacket(keepAlivePacket('jtcp2')).startsWith(err.errorMsg ?? '')).toBe(true);

    // Too small for even a bare 301: nothing comes back.
    const tiny = await udpClient(f);
    tiny.sendRaw('{"type":2}');
    await quietWindow(300);
    expect(tiny.datagrams).toEqual([]);
    expect(await f.metric('switchboard_protocol_errors_total', { reason: 'udp_amplification' })).toBeGreaterThanOrEqual(1);

    // The reference UDP echo (113 bytes; MobileIMSDK answers 114): answered compactly, content intact.
    const echoC = await udpClient(f);
    const echo = createPacket({ type: PacketType.ECHO, dataContent: 'ping-echo', from: id, to: SERVER_UID });
    echoC.sendPacket(echo);
    expect(echoC.sentBytes).toBe(113);
    const r = await echoC.waitForPacket(PacketType.ECHO_RESPONSE);
    expect(echoC.receivedBytes).toBeLessThanOrEqual(113);
    expect(r).toMatchObject({ type: 53, dataContent: 'ping-echo', from: id, to: SERVER_UID });

    // A Java login without token for a one-character uid: its full response would be 2 bytes longer
    // than the request (longer uids make the request longer), so it comes compact; once logged in,
    // full-size packets flow.
    const lc = await udpClient(f);
    const login = await lc.login('a');
    expect(login.code).toBe(0);
    expect(lc.receivedBytes).toBeLessThanOrEqual(lc.sentBytes);
    expect(lc.datagrams[0]!.text.startsWith('{"type":50,')).toBe(true);
    const k = await lc.keepAlive();
    expect(lc.datagrams.at(-1)!.text).toBe(encodePacket(k));

    // A lenient minimal login is smaller than any login response: it gets nothing.
    const min = await udpClient(f);
    min.sendRaw(`{"dataContent":"{\\"loginUserId\\":\\"${uid('m')}\\"}"}`);
    await quietWindow(300);
    expect(min.datagrams).toEqual([]);

    // Random packets of every non-login type from fresh addresses.
    const rnd = prng(42);
    const types = [1, 2, 3, 4, 5, 50, 52, 99];
    const many: UdpTestClient[] = [];
    for (let i = 0; i < 20; i++) many.push(await udpClient(f));
    for (let i = 0; i < 200; i++) {
      const c = rnd.pick(many);
      const p = createPacket({
        type: rnd.pick(types),
        dataContent: rnd.next() < 0.2 ? null : 'y'.repeat(rnd.int(200)),
        from: rnd.next() < 0.5 ? 'u' : 'a-much-longer-user-id-' + i,
        to: rnd.next() < 0.5 ? SERVER_UID : 'someone',
        fp: rnd.next() < 0.5 ? null : `fp-${i}`,
        QoS: rnd.next() < 0.5,
      });
      c.sendRaw(rnd.next() < 0.5 ? encodePacket(p) : JSON.stringify({ type: p.type, from: p.from, to: p.to }));
    }
    await quietWindow(500);
    for (const c of many) expect(c.receivedBytes).toBeLessThanOrEqual(c.sentBytes);
    expect(many.some((c) => c.receivedBytes > 0)).toBe(true);
  });

  it('idle timeout - UDP sessions are forgotten silently after the UDP idle time of the sense mode (3S: 10 s, not 7 s)', async () => {
    const f = await gateway({ senseMode: '3S' });
    const silent = await udpLogin(f, uid('udp-silent'));
    const beating = await udpLogin(f, uid('udp-beating'));
    const tcp = await f.login(uid('tcp-silent'), 'tcp');
    beating.startKeepAlive(3_000);
    const t0 = Date.now();
    const received = silent.datagrams.length;

    await tcp.waitForClose({ timeoutMs: 10_000 });
    expect(Date.now() - t0).toBeLessThan(9_000);
    expect(f.gw.hasUser(silent.uid!)).toBe(true);
    await until(() => !f.gw.hasUser(silent.uid!), 'the silent UDP user to expire', 8_000);
    const after = Date.now() - t0;
    expect(after).toBeGreaterThanOrEqual(9_500);
    expect(after).toBeLessThan(12_500);
    expect(silent.datagrams.length).toBe(received); // silent: UDP has no close

    expect(f.gw.hasUser(beating.uid!)).toBe(true);
    expect(beating.packets.filter((p) => p.type === PacketType.KEEPALIVE_RESPONSE).length).toBeGreaterThanOrEqual(3);
    // The expired address is unauthenticated now: its keepalive gets a 301 (and the client logs in again).
    silent.sendPacket(keepAlivePacket(silent.uid!));
    await silent.waitForPacket(PacketType.ERROR);
    expect((await silent.login(silent.uid!)).code).toBe(0);
  }, 30_000);

  it('kick - a UDP session replaced by a newer login gets kickout 1 and is forgotten; admin kick sends code 2', async () => {
    const f = await gateway();
    const id = uid('udp-kick');
    const old = await udpLogin(f, id);
    const fresh = await f.login(id, 'ws');
    const k = await old.waitForPacket(PacketType.KICKOUT);
    expect(old.kickouts).toEqual([{ code: KickoutCode.DUPLICATE_LOGIN, reason: null }]);
    expect(k.to).toBe(id);
    await until(async () => (await udpConnections(f)) === 0, 'the kicked UDP session to be forgotten');
    expect(f.gw.hasUser(id)).toBe(true);
    // Messages go to the new session; the old address is just unauthenticated.
    const other = await udpLogin(f, uid('udp-other'));
    const fp = other.send(id, 'to the new one')!;
    await fresh.waitForMessage((p) => p.fp === fp);
    const since = old.packets.length;
    old.sendPacket(keepAlivePacket(id));
    await old.waitForPacket(PacketType.ERROR, undefined, { since });

    // UDP replaced by UDP from another port, then an admin kick.
    const id2 = uid('udp-kick2');
    const u1 = await udpLogin(f, id2);
    const u2 = await udpLogin(f, id2);
    await u1.waitForPacket(PacketType.KICKOUT);
    expect(await f.gw.kickUser(id2, 'admin says bye')).toBe(true);
    await u2.waitForPacket(PacketType.KICKOUT);
    expect(u2.kickouts).toEqual([{ code: KickoutCode.ADMIN, reason: 'admin says bye' }]);
    await until(() => !f.gw.hasUser(id2), 'the admin-kicked user to be gone');
  });

  it('session cap - new addresses evict only sessions that have not logged in; when every slot is logged in, new ones get nothing', async () => {
    const f = await gateway({ udpMaxSessions: 4 });
    const a = await udpLogin(f, uid('cap-a'));
    const b = await udpLogin(f, uid('cap-b'));
    const strangers: UdpTestClient[] = [];
    for (let i = 0; i < 10; i++) {
      const s = await udpClient(f);
      strangers.push(s);
      s.sendPacket(createPacket({ type: PacketType.ECHO, dataContent: `echo ${i}`, from: 'x', to: SERVER_UID }));
      await s.waitForPacket(PacketType.ECHO_RESPONSE);
      await until(async () => (await udpConnections(f)) <= 4, 'at most 4 UDP sessions');
    }
    expect(f.gw.hasUser(a.uid!) && f.gw.hasUser(b.uid!)).toBe(true);
    await a.keepAlive();
    await b.keepAlive();

    const c = await udpLogin(f, uid('cap-c'));
    const d = await udpLogin(f, uid('cap-d'));
    await until(async () => (await udpConnections(f)) === 4, 'four logged-in sessions');
    const late = await udpClient(f);
    late.sendPacket(createPacket({ type: PacketType.ECHO, dataContent: 'anyone?', from: 'x', to: SERVER_UID }));
    await quietWindow(300);
    expect(late.datagrams).toEqual([]);
    expect(await f.metric('switchboard_protocol_errors_total', { reason: 'udp_cap' })).toBeGreaterThanOrEqual(1);
    for (const u of [a, b, c, d]) await u.keepAlive();
  });

  it('rate limit - an address over its rate gets 1026, a flood closes it and it is ignored for the block time', async () => {
    const blockMs = 2_000;
    const f = await gateway({ rateLimitPerSec: 20, rateLimitBurst: 20, udpBlockMs: blockMs });
    const u = await udpLogin(f, uid('udp-flood'));
    const w = await f.login(uid('ws-flood'), 'ws');
    for (let i = 0; i < 40; i++) u.send(w.uid!, `m${i}`, { qos: false });
    await until(() => u.errors.some((e) => e.errorCode === ErrorCode.RATE_LIMITED), 'a rate-limit error');
    // Far over the limit (5× within one second of the bucket's window): closed, and then ignored. A
    // burst is sent per poll until the close, since on a busy machine one burst can straddle the window.
    const floodStart = Date.now();
    let round = 0;
    await until(() => {
      if (!f.gw.hasUser(u.uid!)) return true;
      for (let i = 0; i < 200; i++) u.send(w.uid!, `f${round}-${i}`, { qos: false });
      round++;
      return false;
    }, 'the flooding UDP session to be closed');
    const sinceClose = u.packets.length;
    // Blocked: a keepalive gets nothing back (not even the 301 of a new session), and logins are
    // ignored until the block time has passed.
    u.sendPacket(keepAlivePacket(u.uid!));
    let tries = 0;
    const relogin = await waitFor(
      async () => {
        tries++;
        return u.login(u.uid!, { timeoutMs: 500 }).catch(() => undefined);
      },
      { timeoutMs: 15_000, intervalMs: 0, what: 'a login once the block has expired' },
    );
    const reloginAt = Date.now();
    expect(relogin.code).toBe(0);
    expect(tries).toBeGreaterThan(1); // the first attempts fell into the block
    // The block starts at the close, which came after floodStart.
    expect(reloginAt - floodStart).toBeGreaterThanOrEqual(blockMs);
    // The gateway answers in order, so every answer to the keepalive and the ignored logins would have
    // come before this login response. Only 1026s sent before the close may arrive after it was seen.
    const loginAnswer = u.packets.findIndex((p, i) => i >= sinceClose && p.type === PacketType.LOGIN_RESPONSE);
    const between = u.packets.slice(sinceClose, loginAnswer);
    expect(between.filter((p) => p.type !== PacketType.ERROR || parseErrorResponse(p.dataContent).errorCode !== ErrorCode.RATE_LIMITED)).toEqual([]);
    expect(await f.metric('switchboard_protocol_errors_total', { reason: 'udp_blocked' })).toBeGreaterThanOrEqual(2);
  });

  it('drain - UDP sessions are forgotten silently and new addresses are ignored', async () => {
    const f = await gateway();
    const u = await udpLogin(f, uid('udp-drain'));
    const n = u.datagrams.length;
    await f.gw.drain();
    expect(f.gw.hasUser(u.uid!)).toBe(false);
    expect(u.datagrams.length).toBe(n);
    const late = await udpClient(f);
    late.sendPacket(createPacket({ type: PacketType.ECHO, dataContent: 'x', from: 'x', to: SERVER_UID }));
    await quietWindow(200);
    expect(late.datagrams).toEqual([]);
  });
});
