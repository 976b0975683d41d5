import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createPacket, dataPacket, encodePacket, PacketType } from '@switchboard/protocol';
import { withTimeout } from '@switchboard/core';
import { TestClient } from '@switchboard/testkit';
import { cleanup, onCleanup, RawWsClient, startGateway, uid, until, wsFrame, type GatewayFixture } from '../fixtures.js';

afterEach(cleanup);

/** Two logged-in users, one per transport, that must keep working while another connection misbehaves. */
async function bystanders(f: GatewayFixture): Promise<{ check(): Promise<void> }> {
  const a = await f.login(uid('by-ws'), 'ws');
  const b = await f.login(uid('by-tcp'), 'tcp');
  return {
    async check() {
      expect(a.closed).toBe(false);
      expect(b.closed).toBe(false);
      await a.keepAlive();
      await b.keepAlive();
      const fp = await a.send(b.uid!, 'still here');
      await a.waitForAck(fp);
      await b.waitForMessage((m) => m.fp === fp);
    },
  };
}

/** An echo packet whose Gson encoding is exactly `bytes` long. */
function echoOfSize(bytes: number): string {
  const base = encodePacket(createPacket({ type: PacketType.ECHO, dataContent: '', from: 'x', to: '0' }));
  const text = encodePacket(createPacket({ type: PacketType.ECHO, dataContent: 'a'.repeat(bytes - base.length), from: 'x', to: '0' }));
  expect(Buffer.byteLength(text)).toBe(bytes);
  return text;
}

describe('WebSocket transport', () => {
  it.each(['/websocket/', '/websocket?token=x', '/', '/ws', '/WEBSOCKET'])('path - refuses %s', async (path) => {
    const f = await startGateway();
    const by = await bystanders(f);
    const c = new TestClient({ url: `ws://127.0.0.1:${f.wsPort}${path}`, timeoutMs: 2_000 });
    onCleanup(() => c.close({ abrupt: true }));
    await expect(c.connect()).rejects.toThrow();
    const raw = await RawWsClient.open(f.wsPort, path);
    onCleanup(() => raw.destroy());
    expect(raw.response.status).not.toBe(101);
    await by.check();
  });

  it('path - accepts exactly /websocket', async () => {
    const f = await startGateway();
    const raw = await RawWsClient.open(f.wsPort, '/websocket');
    onCleanup(() => raw.destroy());
    expect(raw.response.status).toBe(101);
  });

  it('subprotocol - never selects one: a client that requires one fails the handshake', async () => {
    const f = await startGateway();
    const by = await bystanders(f);
    const raw = await RawWsClient.open(f.wsPort, '/websocket', { 'Sec-WebSocket-Protocol': 'mqtt, chat' });
    onCleanup(() => raw.destroy());
    expect(raw.response.status).toBe(101);
    expect(raw.response.headers['sec-websocket-protocol']).toBeUndefined();
    expect(raw.response.headers['sec-websocket-extensions']).toBeUndefined();

    const ws = new WebSocket(f.wsUrl, ['mqtt']);
    const err = await new Promise<Error>((resolve) => ws.once('error', resolve));
    expect(err.message).toMatch(/no subprotocol/i);
    await by.check();
  });

  it('frame size - a 65536-byte text frame is accepted, 65537 closes the connection', async () => {
    const f = await startGateway();
    const by = await bystanders(f);
    const ok = await f.connect('ws');
    await ok.sendRaw(echoOfSize(65_536));
    const echo = await ok.waitForPacket(PacketType.ECHO_RESPONSE);
    expect(echo.dataContent!.length).toBeGreaterThan(65_000);

    const big = await f.connect('ws');
    await big.sendRaw(echoOfSize(65_537));
    const info = await big.waitForClose();
    expect(info.code).toBe(1009);
    expect(big.packets.filter((p) => p.type === PacketType.ECHO_RESPONSE)).toHaveLength(0);
    expect(ok.closed).toBe(false);
    await by.check();
  });

  it('binary frame - closes the connection', async () => {
    const f = await startGateway();
    const by = await bystanders(f);
    const c = await f.login(uid('bin'), 'ws');
    await c.sendRaw(Buffer.from(encodePacket(createPacket({ type: PacketType.KEEPALIVE, dataContent: '{}', from: c.uid!, to: '0' }))));
    await c.waitForClose();
    expect(c.keepAliveResponses).toBe(0);
    await until(() => !f.gw.hasUser(c.uid!), 'the binary sender to be unregistered');
    await by.check();
  });

  it('fragmented text - closes the connection (raw frames)', async () => {
    const f = await startGateway();
    const by = await bystanders(f);
    const raw = await RawWsClient.open(f.wsPort, '/websocket');
    onCleanup(() => raw.destroy());
    const echo = encodePacket(createPacket({ type: PacketType.ECHO, dataContent: 'split', from: 'x', to: '0' }));
    // An unfragmented frame works on this connection...
    raw.sendText(echo);
    await raw.waitForPacket((p) => p.type === PacketType.ECHO_RESPONSE);
    // ...then the same packet in two fragments (text, continuation) closes it.
    raw.send(wsFrame(0x1, echo.slice(0, 10), false));
    raw.send(wsFrame(0x0, echo.slice(10), true));
    await raw.waitForEnd();
    expect(raw.texts.filter((t) => t.includes('"type":53'))).toHaveLength(1);
    await by.check();
  });

  it('fragmented text - closes the connection (ws fin:false)', async () => {
    const f = await startGateway();
    const by = await bystanders(f);
    const ws = new WebSocket(f.wsUrl);
    onCleanup(() => ws.terminate());
    await new Promise((r) => ws.once('open', r));
    const received: string[] = [];
    ws.on('message', (d) => received.push(String(d)));
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    const echo = encodePacket(createPacket({ type: PacketType.ECHO, dataContent: 'split', from: 'x', to: '0' }));
    ws.send(echo.slice(0, 20), { fin: false });
    ws.send(echo.slice(20), { fin: true });
    expect(await withTimeout(closed, 5_000, 'the server to close the fragmented connection')).not.toBe(1000);
    expect(received).toHaveLength(0);
    await by.check();
  });

  it('garbage text - error packet then close; bystanders unaffected', async () => {
    const f = await startGateway();
    const by = await bystanders(f);
    const c = await f.connect('ws');
    await c.sendRaw('this is not json {');
    await c.waitForClose();
    await by.check();
  });
});

describe('TCP transport', () => {
  it('frame size - a 6144-byte body is accepted (and relayed to a TCP receiver intact)', async () => {
    const f = await startGateway();
    const a = await f.login(uid('big-a'), 'tcp');
    const b = await f.login(uid('big-b'), 'tcp');
    const fp = '0f0f0f0f-1111-4222-8333-444444444444';
    const empty = encodePacket(dataPacket({ from: a.uid!, to: b.uid!, dataContent: '', fp, QoS: true }));
    const content = 'z'.repeat(6_144 - Buffer.byteLength(empty));
    const text = encodePacket(dataPacket({ from: a.uid!, to: b.uid!, dataContent: content, fp, QoS: true }));
    expect(Buffer.byteLength(text)).toBe(6_144);
    await a.sendRaw(text);
    const got = await b.waitForMessage((m) => m.fp === fp);
    expect(got.dataContent).toBe(content);
    expect(b.frames[b.packets.indexOf(got)]).toBe(text);
    await a.waitForAck(fp);
    expect(a.closed).toBe(false);
  });

  it('frame size - a 6145-byte body closes the connection', async () => {
    const f = await startGateway();
    const by = await bystanders(f);
    const c = await f.connect('tcp');
    await c.sendRaw(echoOfSize(6_145));
    await c.waitForClose();
    expect(c.packets.filter((p) => p.type === PacketType.ECHO_RESPONSE)).toHaveLength(0);
    await by.check();
  });

  it('frame size - an announced oversize header closes before the body arrives', async () => {
    const f = await startGateway();
    const by = await bystanders(f);
    const c = await f.connect('tcp');
    const head = Buffer.alloc(4);
    head.writeUInt32BE(6_145);
    await c.sendRaw(head);
    await c.waitForClose();
    await by.check();
  });

  it('zero-length frame - closes the connection', async () => {
    const f = await startGateway();
    const by = await bystanders(f);
    const c = await f.login(uid('zero'), 'tcp');
    await c.sendRaw(Buffer.alloc(4));
    await c.waitForClose();
    await until(() => !f.gw.hasUser(c.uid!), 'the zero-frame sender to be unregistered');
    await by.check();
  });

  it.each([
    ['raw bytes', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')],
    ['framed non-JSON', Buffer.concat([Buffer.from([0, 0, 0, 9]), Buffer.from('not json!')])],
    ['framed invalid UTF-8', Buffer.concat([Buffer.from([0, 0, 0, 4]), Buffer.from([0xff, 0xfe, 0xc0, 0x80])])],
    ['framed JSON array', Buffer.concat([Buffer.from([0, 0, 0, 2]), Buffer.from('[]')])],
  ] as const)('garbage (%s) - closes the connection; bystanders unaffected', async (_name, bytes) => {
    const f = await startGateway();
    const by = await bystanders(f);
    const c = await f.login(uid('garbage'), 'tcp');
    await c.sendRaw(bytes);
    await c.waitForClose();
    await by.check();
  });

  it('split frames - a frame delivered one byte at a time is reassembled', async () => {
    const f = await startGateway();
    const c = await f.connect('tcp');
    const text = encodePacket(createPacket({ type: PacketType.ECHO, dataContent: 'slow', from: 'x', to: '0' }));
    const frame = Buffer.concat([Buffer.from([0, 0, 0, Buffer.byteLength(text)]), Buffer.from(text)]);
    for (const byte of frame) await c.sendRaw(Buffer.from([byte]));
    const echo = await c.waitForPacket(PacketType.ECHO_RESPONSE);
    expect(echo.dataContent).toBe('slow');
  });
});
