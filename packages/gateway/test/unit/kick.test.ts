import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { KickoutCode, PacketType } from '@switchboard/protocol';
import type { TestClient } from '@switchboard/testkit';
import { buildGatewayAdmin } from '../../src/index.js';
import { cleanup, onCleanup, quietWindow, startGateway, testLogger, uid, until, type GatewayFixture } from '../fixtures.js';

afterEach(cleanup);

/** Send from a third user to `to` and return the fp; the caller checks who got it. */
async function poke(f: GatewayFixture, to: string): Promise<{ fp: string; sender: TestClient }> {
  const sender = await f.login(uid('poker'), 'tcp');
  const fp = await sender.send(to, 'who has it?');
  return { fp, sender };
}

/** The kickout must be the last packet before the close. */
async function expectKicked(c: TestClient, code: number, reason: string | null = null): Promise<void> {
  const k = await c.waitForPacket(PacketType.KICKOUT);
  expect(k).toMatchObject({ from: '0', to: c.uid });
  expect(c.kickouts).toEqual([{ code, reason }]);
  await c.waitForClose();
  expect(c.packets.at(-1)?.type).toBe(PacketType.KICKOUT);
}

describe.each([
  ['ws', 'tcp'],
  ['tcp', 'ws'],
] as const)('Gateway kick rule (old on %s, new on %s)', (oldT, newT) => {
  it('fresh login (firstLoginTime 0) - kicks the old session with code 1; the new one gets the messages', async () => {
    const offline: string[] = [];
    const f = await startGateway({ hooks: { onUserOffline: (u) => offline.push(u) } });
    const me = uid('dup');
    const old = await f.login(me, oldT);
    const fresh = await f.login(me, newT, { login: { firstLoginTime: 0 } });
    await expectKicked(old, KickoutCode.DUPLICATE_LOGIN);
    expect(fresh.kickouts).toHaveLength(0);
    expect(f.gw.hasUser(me)).toBe(true);
    const { fp, sender } = await poke(f, me);
    await fresh.waitForMessage((m) => m.fp === fp);
    await sender.waitForAck(fp);
    // The old session's close did not remove the new session's route, and is no "user offline".
    expect(await f.routes.lookup(me as never)).not.toBeNull();
    expect(offline).toEqual([]);
  });

  it('newer firstLoginTime - kicks the old session', async () => {
    const f = await startGateway();
    const me = uid('newer');
    const old = await f.login(me, oldT);
    const t = old.firstLoginTime;
    const newer = await f.login(me, newT, { login: { firstLoginTime: t + 1_000 } });
    expect(newer.loginResponses[0]).toEqual({ code: 0, firstLoginTime: t + 1_000 });
    await expectKicked(old, KickoutCode.DUPLICATE_LOGIN);
    const { fp } = await poke(f, me);
    await newer.waitForMessage((m) => m.fp === fp);
  });

  it('equal firstLoginTime - both stay open; the new one is registered and gets the messages', async () => {
    const f = await startGateway();
    const me = uid('equal');
    const old = await f.login(me, oldT);
    const again = await f.login(me, newT, { login: { firstLoginTime: old.firstLoginTime } });
    expect(again.loginResponses[0]).toEqual({ code: 0, firstLoginTime: old.firstLoginTime });
    const { fp, sender } = await poke(f, me);
    await again.waitForMessage((m) => m.fp === fp);
    await sender.waitForAck(fp);
    await quietWindow(200);
    expect(old.kickouts).toHaveLength(0);
    expect(again.kickouts).toHaveLength(0);
    expect(old.closed).toBe(false);
    expect(again.closed).toBe(false);
    expect(old.messages).toHaveLength(0);
    // Closing the orphaned old connection does not unregister the new one.
    await old.close();
    await quietWindow(100);
    expect(f.gw.hasUser(me)).toBe(true);
    const second = await sender.send(me, 'still you?');
    await again.waitForMessage((m) => m.fp === second);
  });

  it('older firstLoginTime - the newcomer gets login code 0, then kickout code 1 and close; the old one keeps working', async () => {
    const f = await startGateway();
    const me = uid('older');
    const current = await f.login(me, oldT);
    const t = current.firstLoginTime;
    const routeBefore = await f.routes.lookup(me as never);
    const stale = await f.connect(newT);
    const res = await stale.login(me, { firstLoginTime: t - 60_000 });
    expect(res).toEqual({ code: 0, firstLoginTime: t - 60_000 });
    await expectKicked(stale, KickoutCode.DUPLICATE_LOGIN);
    const types = stale.packets.map((p) => p.type);
    expect(types).toEqual([PacketType.LOGIN_RESPONSE, PacketType.KICKOUT]);

    expect(current.kickouts).toHaveLength(0);
    expect(current.closed).toBe(false);
    expect(await f.routes.lookup(me as never)).toEqual(routeBefore);
    await current.keepAlive();
    const { fp } = await poke(f, me);
    await current.waitForMessage((m) => m.fp === fp);
  });
});

describe('Gateway kick rule - concurrency', () => {
  it('two simultaneous fresh logins of one user end with exactly one live, registered session', async () => {
    const f = await startGateway();
    const me = uid('race');
    const a = await f.connect('ws');
    const b = await f.connect('tcp');
    const [ra, rb] = await Promise.all([a.login(me), b.login(me)]);
    expect(ra.code).toBe(0);
    expect(rb.code).toBe(0);
    await until(() => a.closed !== b.closed, 'one of the two sessions to be kicked');
    const live = a.closed ? b : a;
    const dead = a.closed ? a : b;
    expect(dead.kickouts).toEqual([{ code: 1, reason: null }]);
    const { fp } = await poke(f, me);
    await live.waitForMessage((m) => m.fp === fp);
    await quietWindow(100);
    expect(live.closed).toBe(false);
  });
});

describe('Gateway admin kick', () => {
  it.each(['ws', 'tcp'] as const)('Gateway.kickUser - kickout {code 2, reason} then close over %s', async (t) => {
    const offline: Array<{ uid: string; kickCode: number }> = [];
    const f = await startGateway({ hooks: { onUserOffline: (u, info) => offline.push({ uid: u, kickCode: info.kickCode }) } });
    const me = uid('adm');
    const c = await f.login(me, t);
    expect(await f.gw.kickUser(me, 'admin says bye')).toBe(true);
    await expectKicked(c, KickoutCode.ADMIN, 'admin says bye');
    await until(() => !f.gw.hasUser(me), 'the kicked user to be unregistered');
    expect(await f.routes.lookup(me as never)).toBeNull();
    expect(offline).toEqual([{ uid: me, kickCode: 2 }]);
    expect(await f.metric('switchboard_kicks_total', { code: '2' })).toBe(1);
  });

  it('Gateway.kickUser - false for a user who is not online', async () => {
    const f = await startGateway();
    expect(await f.gw.kickUser(uid('nobody'), null)).toBe(false);
  });

  it('POST /admin/users/:uid/kick - kicks with the reason; 404 for an unknown user', async () => {
    const f = await startGateway();
    const admin = buildGatewayAdmin(f.gw, { log: testLogger() });
    await admin.listen({ port: 0, host: '127.0.0.1' });
    onCleanup(() => admin.close());
    const base = `http://127.0.0.1:${(admin.server.address() as AddressInfo).port}`;
    const me = uid('http-kick');
    const bystander = await f.login(uid('stay'), 'tcp');
    const c = await f.login(me, 'ws');

    const res = await fetch(`${base}/admin/users/${me}/kick`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'spam' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ kicked: true, userId: me });
    await expectKicked(c, KickoutCode.ADMIN, 'spam');

    // Without a body: no reason.
    const c2 = await f.login(me, 'tcp');
    const res2 = await fetch(`${base}/admin/users/${me}/kick`, { method: 'POST' });
    expect(res2.status).toBe(200);
    await expectKicked(c2, KickoutCode.ADMIN, null);

    const res3 = await fetch(`${base}/admin/users/${uid('ghost')}/kick`, { method: 'POST' });
    expect(res3.status).toBe(404);
    expect(bystander.closed).toBe(false);
    await bystander.keepAlive();
  });

  it('POST /admin/users/:uid/kick - needs the bearer token when one is set', async () => {
    const f = await startGateway();
    const admin = buildGatewayAdmin(f.gw, { log: testLogger(), adminToken: 's3cret-token' });
    await admin.listen({ port: 0, host: '127.0.0.1' });
    onCleanup(() => admin.close());
    const base = `http://127.0.0.1:${(admin.server.address() as AddressInfo).port}`;
    const me = uid('guarded');
    const c = await f.login(me, 'ws');
    const denied = await fetch(`${base}/admin/users/${me}/kick`, { method: 'POST' });
    expect(denied.status).toBe(401);
    const wrong = await fetch(`${base}/admin/users/${me}/kick`, { method: 'POST', headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    await quietWindow(100);
    expect(c.closed).toBe(false);
    const ok = await fetch(`${base}/admin/users/${me}/kick`, { method: 'POST', headers: { authorization: 'Bearer s3cret-token' } });
    expect(ok.status).toBe(200);
    await expectKicked(c, KickoutCode.ADMIN);
  });
});
