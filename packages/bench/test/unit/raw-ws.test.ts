import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createHash } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import { TimeoutError, UnavailableError } from '@switchboard/core';
import { openConn } from '../../src/conn/connection.js';
import type { Conn } from '../../src/conn/types.js';
import {
  FrameReader,
  Opcode,
  RAW_WS_MAX_PAYLOAD,
  checkUpgradeAnswer,
  encodeClientFrame,
  openRawWs,
  rawWsHandshake,
  type FrameSink,
} from '../../src/conn/raw-ws.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** A `ws` server on port 0; `connections` yields each server-side socket as it opens. */
async function wsServer(opts: { echo?: boolean; path?: string } = {}) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 4 << 20, ...(opts.path ? { path: opts.path } : {}) });
  const sockets: WebSocket[] = [];
  const waiting: Array<(ws: WebSocket) => void> = [];
  wss.on('connection', (ws) => {
    if (opts.echo) ws.on('message', (d, isBinary) => ws.send(d, { binary: isBinary }));
    const w = waiting.shift();
    if (w) w(ws);
    else sockets.push(ws);
  });
  await new Promise((r) => wss.once('listening', r));
  cleanup.push(
    () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => r());
      }),
  );
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}${opts.path ?? '/websocket'}`;
  const next = (): Promise<WebSocket> => {
    const s = sockets.shift();
    return s ? Promise.resolve(s) : new Promise((r) => waiting.push(r));
  };
  return { wss, url, next };
}

/** A plain TCP server whose every connection is handed to `onConn`; its ws:// URL. */
async function netServer(onConn: (s: Socket) => void): Promise<{ srv: Server; url: string; port: number }> {
  const socks = new Set<Socket>();
  const srv = createServer((s) => {
    socks.add(s);
    s.on('error', () => {});
    s.on('close', () => socks.delete(s));
    onConn(s);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  cleanup.push(
    () =>
      new Promise<void>((r) => {
        for (const s of socks) s.destroy();
        srv.close(() => r());
      }),
  );
  const port = (srv.address() as AddressInfo).port;
  return { srv, url: `ws://127.0.0.1:${port}/websocket`, port };
}

/** Read the request header of a raw connection (until CRLF CRLF), then call `fn` with it. */
function onRequest(s: Socket, fn: (head: string) => void): void {
  let got = '';
  const onData = (d: Buffer) => {
    got += d.toString('latin1');
    const end = got.indexOf('\r\n\r\n');
    if (end < 0) return;
    s.off('data', onData);
    fn(got.slice(0, end));
  };
  s.on('data', onData);
}

function acceptOf(key: string): string {
  return createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
}

/** An unmasked server frame. */
function serverFrame(opcode: number, payload: Buffer | string, opts: { fin?: boolean; mask?: boolean; rsv?: number } = {}): Buffer {
  const p = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const len = p.length;
  const hdr = len < 126 ? 2 : len < 65_536 ? 4 : 10;
  const maskLen = opts.mask ? 4 : 0;
  const out = Buffer.alloc(hdr + maskLen + len);
  out[0] = ((opts.fin ?? true) ? 0x80 : 0) | (opts.rsv ?? 0) | opcode;
  if (len < 126) out[1] = len;
  else if (len < 65_536) {
    out[1] = 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 127;
    out.writeBigUInt64BE(BigInt(len), 2);
  }
  if (opts.mask) out[1] = out[1]! | 0x80; // mask key 0: payload unchanged
  p.copy(out, hdr + maskLen);
  return out;
}

/** A sink collecting every frame (payloads copied). */
function collector(): FrameSink & { frames: Array<[number, string]> } {
  const frames: Array<[number, string]> = [];
  return {
    frames,
    frame(op, payload) {
      frames.push([op, payload.toString('utf8')]);
      return true;
    },
  };
}

function nextText(c: Conn): Promise<string> {
  return new Promise((r) => c.onText(r));
}

async function until(cond: () => boolean, ms = 2_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('raw WebSocket client against a ws server', () => {
  it('handshake - open, kind ws, the request the ws server accepts; openConn picks it with wsClient raw', async () => {
    const srv = await wsServer();
    let seen: Record<string, string | string[] | undefined> = {};
    srv.wss.on('headers', (_h, req) => (seen = req.headers));
    const c = await openRawWs(srv.url, 2_000);
    cleanup.push(() => c.close());
    expect(c.kind).toBe('ws');
    expect(c.open).toBe(true);
    expect(seen['sec-websocket-key']).toBe(rawWsHandshake.key);
    expect(seen['host']).toBe(new URL(srv.url).host);
    expect(acceptOf(rawWsHandshake.key)).toBe(rawWsHandshake.accept);
    const c2 = await openConn({ kind: 'ws', url: srv.url }, 2_000, 'raw');
    cleanup.push(() => c2.close());
    expect(c2.constructor).toBe(c.constructor);
    const c3 = await openConn({ kind: 'ws', url: srv.url }, 2_000);
    cleanup.push(() => c3.close());
    expect(c3.constructor).not.toBe(c.constructor); // the ws library stays the default
  });

  it('text both ways - lengths 0, 125, 126, 65535, 65536, 200 KB and unicode', async () => {
    const srv = await wsServer({ echo: true });
    const c = await openRawWs(srv.url, 2_000);
    cleanup.push(() => c.close());
    const server = await srv.next();
    const texts = [0, 1, 125, 126, 127, 65_535, 65_536, 200 * 1024].map((n) => 'x'.repeat(n));
    texts.push('héllo wörld — 世界 🌍'.repeat(3), '🌍'.repeat(40_000));
    for (const t of texts) {
      const back = nextText(c);
      c.send(t);
      expect(await back).toBe(t);
    }
    // Server → client on its own, and the server saw exactly what was sent.
    const got: string[] = [];
    c.onText((t) => got.push(t));
    const received: string[] = [];
    server.removeAllListeners('message');
    server.on('message', (d) => received.push(String(d)));
    for (const t of texts) server.send(t);
    c.send('π');
    await until(() => got.length === texts.length && received.length === 1);
    expect(got).toEqual(texts);
    expect(received).toEqual(['π']);
  });

  it('many frames in one chunk (200 sends corked into one write)', async () => {
    const srv = await wsServer();
    srv.wss.on('connection', (ws) => {
      // Corked: the 101 went out already; these leave as one write.
      const sock = (ws as unknown as { _socket: Socket })._socket;
      sock.cork();
      for (let i = 0; i < 200; i++) ws.send(`m${i}`);
      process.nextTick(() => sock.uncork());
    });
    const c = await openRawWs(srv.url, 2_000);
    cleanup.push(() => c.close());
    const got: string[] = [];
    c.onText((t) => got.push(t));
    await until(() => got.length === 200);
    expect(got).toEqual(Array.from({ length: 200 }, (_, i) => `m${i}`));
  });

  it('server ping - answered with a pong carrying the same payload', async () => {
    const srv = await wsServer();
    const c = await openRawWs(srv.url, 2_000);
    cleanup.push(() => c.close());
    const server = await srv.next();
    const pong = new Promise<string>((r) => server.once('pong', (d) => r(String(d))));
    server.ping('are you there');
    expect(await pong).toBe('are you there');
    expect(c.open).toBe(true);
  });

  it('server close - the close is answered with its code, onClose fires once', async () => {
    const srv = await wsServer();
    const c = await openRawWs(srv.url, 2_000);
    const server = await srv.next();
    let closes = 0;
    c.onClose(() => closes++);
    const serverSaw = new Promise<number>((r) => server.once('close', (code) => r(code)));
    server.close(4001, 'bye');
    expect(await serverSaw).toBe(4001);
    await until(() => closes === 1);
    expect(c.open).toBe(false);
    c.close();
    c.send('dropped');
    await new Promise((r) => setTimeout(r, 50));
    expect(closes).toBe(1);
  });

  it('server drops the TCP connection - onClose fires once', async () => {
    const srv = await wsServer();
    const c = await openRawWs(srv.url, 2_000);
    const server = await srv.next();
    let closes = 0;
    c.onClose(() => closes++);
    server.terminate();
    await until(() => closes === 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(closes).toBe(1);
  });

  it('client close - the server sees close code 1000; onClose fires once, at once', async () => {
    const srv = await wsServer();
    const c = await openRawWs(srv.url, 2_000);
    const server = await srv.next();
    let closes = 0;
    c.onClose(() => closes++);
    const serverSaw = new Promise<number>((r) => server.once('close', (code) => r(code)));
    c.close();
    expect(closes).toBe(1);
    expect(c.open).toBe(false);
    expect(await serverSaw).toBe(1000);
    c.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(closes).toBe(1);
  });

  it('binary frame from the server - protocol error: close 1002, onClose', async () => {
    const srv = await wsServer();
    const c = await openRawWs(srv.url, 2_000);
    const server = await srv.next();
    let closes = 0;
    c.onClose(() => closes++);
    const serverSaw = new Promise<number>((r) => server.once('close', (code) => r(code)));
    server.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(await serverSaw).toBe(1002);
    await until(() => closes === 1);
  });

  it('a path the server does not serve - rejected with the status line', async () => {
    const srv = await wsServer({ path: '/websocket' });
    const err = await rejection(openRawWs(srv.url.replace('/websocket', '/other'), 2_000));
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.message).toMatch(/refused: HTTP\/1\.1 400 Bad Request/);
  });
});

describe('raw WebSocket client against hand-made servers', () => {
  it('404 - rejected with UnavailableError carrying the status line', async () => {
    const { url } = await netServer((s) => onRequest(s, () => s.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')));
    const err = await rejection(openRawWs(url, 2_000));
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.message).toContain('HTTP/1.1 404 Not Found');
  });

  it('wrong Sec-WebSocket-Accept on a 101 - rejected', async () => {
    const { url } = await netServer((s) =>
      onRequest(s, () => s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n')),
    );
    const err = await rejection(openRawWs(url, 2_000));
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.message).toMatch(/bad handshake: Sec-WebSocket-Accept "dGhlIHNhbXBsZSBub25jZQ=="/);
  });

  it('answer header split byte by byte, the first frames in its last piece', async () => {
    const { url } = await netServer((s) =>
      onRequest(s, (head) => {
        const key = /sec-websocket-key: *(\S+)/i.exec(head)![1]!;
        expect(head.split('\r\n')[0]).toBe('GET /websocket HTTP/1.1');
        const answer = Buffer.from(`HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\nconnection: keep-alive, Upgrade\r\nsec-websocket-accept: ${acceptOf(key)}\r\n\r\n`);
        const all = Buffer.concat([answer, serverFrame(Opcode.TEXT, 'first'), serverFrame(Opcode.TEXT, 'x'.repeat(300))]);
        let i = 0;
        const drip = () => {
          if (s.destroyed) return;
          // Byte by byte up to the end of the header; the rest (two frames) in one piece.
          if (i < answer.length - 1) {
            s.write(all.subarray(i, i + 1));
            i++;
            setImmediate(drip);
          } else s.write(all.subarray(i));
        };
        drip();
      }),
    );
    const c = await openRawWs(url, 2_000);
    cleanup.push(() => c.close());
    const got: string[] = [];
    c.onText((t) => got.push(t)); // texts that came with the 101 wait for the handler
    await until(() => got.length === 2);
    expect(got).toEqual(['first', 'x'.repeat(300)]);
  });

  it('extensions the client did not ask for - rejected', () => {
    expect(checkUpgradeAnswer(`HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${rawWsHandshake.accept}`)).toBeNull();
    expect(
      checkUpgradeAnswer(`HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${rawWsHandshake.accept}\r\nSec-WebSocket-Extensions: permessage-deflate`),
    ).toMatch(/sec-websocket-extensions/);
    expect(checkUpgradeAnswer(`HTTP/1.1 101 OK\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${rawWsHandshake.accept}`)).toMatch(/Upgrade: websocket/);
    expect(checkUpgradeAnswer('HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1')).toBe('refused: HTTP/1.1 503 Service Unavailable');
  });

  it('no answer - TimeoutError after the timeout, socket dropped', async () => {
    let closed = false;
    const { url } = await netServer((s) => {
      s.resume(); // reading, so the client's FIN is seen
      s.on('close', () => (closed = true));
    });
    const t0 = performance.now();
    const err = await rejection(openRawWs(url, 300));
    expect(err).toBeInstanceOf(TimeoutError);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
    await until(() => closed);
  });

  it('connection refused - UnavailableError with the ECONNREFUSED cause; wss:// refused as not spoken', async () => {
    const { srv, port } = await netServer(() => {});
    await new Promise<void>((r) => srv.close(() => r()));
    const err = await rejection(openRawWs(`ws://127.0.0.1:${port}/websocket`, 2_000));
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err.cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    expect((await rejection(openRawWs('wss://127.0.0.1:1/websocket', 2_000))).message).toMatch(/ws:\/\/ only/);
  });

  it('server closes during the handshake - UnavailableError', async () => {
    const { url } = await netServer((s) => onRequest(s, () => s.end('HTTP/1.1 101 Switching')));
    const err = await rejection(openRawWs(url, 2_000));
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.message).toMatch(/closed during the handshake/);
  });
});

describe('FrameReader', () => {
  const frames = [
    serverFrame(Opcode.TEXT, ''),
    serverFrame(Opcode.TEXT, 'hello'),
    serverFrame(Opcode.PING, 'p'),
    serverFrame(Opcode.TEXT, 'é'.repeat(100)), // 200 bytes: 16-bit length
    serverFrame(Opcode.TEXT, 'y'.repeat(70_000)), // 64-bit length
    serverFrame(Opcode.PONG, ''),
    serverFrame(Opcode.CLOSE, Buffer.from([0x03, 0xe8])),
  ];
  const expected: Array<[number, string]> = [
    [Opcode.TEXT, ''],
    [Opcode.TEXT, 'hello'],
    [Opcode.PING, 'p'],
    [Opcode.TEXT, 'é'.repeat(100)],
    [Opcode.TEXT, 'y'.repeat(70_000)],
    [Opcode.PONG, ''],
    [Opcode.CLOSE, Buffer.from([0x03, 0xe8]).toString('utf8')],
  ];
  const all = Buffer.concat(frames);

  it('many frames in one chunk', () => {
    const sink = collector();
    const r = new FrameReader(sink);
    expect(r.push(all)).toBeNull();
    expect(sink.frames).toEqual(expected);
    expect(r.pendingBytes).toBe(0);
  });

  it('frames split byte by byte (headers of every length form split too)', () => {
    const sink = collector();
    const r = new FrameReader(sink);
    for (let i = 0; i < all.length; i++) expect(r.push(all.subarray(i, i + 1))).toBeNull();
    expect(sink.frames).toEqual(expected);
    expect(r.pendingBytes).toBe(0);
  });

  it('frames split at every offset into two chunks', () => {
    const small = Buffer.concat([serverFrame(Opcode.TEXT, 'a'), serverFrame(Opcode.TEXT, 'b'.repeat(300)), serverFrame(Opcode.TEXT, 'c')]);
    for (let cut = 0; cut <= small.length; cut++) {
      const sink = collector();
      const r = new FrameReader(sink);
      expect(r.push(small.subarray(0, cut))).toBeNull();
      expect(r.push(small.subarray(cut))).toBeNull();
      expect(sink.frames.map((f) => f[1])).toEqual(['a', 'b'.repeat(300), 'c']);
    }
  });

  it('the sink can stop reading: the rest of the chunk is dropped', () => {
    const seen: number[] = [];
    const r = new FrameReader({ frame: (op) => (seen.push(op), op !== Opcode.CLOSE) });
    expect(r.push(Buffer.concat([serverFrame(Opcode.CLOSE, ''), serverFrame(Opcode.TEXT, 'late')]))).toBeNull();
    expect(seen).toEqual([Opcode.CLOSE]);
  });

  it.each([
    ['masked', serverFrame(Opcode.TEXT, 'x', { mask: true }), /masked/],
    ['binary', serverFrame(Opcode.BINARY, 'x'), /binary/],
    ['continuation', serverFrame(0, 'x'), /continuation/],
    ['fragmented text', serverFrame(Opcode.TEXT, 'x', { fin: false }), /fragmented/],
    ['fragmented ping', serverFrame(Opcode.PING, 'x', { fin: false }), /fragmented control/],
    ['reserved bits', serverFrame(Opcode.TEXT, 'x', { rsv: 0x40 }), /reserved/],
    ['unknown opcode', serverFrame(3, 'x'), /opcode 3/],
    ['long ping', serverFrame(Opcode.PING, 'x'.repeat(126)), /125/],
  ])('protocol error - %s', (_name, frame, msg) => {
    const r = new FrameReader(collector());
    expect(r.push(frame)).toMatch(msg);
  });

  it('over 1 MiB - refused from the header alone; exactly 1 MiB accepted', () => {
    const head = Buffer.alloc(10);
    head[0] = 0x81;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(RAW_WS_MAX_PAYLOAD + 1), 2);
    expect(new FrameReader(collector()).push(head)).toMatch(/over the 1048576-byte limit/);
    head.writeBigUInt64BE(2n ** 40n, 2);
    expect(new FrameReader(collector()).push(head)).toMatch(/limit/);
    const sink = collector();
    expect(new FrameReader(sink).push(serverFrame(Opcode.TEXT, 'z'.repeat(RAW_WS_MAX_PAYLOAD)))).toBeNull();
    expect(sink.frames[0]![1].length).toBe(RAW_WS_MAX_PAYLOAD);
  });

  it('encodeClientFrame - masked, lengths in the 7-, 16- and 64-bit forms, unmasks to the payload', () => {
    for (const n of [0, 125, 126, 65_535, 65_536]) {
      const f = encodeClientFrame(Opcode.TEXT, 'q'.repeat(n));
      expect(f[0]).toBe(0x81);
      expect(f[1]! & 0x80).toBe(0x80);
      const len7 = f[1]! & 0x7f;
      const hdr = n < 126 ? 2 : n < 65_536 ? 4 : 10;
      expect(len7).toBe(n < 126 ? n : n < 65_536 ? 126 : 127);
      const len = n < 126 ? len7 : n < 65_536 ? f.readUInt16BE(2) : Number(f.readBigUInt64BE(2));
      expect(len).toBe(n);
      const mask = f.subarray(hdr, hdr + 4);
      const body = Buffer.from(f.subarray(hdr + 4));
      for (let i = 0; i < body.length; i++) body[i] = body[i]! ^ mask[i & 3]!;
      expect(body.toString()).toBe('q'.repeat(n));
    }
  });
});
