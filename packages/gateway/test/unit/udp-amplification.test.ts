// UDP amplification after login: a login with a valid token for the attacker's own account, sent
// with a victim's source address, must not make the gateway send the victim that account's
// offline queue. Until the address acks a QoS packet sent to it, it gets the login response and one
// more datagram; once it acks, the queue flows. Real UDP sockets on loopback.
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { asUserId } from '@switchboard/core';
import { PacketType, dataPacket, encodePacket } from '@switchboard/protocol';
import { createLoginVerifier } from '../../src/index.js';
import { cleanup, onCleanup, quietWindow, startGateway, testLogger, uid, until, type GatewayFixture } from '../fixtures.js';
import { UdpTestClient } from './udp-client.js';

afterEach(cleanup);

const SECRET = 'udp-amplification-test-secret-0123456789';

async function token(sub: string): Promise<string> {
  return new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('1h').sign(new TextEncoder().encode(SECRET));
}

async function gateway(auth: 'jwt' | 'none'): Promise<GatewayFixture & { udpPort: number }> {
  const log = testLogger();
  const f = await startGateway({ udpPort: 0, verifyLogin: createLoginVerifier(auth === 'jwt' ? { mode: 'jwt', jwtSecret: SECRET, log } : { mode: 'none', log }) });
  return Object.assign(f, { udpPort: f.gw.boundPorts.udp });
}

/** Queue `n` messages of about 900 bytes (each fits a datagram) for `to`. */
async function queue(f: GatewayFixture, to: string, n: number): Promise<string[]> {
  const fps: string[] = [];
  for (let i = 0; i < n; i++) {
    const fp = `q-${i}-${to}`;
    const wire = encodePacket(dataPacket({ from: 'friend', to, dataContent: `#${i} ` + 'm'.repeat(820), fp, QoS: true }));
    await f.offline.store(asUserId(to), { fp, packet: wire });
    fps.push(fp);
  }
  return fps;
}

async function client(f: { udpPort: number }, autoAck: boolean): Promise<UdpTestClient> {
  const c = await UdpTestClient.open(f.udpPort, { autoAck });
  onCleanup(() => c.close());
  return c;
}

describe('UDP amplification after login', () => {
  it.each(['jwt', 'none'] as const)('IM_AUTH=%s - an address that never acks gets the login response and one datagram, however long the queue and however often the login is repeated', async (auth) => {
    const f = await gateway(auth);
    const account = uid('attacker');
    await queue(f, account, 50);
    const victim = await client(f, false); // the forged source: it never acks
    const tok = auth === 'jwt' ? await token(account) : null;
    expect((await victim.login(account, { token: tok })).code).toBe(0);
    await quietWindow(800);
    expect(victim.datagrams.length).toBeLessThanOrEqual(2);
    expect(victim.datagrams.filter((d) => d.text.includes('"type":2')).length).toBeLessThanOrEqual(1);
    // Every repeat of the forged login earns at most its response and one datagram more.
    for (let i = 0; i < 4; i++) {
      const before = victim.datagrams.length;
      await victim.login(account, { token: tok });
      await quietWindow(300);
      expect(victim.datagrams.length - before).toBeLessThanOrEqual(2);
    }
    const factor = victim.receivedBytes / victim.sentBytes;
    console.log(`IM_AUTH=${auth}: ${victim.sentBytes} B of logins → ${victim.receivedBytes} B sent to the address (×${factor.toFixed(2)})`);
    expect(factor).toBeLessThan(auth === 'jwt' ? 6 : 12);
    expect(await f.offlineCount(account)).toBe(50); // nothing lost: the queue waits for a real client
  });

  it('an attacker who is also the sender (so knows the fps) and forges the ack gets at most a UDP page (16) per login, not the queue', async () => {
    const f = await gateway('none');
    const account = uid('reflector');
    await queue(f, account, 50); // "friend" stands for the attacker's second account: it chose these fps
    const victim = await client(f, false);
    expect((await victim.login(account)).code).toBe(0);
    const probe = await victim.waitForPacket(PacketType.DATA);
    victim.ack(probe); // forged with the victim's source address and the fp the attacker chose
    await quietWindow(800);
    const data = () => victim.datagrams.filter((d) => d.text.includes('"type":2')).length;
    expect(data()).toBe(16);
    for (let i = 0; i < 3; i++) {
      const before = data();
      await victim.login(account);
      await quietWindow(300);
      expect(data() - before).toBeLessThanOrEqual(16);
    }
    const factor = victim.receivedBytes / victim.sentBytes;
    console.log(`forged ack: ${victim.sentBytes} B (4 logins, 1 ack) → ${victim.receivedBytes} B (×${factor.toFixed(1)})`);
    expect(factor).toBeLessThan(100);
  });

  it('an address that acks gets the whole queue, in order', async () => {
    const f = await gateway('jwt');
    const account = uid('real');
    const fps = await queue(f, account, 50);
    const c = await client(f, true);
    expect((await c.login(account, { token: await token(account) })).code).toBe(0);
    await until(() => c.messages.length === 50, `the whole queue (got ${c.messages.length})`);
    expect(c.messages.map((m) => m.fp)).toEqual(fps);
    await until(async () => (await f.offlineCount(account)) === 0, 'the acks to empty the queue');
    expect(Math.max(...c.datagrams.map((d) => d.bytes))).toBeLessThanOrEqual(1024);
  });

  it('the window opens at the first ack: held-back queue and live messages follow', async () => {
    const f = await gateway('none');
    const account = uid('late-acker');
    await queue(f, account, 10);
    const c = await client(f, false);
    expect((await c.login(account)).code).toBe(0);
    const first = await c.waitForPacket(PacketType.DATA);
    await quietWindow(300);
    expect(c.messages).toHaveLength(1);
    c.autoAck = true;
    c.ack(first);
    await until(() => c.messages.length === 10, 'the rest of the queue after the ack');
    const w = await f.login(uid('ws-friend'), 'ws');
    const fp = (await w.send(account, 'live after the window opened'))!;
    await c.waitForPacket(PacketType.DATA, (p) => p.fp === fp);
    await w.waitForAck(fp);
  });
});
