import { afterEach, describe, expect, it } from 'vitest';
import { createPacket, decodePacket, ErrorCode, PacketType, type Packet } from '@switchboard/protocol';
import { encodeWithShape } from '@switchboard/testkit';
import { cleanup, quietWindow, startGateway, uid } from '../fixtures.js';

afterEach(cleanup);

const cases = [
  ['ws', 'java'],
  ['ws', 'h5'],
  ['tcp', 'java'],
  ['tcp', 'h5'],
] as const;

describe.each(cases)('Gateway session over %s with %s-shaped frames', (transport, shape) => {
  it('login - answers code 0 with a server firstLoginTime and registers the user', async () => {
    const f = await startGateway();
    const me = uid('alice');
    const c = await f.connect(transport, { shape });
    const before = Date.now();
    const res = await c.login(me, { token: 'whatever', extra: 'x' });
    expect(res.code).toBe(0);
    expect(res.firstLoginTime).toBeGreaterThanOrEqual(before);
    expect(res.firstLoginTime).toBeLessThanOrEqual(Date.now());
    const resp = c.packets.find((p) => p.type === PacketType.LOGIN_RESPONSE)!;
    expect(resp).toMatchObject({ from: '0', to: me, QoS: false });
    expect(f.gw.hasUser(me)).toBe(true);
    expect((await f.routes.lookup(me as never))?.connId).toBeDefined();
  });

  it('login - answers a re-login of a device with its own firstLoginTime', async () => {
    const f = await startGateway();
    const c = await f.connect(transport, { shape });
    const res = await c.login(uid('bob'), { firstLoginTime: 1_700_000_000_123 });
    expect(res).toEqual({ code: 0, firstLoginTime: 1_700_000_000_123 });
  });

  it('keepalive - answers type 51 to the user', async () => {
    const f = await startGateway();
    const me = uid('carol');
    const c = await f.login(me, transport, { shape });
    const p = await c.keepAlive();
    expect(p).toMatchObject({ type: PacketType.KEEPALIVE_RESPONSE, from: '0', to: me, dataContent: '{}' });
    await c.keepAlive();
    expect(c.keepAliveResponses).toBe(2);
  });

  it('echo - answers type 53 with the request unchanged, without login', async () => {
    const f = await startGateway();
    const c = await f.connect(transport, { shape });
    const req = createPacket({ type: PacketType.ECHO, dataContent: 'ping-echo', from: 'nobody', to: '0' });
    await c.sendRaw(req);
    const res = await c.waitForPacket(PacketType.ECHO_RESPONSE);
    expect(res).toMatchObject({ dataContent: 'ping-echo', from: 'nobody', to: '0', QoS: false });
    // Echo needs no login and does not end the connection.
    await quietWindow(100);
    expect(c.closed).toBe(false);
    await c.sendRaw(req);
    await c.waitForPacket(PacketType.ECHO_RESPONSE, undefined, { since: c.packets.length });
  });

  it('logout - the server closes the connection and forgets the user', async () => {
    const f = await startGateway();
    const me = uid('dave');
    const c = await f.login(me, transport, { shape });
    const info = await c.logout();
    if (transport === 'ws') expect(info.code).toBe(1000);
    await expect.poll(() => f.gw.hasUser(me)).toBe(false);
    await expect.poll(() => f.routes.lookup(me as never)).toBeNull();
  });

  it.each([
    ['keepalive', PacketType.KEEPALIVE],
    ['data', PacketType.DATA],
    ['ack', PacketType.ACK],
  ] as const)('before login - %s gets error 301 with the packet in errorMsg, then close', async (_name, type) => {
    const f = await startGateway();
    const c = await f.connect(transport, { shape });
    const rejected: Packet = createPacket({
      type,
      dataContent: type === PacketType.KEEPALIVE ? '{}' : type === PacketType.DATA ? 'hello before login' : 'some-fp',
      from: 'zed',
      to: type === PacketType.DATA ? 'someone' : '0',
      fp: type === PacketType.DATA ? '5ac97602-0100-4f23-b856-5905c0d46cea' : null,
      QoS: type === PacketType.DATA,
    });
    await c.sendRaw(encodeWithShape(rejected, shape));
    const err = await c.waitForPacket(PacketType.ERROR);
    expect(err).toMatchObject({ from: '0', to: '-1' });
    expect(c.errors).toHaveLength(1);
    expect(c.errors[0]!.errorCode).toBe(ErrorCode.UNLOGIN);
    const echoed = decodePacket(c.errors[0]!.errorMsg!);
    expect(echoed).toMatchObject({
      type: rejected.type,
      dataContent: rejected.dataContent,
      from: rejected.from,
      to: rejected.to,
      fp: rejected.fp,
      QoS: rejected.QoS,
    });
    await c.waitForClose();
  });

  it('login - a second user on another connection is unaffected by a 301 close', async () => {
    const f = await startGateway();
    const other = await f.login(uid('bystander'), transport, { shape });
    const c = await f.connect(transport, { shape });
    await c.sendRaw(createPacket({ type: PacketType.KEEPALIVE, dataContent: '{}', from: 'zed', to: '0' }));
    await c.waitForClose();
    await other.keepAlive();
    expect(other.closed).toBe(false);
  });
});
