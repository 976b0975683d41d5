import { once } from 'node:events';
import * as net from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  decodePacket,
  decodeUtf8,
  encodePacket,
  encodeTcpFrame,
  keepAliveResponsePacket,
  loginResponsePacket,
  parseLoginInfo,
  PacketType,
  TcpFrameDecoder,
  type Packet,
} from '@switchboard/protocol';
import { waitFor } from '@switchboard/core';

/** firstLoginTime the fake server hands out. */
export const FAKE_LOGIN_TIME = 1_700_000_000_000;

/** One accepted connection of the fake server: what it received, and ways to answer. */
export interface FakeConn {
  /** Text of every packet received, in order. */
  readonly frames: string[];
  /** Raw bytes received (TCP only). */
  readonly bytes: Buffer[];
  /** Binary frames received (WS only). */
  readonly binaryFrames: Buffer[];
  packets(): Packet[];
  /** Send one packet (text frame, or framed TCP body). */
  send(p: Packet | string): void;
  /** Write raw bytes (TCP only). */
  write(buf: Buffer): void;
  close(code?: number, reason?: string): void;
  waitForFrames(n: number): Promise<string[]>;
}

/** A tiny MobileIMSDK-ish server: answers login (code 0) and keepalive, records everything else. */
export class FakeServer {
  readonly conns: FakeConn[] = [];
  url = '';
  private wss: WebSocketServer | null = null;
  private tcp: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();

  private constructor(readonly transport: 'ws' | 'tcp', private readonly autoAnswer: boolean) {}

  static async start(transport: 'ws' | 'tcp', opts: { autoAnswer?: boolean } = {}): Promise<FakeServer> {
    const s = new FakeServer(transport, opts.autoAnswer ?? true);
    if (transport === 'ws') {
      const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/websocket' });
      await once(wss, 'listening');
      s.wss = wss;
      const addr = wss.address() as net.AddressInfo;
      s.url = `ws://127.0.0.1:${addr.port}/websocket`;
      wss.on('connection', (ws) => s.conns.push(s.wrapWs(ws)));
    } else {
      const tcp = net.createServer((socket) => s.conns.push(s.wrapTcp(socket)));
      tcp.listen(0, '127.0.0.1');
      await once(tcp, 'listening');
      s.tcp = tcp;
      s.url = `tcp://127.0.0.1:${(tcp.address() as net.AddressInfo).port}`;
    }
    return s;
  }

  async conn(i = 0): Promise<FakeConn> {
    return waitFor(() => this.conns[i], { what: `connection ${i}` });
  }

  async close(): Promise<void> {
    if (this.wss) {
      for (const c of this.wss.clients) c.terminate();
      await new Promise<void>((resolve) => this.wss!.close(() => resolve()));
    }
    if (this.tcp) {
      for (const socket of this.sockets) socket.destroy();
      await new Promise<void>((resolve) => this.tcp!.close(() => resolve()));
    }
  }

  private answer(conn: FakeConn, text: string): void {
    if (!this.autoAnswer) return;
    let p: Packet;
    try {
      p = decodePacket(text);
    } catch {
      return; // garbage sent on purpose by a test
    }
    if (p.type === PacketType.LOGIN) {
      const info = parseLoginInfo(p.dataContent);
      const ft = info.firstLoginTime > 0 ? info.firstLoginTime : FAKE_LOGIN_TIME;
      conn.send(loginResponsePacket(info.loginUserId, { code: 0, firstLoginTime: ft }));
    } else if (p.type === PacketType.KEEPALIVE) {
      conn.send(keepAliveResponsePacket(p.from));
    } else if (p.type === PacketType.LOGOUT) {
      conn.close(1000, 'Bye');
    }
  }

  private wrapWs(ws: WebSocket): FakeConn {
    const conn: FakeConn = {
      frames: [],
      bytes: [],
      binaryFrames: [],
      packets: () => conn.frames.map(decodePacket),
      send: (p) => ws.send(typeof p === 'string' ? p : encodePacket(p)),
      write: () => {
        throw new Error('write() is TCP only');
      },
      close: (code = 1000, reason = 'Bye') => ws.close(code, reason),
      waitForFrames: (n) => waitFor(() => (conn.frames.length >= n ? conn.frames : undefined), { what: `${n} frames` }),
    };
    ws.on('message', (data, isBinary) => {
      const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      if (isBinary) {
        conn.binaryFrames.push(buf);
        return;
      }
      const text = buf.toString('utf8');
      conn.frames.push(text);
      this.answer(conn, text);
    });
    return conn;
  }

  private wrapTcp(socket: net.Socket): FakeConn {
    const decoder = new TcpFrameDecoder(1 << 20);
    const conn: FakeConn = {
      frames: [],
      bytes: [],
      binaryFrames: [],
      packets: () => conn.frames.map(decodePacket),
      send: (p) => socket.write(encodeTcpFrame(typeof p === 'string' ? p : encodePacket(p))),
      write: (buf) => socket.write(buf),
      close: () => socket.end(),
      waitForFrames: (n) => waitFor(() => (conn.frames.length >= n ? conn.frames : undefined), { what: `${n} frames` }),
    };
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => {}); // resets from abrupt client closes are expected here
    socket.on('data', (chunk: Buffer) => {
      conn.bytes.push(chunk);
      let bodies: Buffer[];
      try {
        bodies = decoder.push(chunk);
      } catch {
        return; // tests that send garbage inspect conn.bytes instead
      }
      for (const b of bodies) {
        const text = decodeUtf8(b);
        conn.frames.push(text);
        this.answer(conn, text);
      }
    });
    return conn;
  }
}
