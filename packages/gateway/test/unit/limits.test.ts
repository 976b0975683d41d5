import { afterEach, describe, expect, it } from 'vitest';
import { CloseCode, ErrorCode, encodePacket, keepAlivePacket, loginPacket, PacketType } from '@switchboard/protocol';
import { cleanup, onCleanup, RawTcpClient, RawWsClient, startGateway, uid, until, wsFrame } from '../fixtures.js';

afterEach(cleanup);

describe('Gateway idle timeout', () => {
  it('3S sense mode - silent connections close after ~7 s; keepalives keep one open; WS pings do not count', async () => {
    const f = await startGateway({ senseMode: '3S' });
    const silentWs = await f.login(uid('silent-ws'), 'ws');
    const silentTcp = await f.login(uid('silent-tcp'), 'tcp');
    const anonymous = await f.connect('tcp');
    const beating = await f.login(uid('beating'), 'tcp');
    const pinger = await RawWsClient.open(f.wsPort, '/websocket');
    onCleanup(() => pinger.destroy());
    const t0 = Date.now();

    const beat = setInterval(() => void beating.keepAlive().catch(() => {}), 2_000);
    const ping = setInterval(() => pinger.send(wsFrame(0x9, 'are you there')), 1_000);
    onCleanup(() => {
      clearInterval(beat);
      clearInterval(ping);
    });

    const wsInfo = await silentWs.waitForClose({ timeoutMs: 10_000 });
    const closedAfter = Date.now() - t0;
    expect(closedAfter).toBeGreaterThanOrEqual(6_500);
    expect(closedAfter).toBeLessThan(9_500);
    expect(wsInfo.code).toBe(CloseCode.IDLE_TIMEOUT);
    await silentTcp.waitForClose({ timeoutMs: 2_000 });
    await anonymous.waitForClose({ timeoutMs: 2_000 });
    await pinger.waitForEnd(2_000);
    await until(() => !f.gw.hasUser(silentWs.uid!) && !f.gw.hasUser(silentTcp.uid!), 'idle users to be unregistered');

    // The client that sent keepalives every 2 s is still there and answered.
    expect(beating.closed).toBe(false);
    expect(beating.keepAliveResponses).toBeGreaterThanOrEqual(3);
    await beating.keepAlive();
    expect(f.gw.hasUser(beating.uid!)).toBe(true);
  }, 20_000);
});

describe('Gateway slow consumer', () => {
  it.each([
    ['tcp', 5_800],
    ['ws', 60_000],
  ] as const)(
    'a %s receiver that stops reading is closed as a slow consumer; its pending custody goes offline and every sender is acked',
    async (transport, size) => {
      const f = await startGateway({
        maxOutboundBytes: 64 * 1024,
        rateLimitPerSec: 1_000_000,
        rateLimitBurst: 1_000_000,
        custodyResendMs: 1_000,
        custodyGiveUpMs: 2_000,
      });
      const rid = uid('slow');
      const login = encodePacket(loginPacket({ loginUserId: rid, loginToken: null, extra: null, firstLoginTime: 0 }));
      let socket: import('node:net').Socket;
      if (transport === 'tcp') {
        const slow = await RawTcpClient.open(f.tcpPort);
        onCleanup(() => slow.destroy());
        slow.sendText(login);
        await slow.waitForPacket((p) => p.type === PacketType.LOGIN_RESPONSE);
        socket = slow.socket;
      } else {
        const slow = await RawWsClient.open(f.wsPort, '/websocket');
        onCleanup(() => slow.destroy());
        slow.sendText(login);
        await slow.waitForPacket((p) => p.type === PacketType.LOGIN_RESPONSE);
        socket = slow.socket;
      }
      // Stop reading: the kernel buffers fill, then the gateway's outbound buffer grows.
      socket.pause();

      const bystander = await f.login(uid('bystander'), 'tcp');
      const s = await f.login(uid('fast'), transport);
      const body = 'x'.repeat(size);
      const fps: string[] = [];
      while ((await f.metric('switchboard_slow_consumer_closes_total')) === 0) {
        if (fps.length >= 20_000) throw new Error(`no slow-consumer close after ${fps.length} messages`);
        for (let i = 0; i < 20; i++) fps.push(await s.send(rid, body));
      }
      expect(await f.metric('switchboard_slow_consumer_closes_total')).toBe(1);
      await until(() => !f.gw.hasUser(rid), 'the slow consumer to be unregistered', 5_000);

      // The receiver never acked, so every message sits in its offline queue and was acked to the sender.
      await until(() => new Set(s.acks).size === fps.length, `acks for all ${fps.length} messages`, 10_000);
      expect(await f.offlineCount(rid)).toBe(fps.length);
      expect(f.gw.custodyCount).toBe(0);
      expect(s.closed).toBe(false);
      expect(s.errors).toHaveLength(0);
      await bystander.keepAlive();

      // The receiver comes back and gets its queue in order (at most 1000 per login).
      socket.destroy();
      const back = await f.login(rid, 'ws');
      for (let want = 0; ; ) {
        want = Math.min(fps.length, want + 1_000);
        await until(() => back.messages.length === want, `${want} offline messages`, 10_000);
        await until(async () => (await f.offlineCount(rid)) === fps.length - want, 'the delivered messages to be acked away', 10_000);
        if (want === fps.length) break;
        await back.login(rid, { firstLoginTime: back.firstLoginTime });
      }
      expect(back.messages.map((m) => m.fp)).toEqual(fps);
      expect(back.duplicates).toBe(0);
    },
    30_000,
  );
});

describe('Gateway rate limit', () => {
  it('data packets over the per-connection limit get error 1026 carrying the fp; the connection stays usable', async () => {
    const f = await startGateway({ rateLimitPerSec: 20, rateLimitBurst: 20 });
    const c = await f.login(uid('chatty'), 'tcp');
    const fps: string[] = [];
    for (let i = 0; i < 60; i++) fps.push(await c.send('0', `c2s #${i}`));
    await until(() => c.acks.length + c.errors.length === 60, 'an ack or an error for every message');
    const limited = c.errors.filter((e) => e.errorCode === ErrorCode.RATE_LIMITED);
    expect(limited.length).toBe(c.errors.length);
    expect(limited.length).toBeGreaterThanOrEqual(20);
    expect(c.acks.length).toBeGreaterThanOrEqual(19);
    // Each refusal names the refused message; acked and refused partition what was sent.
    expect(new Set([...c.acks, ...limited.map((e) => e.errorMsg!)])).toEqual(new Set(fps));
    expect(await f.metric('switchboard_rate_limited_total')).toBeGreaterThanOrEqual(limited.length);
    expect(c.closed).toBe(false);

    // Tokens come back with time: a new message is eventually accepted.
    let accepted = false;
    for (let i = 0; i < 40 && !accepted; i++) {
      const fp = await c.send('0', 'later');
      await until(() => c.acks.includes(fp) || c.errors.some((e) => e.errorMsg === fp), 'an answer');
      accepted = c.acks.includes(fp);
      if (!accepted) await new Promise((r) => setTimeout(r, 100));
    }
    expect(accepted).toBe(true);
  });

  it('a connection far over the limit is closed; others are unaffected', async () => {
    const f = await startGateway({ rateLimitPerSec: 20, rateLimitBurst: 20 });
    const other = await f.login(uid('calm'), 'ws');
    const c = await f.login(uid('flood'), 'tcp');
    const ka = encodePacket(keepAlivePacket(c.uid!));
    for (let i = 0; i < 400 && !c.closed; i++) await c.sendRaw(ka).catch(() => {});
    await c.waitForClose();
    expect(c.keepAliveResponses).toBeLessThan(400);
    await other.keepAlive();
  });

  it('acks do not spend the data budget: a busy receiver acks more than its own send limit', async () => {
    const f = await startGateway({ rateLimitPerSec: 20, rateLimitBurst: 20 });
    const receiver = await f.login(uid('popular'), 'ws');
    const senders = await Promise.all([0, 1, 2, 3, 4].map((i) => f.login(uid(`fan${i}`), i % 2 ? 'tcp' : 'ws')));
    const fps = (await Promise.all(senders.map((s) => Promise.all(Array.from({ length: 15 }, (_, k) => s.send(receiver.uid!, `m${k}`)))))).flat();
    // 75 messages reach the receiver within a second; its 75 acks must all pass at once,
    // so every sender is acked well before the 2 s custody resend.
    await Promise.all(senders.flatMap((s, i) => fps.slice(i * 15, i * 15 + 15).map((fp) => s.waitForAck(fp, { timeoutMs: 1_500 }))));
    expect(receiver.errors.filter((e) => e.errorCode === 1026)).toEqual([]);
    expect(receiver.duplicates).toBe(0);
  });
});
