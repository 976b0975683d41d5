import { once } from 'node:events';
import * as http from 'node:http';
import * as net from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  ackPacket,
  decodePacket,
  decodeUtf8,
  encodePacket,
  encodeTcpFrame,
  keepAliveResponsePacket,
  loginResponsePacket,
  parseLoginInfo,
  PacketType,
  TcpFrameDecoder,
  type LoginInfo,
  type Packet,
} from '@switchboard/protocol';

/** firstLoginTime the fake gateway hands to a first login. */
export const FAKE_FIRST_LOGIN_TIME = 1_700_000_000_000;

/** One client connection as the fake gateway sees it. */
export interface FakeConn {
  readonly packets: Packet[];
  readonly closed: boolean;
  send(p: Packet): void;
  /** Close like the gateway does (WS close code + reason; TCP just ends). */
  close(code?: number, reason?: string): void;
  /** Drop the connection without a close handshake (a killed node). */
  terminate(): void;
}

export interface FakeGatewayOptions {
  transport?: 'ws' | 'tcp';
  /** Login response code. @default 0 */
  loginCode?: number;
  /** Answer keepalives with type 51. @default true */
  answerKeepAlive?: boolean;
  /** Ack every QoS data packet at once, as if the receiver acked it. @default true */
  ackData?: boolean;
}

/**
 * An in-process MobileIMSDK-ish gateway for unit tests of the SDK: answers logins and keepalives,
 * acks data packets (configurable), records every packet, and lets a test send packets or drop
 * connections.
 */
export class FakeGateway {
  readonly conns: FakeConn[] = [];
  readonly logins: LoginInfo[] = [];
  loginCode: number;
  /** Decides each login's code instead of `loginCode` when set (a token check). */
  loginCodeFor: ((info: LoginInfo) => number) | null = null;
  answerKeepAlive: boolean;
  ackData: boolean;
  port = 0;
  private wss: WebSocketServer | null = null;
  private tcp: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();

  private constructor(readonly transport: 'ws' | 'tcp', opts: FakeGatewayOptions) {
    this.loginCode = opts.loginCode ?? 0;
    this.answerKeepAlive = opts.answerKeepAlive ?? true;
    this.ackData = opts.ackData ?? true;
  }

  static async start(opts: FakeGatewayOptions = {}): Promise<FakeGateway> {
    const g = new FakeGateway(opts.transport ?? 'ws', opts);
    if (g.transport === 'ws') {
      const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/websocket' });
      await once(wss, 'listening');
      g.wss = wss;
      g.port = (wss.address() as net.AddressInfo).port;
      wss.on('connection', (ws) => g.conns.push(g.wrapWs(ws)));
    } else {
      const tcp = net.createServer((s) => g.conns.push(g.wrapTcp(s)));
      tcp.listen(0, '127.0.0.1');
      await once(tcp, 'listening');
      g.tcp = tcp;
      g.port = (tcp.address() as net.AddressInfo).port;
    }
    return g;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/websocket`;
  }

  /** Every packet received on every connection, optionally of one type. */
  received(type?: number): Packet[] {
    return this.conns.flatMap((c) => c.packets).filter((p) => type === undefined || p.type === type);
  }

  get live(): FakeConn[] {
    return this.conns.filter((c) => !c.closed);
  }

  /** Stop listening and drop every connection (like a SIGKILLed node). */
  async stop(): Promise<void> {
    for (const c of this.conns) c.terminate();
    if (this.wss) await new Promise<void>((r) => this.wss!.close(() => r()));
    if (this.tcp) {
      for (const s of this.sockets) s.destroy();
      await new Promise<void>((r) => this.tcp!.close(() => r()));
    }
  }

  private onPacket(conn: FakeConn, p: Packet): void {
    if (p.type === PacketType.LOGIN) {
      const info = parseLoginInfo(p.dataContent);
      this.logins.push(info);
      const code = this.loginCodeFor ? this.loginCodeFor(info) : this.loginCode;
      const ok = code === 0;
      conn.send(
        loginResponsePacket(ok ? info.loginUserId : '-1', {
          code,
          firstLoginTime: ok ? (info.firstLoginTime > 0 ? info.firstLoginTime : FAKE_FIRST_LOGIN_TIME) : -1,
        }),
      );
      if (!ok) conn.close(4502, 'login failed');
    } else if (p.type === PacketType.KEEPALIVE && this.answerKeepAlive) {
      conn.send(keepAliveResponsePacket(p.from));
    } else if (p.type === PacketType.DATA && p.QoS && p.fp && this.ackData) {
      conn.send(ackPacket(p.to, p.from, p.fp));
    } else if (p.type === PacketType.LOGOUT) {
      conn.close(1000, 'Bye');
    }
  }

  private wrapWs(ws: WebSocket): FakeConn {
    const conn: FakeConn = {
      packets: [],
      get closed() {
        return ws.readyState !== ws.OPEN;
      },
      send: (p) => {
        if (ws.readyState === ws.OPEN) ws.send(encodePacket(p));
      },
      close: (code = 1000, reason = 'Bye') => ws.close(code, reason),
      terminate: () => ws.terminate(),
    };
    ws.on('message', (data) => {
      const p = decodePacket(String(data));
      conn.packets.push(p);
      this.onPacket(conn, p);
    });
    return conn;
  }

  private wrapTcp(socket: net.Socket): FakeConn {
    this.sockets.add(socket);
    let closed = false;
    socket.on('close', () => {
      closed = true;
      this.sockets.delete(socket);
    });
    socket.on('error', () => {});
    const decoder = new TcpFrameDecoder();
    const conn: FakeConn = {
      packets: [],
      get closed() {
        return closed;
      },
      send: (p) => {
        if (!closed) socket.write(encodeTcpFrame(encodePacket(p)));
      },
      close: () => socket.end(),
      terminate: () => socket.destroy(),
    };
    socket.on('data', (chunk: Buffer) => {
      for (const body of decoder.push(chunk)) {
        const p = decodePacket(decodeUtf8(body));
        conn.packets.push(p);
        this.onPacket(conn, p);
      }
    });
    return conn;
  }
}

/** A fake dispatch: `GET /api/dispatch?uid=` names the current target gateway (or fails). */
export class FakeDispatch {
  /** The gateway handed out; null answers 503 "no live gateway". */
  target: FakeGateway | { port: number } | null = null;
  senseMode = '5S';
  requests: string[] = [];
  url = '';
  /** Answers requests to other paths (the user API in tests of history); 404 without it. */
  other: ((req: http.IncomingMessage, res: http.ServerResponse, url: URL) => void) | null = null;
  private server: http.Server | null = null;

  static async start(target: FakeGateway | null): Promise<FakeDispatch> {
    const d = new FakeDispatch();
    d.target = target;
    d.server = http.createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      if (u.pathname !== '/api/dispatch') {
        if (d.other) d.other(req, res, u);
        else res.writeHead(404).end();
        return;
      }
      d.requests.push(u.searchParams.get('uid') ?? '');
      if (!d.target) {
        res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'unavailable', reason: 'no live gateway' }));
        return;
      }
      const port = d.target.port;
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          node: `fake-${port}`,
          ws: `ws://127.0.0.1:${port}/websocket`,
          tcp: { host: '127.0.0.1', port },
          udp: { host: '127.0.0.1', port: 0 },
          senseMode: d.senseMode,
          reconnect: { initialDelayMs: 500, maxDelayMs: 15_000, multiplier: 2, jitter: 0.5 },
        }),
      );
    });
    d.server.listen(0, '127.0.0.1');
    await once(d.server, 'listening');
    d.url = `http://127.0.0.1:${(d.server.address() as net.AddressInfo).port}`;
    return d;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }
}

/** A port nothing listens on (bound then released). */
export async function deadPort(): Promise<number> {
  const s = net.createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
