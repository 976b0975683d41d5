import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '@switchboard/core';
import { createGateway, type Gateway } from '@switchboard/gateway';
import { TestClient } from '@switchboard/testkit';

describe('createGateway', () => {
  let gw: Gateway | undefined;
  afterEach(async () => {
    await gw?.close();
  });

  it('embeds a working gateway with in-memory defaults and typed hooks', async () => {
    const online: string[] = [];
    const offline: Array<[string, number]> = [];
    const delivered: string[] = [];
    gw = createGateway({
      log: silentLogger(),
      wsPort: 0,
      tcpPort: 0,
      hooks: {
        verifyLogin: (uid, token) => (token === `ok-${uid}` ? 0 : 1100),
        onUserOnline: (uid) => online.push(uid),
        onUserOffline: (uid, info) => offline.push([uid, info.kickCode]),
        beforeRelay: (p) => (p.dataContent === 'forbidden' ? 1101 : 0),
        onDelivered: (p) => delivered.push(p.fp!),
      },
    });
    const ports = await gw.start();
    const url = `ws://127.0.0.1:${ports.ws}/websocket`;

    const bad = new TestClient({ url });
    await bad.connect();
    expect(await bad.login('mallory', { token: 'nope' })).toMatchObject({ code: 1100, firstLoginTime: -1 });

    const a = new TestClient({ url });
    const b = new TestClient({ transport: 'tcp', port: ports.tcp });
    await a.connect();
    await b.connect();
    expect((await a.login('alice', { token: 'ok-alice' })).code).toBe(0);
    expect((await b.login('bob', { token: 'ok-bob' })).code).toBe(0);
    expect(online).toEqual(['alice', 'bob']);

    const fp = await a.send('bob', 'hello');
    await a.waitForAck(fp);
    expect(delivered).toEqual([fp]);

    const since = a.packets.length;
    const refused = await a.send('bob', 'forbidden');
    const err = await a.waitForPacket(52, undefined, { since });
    expect(JSON.parse(err.dataContent!)).toEqual({ errorCode: 1101, errorMsg: refused });
    expect(b.messages.map((m) => m.dataContent)).toEqual(['hello']);

    await b.close();
    await a.close();
    await expect.poll(() => offline.map(([u]) => u).sort()).toEqual(['alice', 'bob']);
    expect(offline.every(([, code]) => code === -1)).toBe(true);
  });
});
