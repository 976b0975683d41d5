/**
 * Test fixtures for the gateway: an in-process Gateway on port 0 with the in-memory backends,
 * TestClients that are closed after each test, a raw WebSocket client for frames the `ws`
 * library will not write, a raw TCP client, a seeded PRNG and metric readers.
 *
 * Every test file calls `afterEach(cleanup)`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import * as net from 'node:net';
import { pino } from 'pino';
import { LocalBridge, LocalBus, MemoryNodeRegistry, MemoryOfflineStore, MemoryRouteStore } from '@switchboard/cluster';
import { asUserId, newNodeId, silentLogger, waitFor, type Logger } from '@switchboard/core';
import { TcpFrameDecoder, decodePacket, decodeUtf8, encodeTcpFrame, type Packet } from '@switchboard/protocol';
import { TestClient, connectClient, type TestClientOptions, type LoginOptions } from '@switchboard/testkit';
import {
  Gateway,
  createGatewayMetrics,
  createLoginVerifier,
  type GatewayOptions,
  type GatewayMetrics,
  type LoginVerifier,
} from '../src/index.js';

/** Transports the gateway serves to TestClients. */
export type Transport = 'ws' | 'tcp';

/** A logger for tests: silent unless SB_TEST_LOG names a pino level (then to stderr). */
export function testLogger(): Logger {
  const level = process.env['SB_TEST_LOG'];
  return level ? pino({ level }, pino.destination(2)) : silentLogger();
}

export interface GatewayFixtureOptions extends Partial<Omit<GatewayOptions, 'log' | 'routes' | 'offline' | 'nodes' | 'bridge' | 'verifyLogin'>> {
  verifyLogin?: LoginVerifier;
  /** Offline queue capacity. @default 10000 (tests store more than the production default) */
  offlineCapacity?: number;
}

/** One running gateway with its in-memory backends. */
export interface GatewayFixture {
  gw: Gateway;
  routes: MemoryRouteStore;
  offline: MemoryOfflineStore;
  nodes: MemoryNodeRegistry;
  bus: LocalBus;
  bridge: LocalBridge;
  metrics: GatewayMetrics;
  wsPort: number;
  tcpPort: number;
  wsUrl: string;
  tcpUrl: string;
  /** URL of `transport` for a TestClient. */
  url(transport: Transport): string;
  /** A connected (not logged-in) TestClient, closed by `cleanup`. */
  connect(transport: Transport, opts?: Partial<TestClientOptions>): Promise<TestClient>;
  /** A connected and logged-in TestClient (login code 0 or it throws), closed by `cleanup`. */
  login(uid: string, transport: Transport, opts?: Partial<TestClientOptions> & { login?: LoginOptions }): Promise<TestClient>;
  /** Offline queue length of `uid`. */
  offlineCount(uid: string): Promise<number>;
  /** Sum of a metric's values (all label sets), or of those whose labels match `labels`. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
}

const gateways: Gateway[] = [];
const clients: TestClient[] = [];
const cleanups: Array<() => unknown> = [];

/** Track a client so `cleanup` closes it. */
export function track<T extends TestClient>(c: T): T {
  clients.push(c);
  return c;
}

/** Run `fn` in `cleanup` (after clients are closed, before gateways are). */
export function onCleanup(fn: () => unknown): void {
  cleanups.push(fn);
}

/** Close every client, run registered cleanups, close every gateway. Use in `afterEach`. */
export async function cleanup(): Promise<void> {
  await Promise.all(clients.splice(0).map((c) => c.close({ abrupt: true }).catch(() => {})));
  for (const fn of cleanups.splice(0).reverse()) await fn();
  await Promise.all(gateways.splice(0).map((g) => g.close()));
}

/** Start a gateway on 127.0.0.1, ports 0, memory backends, short defaults fit for tests. */
export async function startGateway(opts: GatewayFixtureOptions = {}): Promise<GatewayFixture> {
  const log = testLogger();
  const nodeId = opts.nodeId ?? newNodeId('gwtest');
  const routes = new MemoryRouteStore();
  const offline = new MemoryOfflineStore({ capacity: opts.offlineCapacity ?? 10_000 });
  const nodes = new MemoryNodeRegistry();
  const bus = new LocalBus();
  const bridge = new LocalBridge(bus, nodeId);
  const metrics = opts.metrics ?? createGatewayMetrics({ defaultMetrics: false });
  const { offlineCapacity: _cap, verifyLogin, ...rest } = opts;
  const gw = new Gateway({
    senseMode: '15S',
    custodyResendMs: 500,
    custodyGiveUpMs: 1_000,
    drainTimeoutMs: 2_000,
    ...rest,
    nodeId,
    log,
    routes,
    offline,
    nodes,
    bridge,
    metrics,
    wsPort: opts.wsPort ?? 0,
    tcpPort: opts.tcpPort === undefined ? 0 : opts.tcpPort,
    verifyLogin: verifyLogin ?? createLoginVerifier({ mode: 'none', log }),
  });
  gateways.push(gw);
  const ports = await gw.start();
  const wsUrl = `ws://127.0.0.1:${ports.ws}/websocket`;
  const tcpUrl = `tcp://127.0.0.1:${ports.tcp}`;
  const url = (t: Transport) => (t === 'ws' ? wsUrl : tcpUrl);
  return {
    gw,
    routes,
    offline,
    nodes,
    bus,
    bridge,
    metrics,
    wsPort: ports.ws,
    tcpPort: ports.tcp,
    wsUrl,
    tcpUrl,
    url,
    async connect(transport, copts = {}) {
      const c = track(new TestClient({ url: url(transport), ...copts }));
      await c.connect();
      return c;
    },
    async login(uid, transport, lopts = {}) {
      const { login, ...copts } = lopts;
      return track(await connectClient({ url: url(transport), ...copts, uid, ...(login ? { login } : {}) }));
    },
    offlineCount: (uid) => offline.count(asUserId(uid)),
    metric: (name, labels) => metricValue(metrics, name, labels),
  };
}

/** Sum of a metric's values in `m`'s registry, optionally only label sets that match `labels`. */
export async function metricValue(m: GatewayMetrics, name: string, labels?: Record<string, string>): Promise<number> {
  const metric = m.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const data = await metric.get();
  let sum = 0;
  for (const v of data.values) {
    if (labels && !Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want)) continue;
    sum += v.value;
  }
  return sum;
}

/** A unique-enough user id for one test. */
export function uid(name: string): string {
  return `${name}-${randomBytes(3).toString('hex')}`;
}

/** Resolve after `ms`. Only to prove that something does NOT happen within a window. */
export function quietWindow(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Type-2 packets on the wire (duplicates included) that carry `fp`. */
export function wireCopies(c: TestClient, fp: string): number {
  return c.packets.filter((p) => p.type === 2 && p.fp === fp).length;
}

/** Wait until `check()` is true (polling), with a descriptive timeout. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  await waitFor(async () => ((await check()) ? true : undefined), { timeoutMs, what, intervalMs: 10 });
}

/** Seeded PRNG (mulberry32): the fuzz and flood inputs are reproducible from the seed. */
export function prng(seed: number): { next(): number; int(max: number): number; pick<T>(xs: readonly T[]): T; bytes(n: number): Buffer } {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (max: number) => Math.floor(next() * max);
  return {
    next,
    int,
    pick: <T>(xs: readonly T[]) => xs[int(xs.length)]!,
    bytes: (n: number) => {
      const b = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i++) b[i] = int(256);
      return b;
    },
  };
}

// ------------------------------------------------------------------ raw WebSocket

/** Encode one client→server WebSocket frame (always masked, as RFC 6455 requires of clients). */
export function wsFrame(opcode: number, payload: Buffer | string, fin = true): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const len = body.length;
  const head: number[] = [(fin ? 0x80 : 0) | (opcode & 0x0f)];
  if (len < 126) head.push(0x80 | len);
  else if (len < 65_536) head.push(0x80 | 126, len >> 8, len & 0xff);
  else {
    head.push(0x80 | 127, 0, 0, 0, 0);
    head.push((len >>> 24) & 0xff, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff);
  }
  const mask = randomBytes(4);
  const masked = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) masked[i] = body[i]! ^ mask[i & 3]!;
  return Buffer.concat([Buffer.from(head), mask, masked]);
}

/** A minimal WebSocket client on a raw socket: sends any frame, records server frames and the close. */
export class RawWsClient {
  readonly texts: string[] = [];
  closeCode: number | null = null;
  ended = false;
  private buf = Buffer.alloc(0);

  private constructor(
    readonly socket: net.Socket,
    readonly response: { status: number; headers: Record<string, string> },
  ) {
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('close', () => (this.ended = true));
    socket.on('error', () => {});
  }

  /**
   * Open a TCP connection and send an upgrade request for `path`. Resolves once the HTTP answer
   * head arrived (whatever its status) or the socket ended without one (status 0).
   */
  static async open(port: number, path: string, extraHeaders: Record<string, string> = {}): Promise<RawWsClient> {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('error', () => {});
    await once(socket, 'connect');
    const key = randomBytes(16).toString('base64');
    const headers = {
      Host: `127.0.0.1:${port}`,
      Upgrade: 'websocket',
      Connection: 'Upgrade',
      'Sec-WebSocket-Key': key,
      'Sec-WebSocket-Version': '13',
      ...extraHeaders,
    };
    socket.write(`GET ${path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`);
    let acc = Buffer.alloc(0);
    const head = await new Promise<{ status: number; headers: Record<string, string>; rest: Buffer }>((resolve) => {
      const onData = (d: Buffer) => {
        acc = Buffer.concat([acc, d]);
        const end = acc.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        socket.off('close', onClose);
        const lines = acc.subarray(0, end).toString('latin1').split('\r\n');
        const status = Number(lines[0]?.split(' ')[1] ?? 0);
        const h: Record<string, string> = {};
        for (const l of lines.slice(1)) {
          const i = l.indexOf(':');
          if (i > 0) h[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
        }
        resolve({ status, headers: h, rest: acc.subarray(end + 4) });
      };
      const onClose = () => resolve({ status: 0, headers: {}, rest: Buffer.alloc(0) });
      socket.on('data', onData);
      socket.once('close', onClose);
    });
    if (head.status === 101) {
      const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
      if (head.headers['sec-websocket-accept'] !== accept) throw new Error('bad Sec-WebSocket-Accept');
    }
    const c = new RawWsClient(socket, { status: head.status, headers: head.headers });
    if (socket.destroyed) c.ended = true;
    if (head.rest.length) c.onData(head.rest);
    return c;
  }

  send(frame: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(frame);
  }

  sendText(text: string): void {
    this.send(wsFrame(0x1, text));
  }

  /** Wait until the server closed the WebSocket (close frame) or the socket ended. */
  async waitForEnd(timeoutMs = 5_000): Promise<void> {
    await until(() => this.ended || this.closeCode !== null, 'the raw WebSocket to be closed by the server', timeoutMs);
  }

  /** Wait for a server text frame that decodes as a packet matching `pred`. */
  async waitForPacket(pred: (p: Packet) => boolean, timeoutMs = 5_000): Promise<Packet> {
    let found: Packet | undefined;
    await until(
      () => {
        for (const t of this.texts) {
          const p = decodePacket(t);
          if (pred(p)) {
            found = p;
            return true;
          }
        }
        return false;
      },
      'a packet on the raw WebSocket',
      timeoutMs,
    );
    return found!;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      if (this.buf.length < 2) return;
      const b0 = this.buf[0]!;
      let len = this.buf[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (this.buf.length < 4) return;
        len = this.buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return;
        len = Number(this.buf.readBigUInt64BE(2));
        off = 10;
      }
      if (this.buf.length < off + len) return;
      const payload = this.buf.subarray(off, off + len);
      this.buf = this.buf.subarray(off + len);
      const opcode = b0 & 0x0f;
      if (opcode === 0x1) this.texts.push(payload.toString('utf8'));
      else if (opcode === 0x8) this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
    }
  }
}

// ------------------------------------------------------------------ raw TCP

/** A MobileIMSDK TCP client on a bare socket, for tests that must control reading (pause) or bytes. */
export class RawTcpClient {
  readonly packets: Packet[] = [];
  ended = false;
  private readonly decoder = new TcpFrameDecoder(1 << 24);

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      for (const body of this.decoder.push(d)) this.packets.push(decodePacket(decodeUtf8(body)));
    });
    socket.on('close', () => (this.ended = true));
    socket.on('error', () => {});
  }

  static async open(port: number): Promise<RawTcpClient> {
    const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
    socket.on('error', () => {});
    await once(socket, 'connect');
    return new RawTcpClient(socket);
  }

  sendText(text: string): void {
    this.socket.write(encodeTcpFrame(text));
  }

  async waitForPacket(pred: (p: Packet) => boolean, timeoutMs = 5_000): Promise<Packet> {
    let found: Packet | undefined;
    await until(() => (found = this.packets.find(pred)) !== undefined, 'a packet on the raw TCP socket', timeoutMs);
    return found!;
  }

  destroy(): void {
    this.socket.destroy();
  }
}
