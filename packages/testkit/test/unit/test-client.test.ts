import { afterEach, describe, expect, it } from 'vitest';
import {
  ackPacket,
  dataPacket,
  encodePacket,
  encodeTcpFrame,
  errorPacket,
  kickoutPacket,
  loginPacket,
  PacketType,
} from '@switchboard/protocol';
import { TimeoutError } from '@switchboard/core';
import { connectClient, TestClient } from '../../src/index.js';
import { FAKE_LOGIN_TIME, FakeServer } from './fake-server.js';

const servers: FakeServer[] = [];
const clients: TestClient[] = [];

async function setup(
  transport: 'ws' | 'tcp',
  opts: { shape?: 'java' | 'h5'; autoAck?: boolean; timeoutMs?: number } = {},
): Promise<{ server: FakeServer; client: TestClient }> {
  const server = await FakeServer.start(transport);
  servers.push(server);
  const client = new TestClient({ url: server.url, ...opts });
  clients.push(client);
  await client.connect();
  return { server, client };
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe.each(['ws', 'tcp'] as const)('TestClient over %s', (transport) => {
  it('login - sends the Gson-shaped login and parses the response', async () => {
    const { server, client } = await setup(transport);
    const res = await client.login('alice', { token: 'tok', extra: 'x' });
    expect(res).toEqual({ code: 0, firstLoginTime: FAKE_LOGIN_TIME });
    expect(client.uid).toBe('alice');
    expect(client.firstLoginTime).toBe(FAKE_LOGIN_TIME);
    const conn = await server.conn();
    expect(conn.frames[0]).toBe(
      encodePacket(loginPacket({ loginUserId: 'alice', loginToken: 'tok', extra: 'x', firstLoginTime: 0 })),
    );
    expect(conn.frames[0]).toBe(
      '{"bridge":false,"type":0,"dataContent":"{\\"loginUserId\\":\\"alice\\",\\"loginToken\\":\\"tok\\",\\"extra\\":\\"x\\",\\"firstLoginTime\\":0}","from":"alice","to":"0","QoS":false,"typeu":-1,"sm":-1}',
    );
  });

  it('send - writes the java frame, records send and ack times', async () => {
    const { server, client } = await setup(transport);
    await client.login('alice');
    const fp = await client.send('bob', 'hello', { typeu: 7 });
    const conn = await server.conn();
    const [, frame] = await conn.waitForFrames(2);
    expect(frame).toBe(encodePacket(dataPacket({ from: 'alice', to: 'bob', dataContent: 'hello', fp, QoS: true, typeu: 7 })));
    expect(client.sentAt.has(fp)).toBe(true);
    expect(client.ackLatencyMs(fp)).toBeUndefined();

    conn.send(ackPacket('bob', 'alice', fp));
    const ackedAt = await client.waitForAck(fp);
    expect(ackedAt).toBe(client.ackedAt.get(fp));
    expect(client.acks).toEqual([fp]);
    expect(client.ackLatencyMs(fp)).toBeGreaterThanOrEqual(0);
  });

  it('send - a non-QoS packet has no fp', async () => {
    const { server, client } = await setup(transport);
    await client.login('alice');
    const fp = await client.send('bob', 'hi', { qos: false });
    expect(fp).toBeNull();
    const [, frame] = await (await server.conn()).waitForFrames(2);
    expect(frame).toBe('{"bridge":false,"type":2,"dataContent":"hi","from":"alice","to":"bob","QoS":false,"typeu":-1,"sm":-1}');
  });

  it('autoAck - acks every QoS packet and dedupes repeated fps', async () => {
    const { server, client } = await setup(transport);
    await client.login('bob');
    const conn = await server.conn();
    const msg = { ...dataPacket({ from: 'alice', to: 'bob', dataContent: 'm1', fp: 'fp-1', QoS: true, typeu: 3 }), bridge: true };
    conn.send(msg);
    conn.send(msg); // a server resend: acked again, not delivered again
    conn.send(dataPacket({ from: 'alice', to: 'bob', dataContent: 'plain' }));
    conn.send(dataPacket({ from: 'alice', to: 'bob', dataContent: 'plain' })); // non-QoS: never deduped

    await client.waitForMessage((p) => p.dataContent === 'plain');
    await client.waitForMessage((p) => p.dataContent === 'plain', { since: 2 });
    expect(client.messages.map((p) => p.dataContent)).toEqual(['m1', 'plain', 'plain']);
    expect(client.duplicates).toBe(1);
    expect(client.packets).toHaveLength(5); // login response + 4
    expect(client.deliveredAt.has('fp-1')).toBe(true);

    const frames = await conn.waitForFrames(3);
    const ackFrame = encodePacket(ackPacket('bob', 'alice', 'fp-1', true));
    expect(frames.slice(1)).toEqual([ackFrame, ackFrame]);
    expect(client.acksSent).toBe(2);
  });

  it('autoAck false - never acks; ack() does it by hand', async () => {
    const { server, client } = await setup(transport, { autoAck: false });
    await client.login('bob');
    const conn = await server.conn();
    conn.send(dataPacket({ from: 'alice', to: 'bob', dataContent: 'm1', fp: 'fp-1', QoS: true }));
    const msg = await client.waitForMessage();
    await client.keepAlive();
    // The keepalive is the next frame after the login: no ack went out in between.
    expect(conn.packets().map((p) => p.type)).toEqual([PacketType.LOGIN, PacketType.KEEPALIVE]);
    await client.ack(msg);
    const frames = await conn.waitForFrames(3);
    expect(frames[2]).toBe(encodePacket(ackPacket('bob', 'alice', 'fp-1')));
  });

  it('keepAlive - waits for a new type 51', async () => {
    const { client } = await setup(transport);
    await client.login('carol');
    await client.keepAlive();
    await client.keepAlive();
    expect(client.keepAliveResponses).toBe(2);
  });

  it('parses kickouts and errors, then reports the server close', async () => {
    const { server, client } = await setup(transport);
    await client.login('dave');
    const conn = await server.conn();
    conn.send(errorPacket(301, '{"type":2}'));
    conn.send(kickoutPacket('dave', 2, 'admin says bye'));
    conn.close(1000, 'Bye');
    const info = await client.waitForClose();
    expect(client.errors).toEqual([{ errorCode: 301, errorMsg: '{"type":2}' }]);
    expect(client.kickouts).toEqual([{ code: 2, reason: 'admin says bye' }]);
    expect(client.closed).toBe(true);
    if (transport === 'ws') expect(info).toEqual({ code: 1000, reason: 'Bye' });
    else expect(info).toEqual({ hadError: false });
    await expect(client.send('x', 'y')).rejects.toThrow(/connection closed/);
  });

  it('waits - time out with a clear message, and reject when the connection closes', async () => {
    const { server, client } = await setup(transport);
    await client.login('erin');
    await expect(client.waitForMessage(undefined, { timeoutMs: 50 })).rejects.toThrow(TimeoutError);
    await expect(client.waitForAck('nope', { timeoutMs: 50 })).rejects.toThrow(
      /TestClient\(erin .*\): timed out after 50 ms waiting for ack of fp nope; received 1 packets/,
    );
    const pending = client.waitForPacket(PacketType.KICKOUT, undefined, { timeoutMs: 10_000 });
    (await server.conn()).close();
    await expect(pending).rejects.toThrow(/connection closed .* while waiting for a type-54 packet/);
  });

  it('logout - resolves when the server closes; close() is idempotent', async () => {
    const { client } = await setup(transport);
    await client.login('fred');
    await client.logout();
    expect(client.closed).toBe(true);
    const a = await client.close();
    const b = await client.close();
    expect(a).toBe(b);
  });

  it('close - ends the connection on the client side', async () => {
    const { server, client } = await setup(transport);
    await client.login('gina');
    const [first, second] = await Promise.all([client.close(), client.close({ abrupt: true })]);
    expect(first).toBe(second);
    expect(client.connected).toBe(false);
    await expect(client.keepAlive()).rejects.toThrow(/cannot write/);
    expect(server.conns).toHaveLength(1);
  });
});

describe('TestClient lifecycle', () => {
  it.each(['ws', 'tcp'] as const)('close abrupt (%s) - tears the socket down without a handshake', async (transport) => {
    const { client } = await setup(transport);
    await client.login('ola');
    const info = await client.close({ abrupt: true });
    expect(client.closed).toBe(true);
    if (transport === 'ws') expect(info.code).toBe(1006);
    expect(await client.close()).toBe(info);
  });

  it('timers - none left behind after waits time out, settle, and the client closes', async () => {
    const timeouts = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timeouts();
    const { server, client } = await setup('ws', { timeoutMs: 30_000 });
    await client.login('pia');
    await expect(client.waitForMessage(undefined, { timeoutMs: 20 })).rejects.toThrow(TimeoutError);
    const pendingAck = client.waitForAck('never');
    const pendingMsg = client.waitForMessage();
    (await server.conn()).send(dataPacket({ from: 'x', to: 'pia', dataContent: 'm' }));
    await pendingMsg;
    expect(timeouts()).toBeGreaterThan(before); // the 30 s ack wait is still pending
    await client.close();
    await expect(pendingAck).rejects.toThrow(/connection closed/);
    expect(timeouts()).toBe(before);
  });
});

describe('TestClient h5 shape', () => {
  it('h5 - explicit nulls, retryCount, no bridge or sm', async () => {
    const { server, client } = await setup('ws', { shape: 'h5' });
    await client.login('hana');
    await client.send('ivan', 'yo', { fp: 'fp-h5' });
    const conn = await server.conn();
    conn.send({ ...dataPacket({ from: 'ivan', to: 'hana', dataContent: 'back', fp: 'fp-in', QoS: true }), bridge: true });
    await client.waitForMessage();
    const frames = await conn.waitForFrames(3);
    const [login, data, ack] = frames.map((f) => JSON.parse(f) as Record<string, unknown>);

    expect(Object.keys(login!)).toEqual(['type', 'dataContent', 'from', 'to', 'fp', 'QoS', 'typeu', 'retryCount']);
    expect(login).toMatchObject({ type: 0, fp: null, from: 'hana', to: '0', QoS: false, typeu: -1, retryCount: 0 });
    expect(JSON.parse(login!['dataContent'] as string)).toEqual({
      loginUserId: 'hana',
      loginToken: null,
      extra: null,
      firstLoginTime: 0,
    });
    expect(frames[1]).toBe('{"type":2,"dataContent":"yo","from":"hana","to":"ivan","fp":"fp-h5","QoS":true,"typeu":-1,"retryCount":0}');
    expect(data).not.toHaveProperty('bridge');
    // H5 acks carry no bridge flag even for a bridged packet.
    expect(frames[2]).toBe('{"type":4,"dataContent":"fp-in","from":"hana","to":"ivan","fp":null,"QoS":false,"typeu":-1,"retryCount":0}');
    expect(ack).not.toHaveProperty('sm');
  });

  it('h5 - logout has "dataContent":null', async () => {
    const { server, client } = await setup('ws', { shape: 'h5' });
    await client.login('hana');
    await client.logout();
    const frames = (await server.conn()).frames;
    expect(frames[1]).toBe('{"type":3,"dataContent":null,"from":"hana","to":"0","fp":null,"QoS":false,"typeu":-1,"retryCount":0}');
  });
});

describe('TestClient framing', () => {
  it('tcp - decodes frames split byte by byte and frames coalesced in one write', async () => {
    const { server, client } = await setup('tcp');
    await client.login('jack');
    const conn = await server.conn();
    const one = encodeTcpFrame(encodePacket(dataPacket({ from: 'x', to: 'jack', dataContent: 'split ü', fp: 'f1', QoS: true })));
    for (const byte of one) conn.write(Buffer.from([byte]));
    const two = encodeTcpFrame(encodePacket(dataPacket({ from: 'x', to: 'jack', dataContent: 'a', fp: 'f2', QoS: true })));
    const three = encodeTcpFrame(encodePacket(dataPacket({ from: 'x', to: 'jack', dataContent: 'b', fp: 'f3', QoS: true })));
    conn.write(Buffer.concat([two, three]));
    await client.waitForMessage((p) => p.dataContent === 'b');
    expect(client.messages.map((p) => p.dataContent)).toEqual(['split ü', 'a', 'b']);
    expect(client.transportErrors).toEqual([]);
  });

  it('tcp - sendRaw frames strings and packets, writes Buffers unframed', async () => {
    const { server, client } = await setup('tcp');
    const conn = await server.conn();
    await client.sendRaw('{"type":5,"dataContent":"e"}');
    await client.sendRaw(dataPacket({ from: 'a', to: 'b', dataContent: 'p' }));
    await conn.waitForFrames(2);
    await client.sendRaw(Buffer.from([0, 0, 0, 0]));
    await waitForBytes(conn.bytes, 4 + 28 + 4 + encodePacket(dataPacket({ from: 'a', to: 'b', dataContent: 'p' })).length + 4);
    expect(conn.frames[0]).toBe('{"type":5,"dataContent":"e"}');
    expect(Buffer.concat(conn.bytes).subarray(-4)).toEqual(Buffer.from([0, 0, 0, 0]));
  });

  it('tcp - an oversize inbound frame drops the connection, like real clients', async () => {
    const { server, client } = await setup('tcp');
    await client.login('kim');
    const conn = await server.conn();
    conn.send(encodePacket(dataPacket({ from: 'x', to: 'kim', dataContent: 'z'.repeat(7000) })));
    await client.waitForClose();
    expect(client.transportErrors[0]?.message).toMatch(/exceeds 6144/);
    expect(client.messages).toEqual([]);
  });

  it('ws - sendRaw(Buffer) sends a binary frame, strings go as text', async () => {
    const { server, client } = await setup('ws');
    const conn = await server.conn();
    await client.sendRaw(Buffer.from('{"type":5}'));
    await client.sendRaw('not json');
    await conn.waitForFrames(1);
    expect(conn.binaryFrames.map((b) => b.toString())).toEqual(['{"type":5}']);
    expect(conn.frames).toEqual(['not json']);
  });

  it('ws - garbage from the server is recorded, not thrown', async () => {
    const { server, client } = await setup('ws');
    const conn = await server.conn();
    conn.send('{oops');
    conn.send(dataPacket({ from: 'x', to: 'y', dataContent: 'after' }));
    await client.waitForMessage();
    expect(client.transportErrors).toHaveLength(1);
    expect(client.packets).toHaveLength(1);
  });
});

describe('TestClient connect', () => {
  it('connect - a refused port rejects with the url', async () => {
    const server = await FakeServer.start('tcp');
    const url = server.url;
    await server.close();
    const client = new TestClient({ url, timeoutMs: 2000 });
    await expect(client.connect()).rejects.toThrow(new RegExp(`connect to ${url} failed`));
    expect(client.closed).toBe(true);
    await client.close();
  });

  it('connectClient - connects and logs in; host+port builds the ws url', async () => {
    const server = await FakeServer.start('ws');
    servers.push(server);
    const port = Number(new URL(server.url).port);
    const client = await connectClient({ port, uid: 'lea' });
    clients.push(client);
    expect(client.url).toBe(server.url);
    expect(client.uid).toBe('lea');
  });

  it('options - rejects a transport that contradicts the url', () => {
    expect(() => new TestClient({ url: 'ws://127.0.0.1:1/websocket', transport: 'tcp' })).toThrow(/does not match/);
    expect(() => new TestClient({})).toThrow(/url or port/);
  });
});

async function waitForBytes(chunks: Buffer[], n: number): Promise<void> {
  const { waitFor } = await import('@switchboard/core');
  await waitFor(() => Buffer.concat(chunks).length >= n, { what: `${n} bytes` });
}
