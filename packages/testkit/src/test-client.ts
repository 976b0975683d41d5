import type * as net from 'node:net';
import { WebSocket } from 'ws';
import {
  ackPacket,
  createPacket,
  dataPacket,
  decodePacket,
  encodeTcpFrame,
  keepAlivePacket,
  parseErrorResponse,
  parseKickoutInfo,
  parseLoginResponse,
  PacketType,
  SERVER_UID,
  UNSET_UID,
  type ErrorResponse,
  type KickoutInfo,
  type LoginResponse,
  type Packet,
} from '@switchboard/protocol';
import { ImError, ImErrorCode, InvalidArgumentError, newFingerprint, TimeoutError } from '@switchboard/core';
import { DEFAULT_CLIENT_CLOSE_GRACE_MS, DEFAULT_CLIENT_MAX_TCP_BODY_BYTES, DEFAULT_CLIENT_TIMEOUT_MS } from './defaults.js';
import type { CloseInfo, CloseOptions, HistoryWaitOptions, LoginOptions, SendOptions, TestClientOptions, TestTransport, WaitOptions } from './test-client-types.js';
import { asError, describe, describeClose, now, openTcp, openWs, resolveEndpoint, type SocketHandlers } from './test-client-io.js';
import { scanner, WaitSet } from './waiters.js';
import { encodeLoginInfoWithShape, encodeWithShape, type WireShape } from './wire-shape.js';

export type {
  TestTransport,
  TestClientOptions,
  WaitOptions,
  HistoryWaitOptions,
  LoginOptions,
  SendOptions,
  CloseOptions,
  CloseInfo,
} from './test-client-types.js';

/**
 * A real MobileIMSDK v6 client for tests, over WebSocket or TCP.
 *
 * It behaves like the official clients where tests depend on it: it acks every incoming QoS packet
 * (unless `autoAck` is off), drops duplicate fingerprints of incoming data (counted in `duplicates`,
 * acked again, not surfaced), and writes frames in the Java (Gson) or H5 shape. It does not send
 * keepalives or reconnect on its own: tests drive those explicitly.
 *
 * Every wait has a timeout and rejects with a `TimeoutError` whose message names the client, what it
 * waited for and what it received. Waits that cannot succeed any more because the connection closed
 * reject at once. Timers are always cleared; `close()` is idempotent.
 */
export class TestClient {
  readonly transport: TestTransport;
  /** The URL connected to (`tcp://host:port` for TCP). */
  readonly url: string;
  readonly shape: WireShape;
  /** Default wait timeout in ms. */
  readonly timeoutMs: number;
  /** Ack incoming QoS packets. May be flipped at any time. */
  autoAck: boolean;

  /** Every packet received, in order. */
  readonly packets: Packet[] = [];
  /** Raw text of every packet in `packets`, same index. */
  readonly frames: string[] = [];
  /** Delivered type-2 packets after fingerprint dedupe, in order. */
  readonly messages: Packet[] = [];
  /** Fingerprints acked to this client (type 4 `dataContent`), in order, repeats included. */
  readonly acks: string[] = [];
  /** Parsed type-52 error packets. */
  readonly errors: ErrorResponse[] = [];
  /** Parsed type-54 kickouts. */
  readonly kickouts: KickoutInfo[] = [];
  /** Parsed type-50 login responses. */
  readonly loginResponses: LoginResponse[] = [];
  /** Undecodable frames, socket errors and failed writes: things a real client would log. */
  readonly transportErrors: Error[] = [];
  /** fp → time (epoch ms, sub-ms precision) this client first sent it. */
  readonly sentAt = new Map<string, number>();
  /** fp → time the first ack for it arrived. */
  readonly ackedAt = new Map<string, number>();
  /** fp → time a QoS message with it was first delivered to this client. */
  readonly deliveredAt = new Map<string, number>();
  /** Type-2 QoS packets whose fp was already delivered (wire duplicates). */
  duplicates = 0;
  /** Type-51 keepalive responses received. */
  keepAliveResponses = 0;
  /** Acks this client sent. */
  acksSent = 0;

  /** uid of the last successful login, else null. */
  uid: string | null = null;
  /** `firstLoginTime` the server returned on the first successful login (0 before), as real clients keep it. */
  firstLoginTime = 0;
  /** How the connection ended; null while open or never opened. */
  closeInfo: CloseInfo | null = null;

  private readonly name: string | undefined;
  private readonly maxTcpBodyBytes: number;
  private readonly seenFps = new Set<string>();
  private readonly waiters = new WaitSet();
  private ws: WebSocket | null = null;
  private socket: net.Socket | null = null;
  private connecting: Promise<void> | null = null;
  private everConnected = false;
  private closeGraceTimer: NodeJS.Timeout | null = null;

  constructor(opts: TestClientOptions) {
    const { transport, url } = resolveEndpoint(opts);
    this.transport = transport;
    this.url = url;
    this.shape = opts.shape ?? 'java';
    this.autoAck = opts.autoAck ?? true;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_CLIENT_TIMEOUT_MS;
    this.maxTcpBodyBytes = opts.maxTcpBodyBytes ?? DEFAULT_CLIENT_MAX_TCP_BODY_BYTES;
    this.name = opts.name;
  }

  /** True once the connection has ended (closed by either side, or `close()` called before connecting). */
  get closed(): boolean {
    return this.closeInfo !== null;
  }

  /** True while the connection is open. */
  get connected(): boolean {
    if (this.closed || !this.everConnected) return false;
    return this.ws ? this.ws.readyState === WebSocket.OPEN : this.socket !== null && !this.socket.destroyed;
  }

  /** Open the connection. Rejects on refusal, handshake failure or timeout. Calling it again returns the same attempt. */
  connect(opts: WaitOptions = {}): Promise<void> {
    if (this.closed) return Promise.reject(this.error(ImErrorCode.CLOSED, 'connect() after close'));
    this.connecting ??= this.openTransport(opts.timeoutMs ?? this.timeoutMs);
    return this.connecting;
  }

  /**
   * Send a login (type 0) and wait for the login response (type 50). On code 0 remembers `uid` and, on
   * the first success, `firstLoginTime`. Resolves with the parsed response whatever its code.
   */
  async login(uid: string, opts: LoginOptions = {}): Promise<LoginResponse> {
    const firstLoginTime = opts.firstLoginTime ?? 0;
    const info = { loginUserId: uid, loginToken: opts.token ?? null, extra: opts.extra ?? null, firstLoginTime, ...(opts.features ? { features: opts.features } : {}) };
    const p = createPacket({
      type: PacketType.LOGIN,
      dataContent: encodeLoginInfoWithShape(info, this.shape),
      from: uid,
      to: SERVER_UID,
    });
    const since = this.packets.length;
    await this.writeText(encodeWithShape(p, this.shape));
    const reply = await this.waitForPacket(PacketType.LOGIN_RESPONSE, undefined, { since, timeoutMs: opts.timeoutMs });
    const res = parseLoginResponse(reply.dataContent);
    if (res.code === 0) {
      this.uid = uid;
      if (this.firstLoginTime <= 0) this.firstLoginTime = res.firstLoginTime;
    }
    return res;
  }

  /**
   * Send a type-2 data packet to `to` (`"0"` = C2S). Resolves with its fp once written to the socket
   * (null for a non-QoS packet without an explicit fp). Records the first send time of the fp in `sentAt`.
   */
  send(to: string, content: string, opts?: SendOptions & { qos?: true }): Promise<string>;
  send(to: string, content: string, opts: SendOptions): Promise<string | null>;
  async send(to: string, content: string, opts: SendOptions = {}): Promise<string | null> {
    const qos = opts.qos ?? true;
    const fp = opts.fp ?? (qos ? newFingerprint() : null);
    const p = dataPacket({
      from: opts.from ?? this.uid ?? UNSET_UID,
      to,
      dataContent: content,
      fp,
      QoS: qos,
      typeu: opts.typeu ?? -1,
    });
    if (fp !== null && !this.sentAt.has(fp)) this.sentAt.set(fp, now());
    await this.writeText(encodeWithShape(p, this.shape));
    return fp;
  }

  /**
   * Write anything, for malformed-input tests. A `Packet` is encoded in this client's shape and framed;
   * a string is sent as is (one WS text frame, or one length-framed TCP body); a Buffer is sent as a
   * binary WS frame, or as raw TCP bytes with no framing added (build your own header).
   */
  async sendRaw(data: Packet | string | Buffer): Promise<void> {
    if (Buffer.isBuffer(data)) return this.writeBytes(data);
    return this.writeText(typeof data === 'string' ? data : encodeWithShape(data, this.shape));
  }

  /** Send the type-4 ack for `packet` (from/to swapped, bridge copied for the java shape). For `autoAck: false` tests. */
  async ack(packet: Packet): Promise<void> {
    if (packet.fp === null) throw new InvalidArgumentError(`${this.label()}: cannot ack a packet without fp`);
    await this.writeText(encodeWithShape(ackPacket(packet.to, packet.from, packet.fp, packet.bridge), this.shape));
    this.acksSent += 1;
  }

  /** Wait until an ack (type 4) for `fp` has arrived (earlier ones count). Resolves with its arrival time. */
  waitForAck(fp: string, opts: WaitOptions = {}): Promise<number> {
    return this.waitUntil(`ack of fp ${fp}`, () => this.ackedAt.get(fp), opts.timeoutMs, true);
  }

  /** Wait for a delivered message (after dedupe) matching `predicate`, scanning `messages` from `opts.since`. */
  waitForMessage(predicate?: (p: Packet) => boolean, opts: HistoryWaitOptions = {}): Promise<Packet> {
    const what = predicate ? 'a matching message' : 'a message';
    return this.waitUntil(what, scanner(this.messages, opts.since ?? 0, predicate), opts.timeoutMs, true);
  }

  /** Wait for a received packet of `type` matching `predicate`, scanning `packets` from `opts.since`. */
  waitForPacket(type: number, predicate?: (p: Packet) => boolean, opts: HistoryWaitOptions = {}): Promise<Packet> {
    const match = (p: Packet): boolean => p.type === type && (predicate === undefined || predicate(p));
    const what = `a type-${type} packet${predicate ? ' matching the predicate' : ''}`;
    return this.waitUntil(what, scanner(this.packets, opts.since ?? 0, match), opts.timeoutMs, true);
  }

  /** Wait until the connection has ended; resolves at once when it already has. */
  waitForClose(opts: WaitOptions = {}): Promise<CloseInfo> {
    return this.waitUntil('the connection to close', () => this.closeInfo ?? undefined, opts.timeoutMs, false);
  }

  /** Send a keepalive (type 1) and wait for a new keepalive response (type 51). */
  async keepAlive(opts: WaitOptions = {}): Promise<Packet> {
    const since = this.packets.length;
    await this.writeText(encodeWithShape(keepAlivePacket(this.uid ?? UNSET_UID), this.shape));
    return this.waitForPacket(PacketType.KEEPALIVE_RESPONSE, undefined, { since, timeoutMs: opts.timeoutMs });
  }

  /**
   * Send a logout (type 3) and wait for the server to close the connection, as MobileIMSDK's server does.
   * On timeout the connection is closed locally and the promise rejects.
   */
  async logout(opts: WaitOptions = {}): Promise<CloseInfo> {
    const p = createPacket({ type: PacketType.LOGOUT, from: this.uid ?? UNSET_UID, to: SERVER_UID });
    await this.writeText(encodeWithShape(p, this.shape));
    try {
      return await this.waitForClose(opts);
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  /**
   * Close the connection and wait until it has ended. Idempotent: later calls return the same result.
   * Pending waits (other than `waitForClose`) reject. A graceful close is forced after a short grace.
   */
  async close(opts: CloseOptions = {}): Promise<CloseInfo> {
    if (this.closeInfo) return this.closeInfo;
    const ws = this.ws;
    const socket = this.socket;
    if (!ws && !socket) {
      this.markClosed({});
      return this.closeInfo ?? {};
    }
    const ended = this.waitUntil('the connection to close', () => this.closeInfo ?? undefined, undefined, false);
    if (opts.abrupt) {
      ws?.terminate();
      // resetAndDestroy() after end() fails with EINVAL and never emits 'close' (Node 20): plain destroy then.
      if (socket) {
        if (socket.writableEnded || socket.destroyed || socket.connecting) socket.destroy();
        else socket.resetAndDestroy();
      }
    } else if (this.closeGraceTimer === null) {
      if (ws) {
        if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
        else ws.close(1000, 'Bye');
      }
      if (socket) {
        if (socket.connecting) socket.destroy();
        else socket.end();
      }
      this.closeGraceTimer = setTimeout(() => {
        this.closeGraceTimer = null;
        ws?.terminate();
        socket?.destroy();
      }, DEFAULT_CLIENT_CLOSE_GRACE_MS);
    }
    return ended;
  }

  /** Round trip in ms from the first send of `fp` to the first ack for it; undefined until both happened. */
  ackLatencyMs(fp: string): number | undefined {
    const sent = this.sentAt.get(fp);
    const acked = this.ackedAt.get(fp);
    return sent === undefined || acked === undefined ? undefined : acked - sent;
  }

  // ---- transport ----

  private openTransport(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        finish(new TimeoutError(`${this.label()}: connect timed out after ${timeoutMs} ms`));
        this.ws?.terminate();
        this.socket?.destroy();
      }, timeoutMs);
      const finish = (err?: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else {
          this.everConnected = true;
          resolve();
        }
      };
      const failed = (cause: unknown): void =>
        finish(this.error(ImErrorCode.UNAVAILABLE, `connect to ${this.url} failed: ${describe(cause)}`, cause));
      const handlers: SocketHandlers = {
        open: () => finish(),
        text: (text) => this.onText(text),
        badFrame: (err) => this.transportErrors.push(err),
        error: (err) => {
          if (settled) this.transportErrors.push(err);
          else {
            failed(err);
            this.markClosed({ hadError: true });
          }
        },
        close: (info, early) => {
          failed(early);
          this.markClosed(info);
        },
      };
      if (this.transport === 'ws') this.ws = openWs(this.url, handlers);
      else this.socket = openTcp(this.url, this.maxTcpBodyBytes, handlers);
    });
  }

  private onText(text: string): void {
    let p: Packet;
    try {
      p = decodePacket(text);
    } catch (err) {
      this.transportErrors.push(asError(err));
      return;
    }
    const at = now();
    this.packets.push(p);
    this.frames.push(text);
    try {
      this.handlePacket(p, at);
    } catch (err) {
      // A malformed framework payload (login response, error, kickout): keep the packet, log the problem.
      this.transportErrors.push(asError(err));
    }
    this.waiters.poll();
  }

  private handlePacket(p: Packet, at: number): void {
    switch (p.type) {
      case PacketType.DATA:
        if (p.QoS && p.fp !== null) {
          this.autoAckPacket(p);
          if (this.seenFps.has(p.fp)) {
            this.duplicates += 1;
            return;
          }
          this.seenFps.add(p.fp);
          this.deliveredAt.set(p.fp, at);
        }
        this.messages.push(p);
        return;
      case PacketType.ACK:
        if (p.dataContent !== null) {
          this.acks.push(p.dataContent);
          if (!this.ackedAt.has(p.dataContent)) this.ackedAt.set(p.dataContent, at);
        }
        return;
      case PacketType.LOGIN_RESPONSE: {
        const res = parseLoginResponse(p.dataContent);
        this.loginResponses.push(res);
        // Real clients ack any QoS packet except a failed login response (spec §6.2).
        if (res.code === 0) this.autoAckPacket(p);
        return;
      }
      case PacketType.KEEPALIVE_RESPONSE:
        this.keepAliveResponses += 1;
        this.autoAckPacket(p);
        return;
      case PacketType.ERROR:
        this.autoAckPacket(p);
        this.errors.push(parseErrorResponse(p.dataContent));
        return;
      case PacketType.KICKOUT:
        this.autoAckPacket(p);
        this.kickouts.push(parseKickoutInfo(p.dataContent));
        return;
      default:
        this.autoAckPacket(p);
    }
  }

  private autoAckPacket(p: Packet): void {
    if (!this.autoAck || !p.QoS || p.fp === null) return;
    this.ack(p).catch((err: unknown) => this.transportErrors.push(asError(err)));
  }

  private writeText(text: string): Promise<void> {
    return this.transport === 'ws' ? this.writeWs(text, false) : this.writeBytes(encodeTcpFrame(text));
  }

  private writeBytes(bytes: Buffer): Promise<void> {
    if (this.transport === 'ws') return this.writeWs(bytes, true);
    const socket = this.socket;
    if (!this.connected || !socket) return Promise.reject(this.notConnected());
    return new Promise((resolve, reject) => {
      socket.write(bytes, (err) => (err ? reject(this.error(ImErrorCode.UNAVAILABLE, `write failed: ${err.message}`, err)) : resolve()));
    });
  }

  private writeWs(data: string | Buffer, binary: boolean): Promise<void> {
    const ws = this.ws;
    if (!this.connected || !ws) return Promise.reject(this.notConnected());
    return new Promise((resolve, reject) => {
      ws.send(data, { binary }, (err) => (err ? reject(this.error(ImErrorCode.UNAVAILABLE, `write failed: ${err.message}`, err)) : resolve()));
    });
  }

  private markClosed(info: CloseInfo): void {
    if (this.closeInfo) return;
    this.closeInfo = info;
    if (this.closeGraceTimer) {
      clearTimeout(this.closeGraceTimer);
      this.closeGraceTimer = null;
    }
    this.waiters.poll();
    this.waiters.failOnClose((what) => this.error(ImErrorCode.CLOSED, `connection closed (${describeClose(info)}) while waiting for ${what}${this.summary()}`));
  }

  // ---- waiting ----

  private waitUntil<T>(what: string, probe: () => T | undefined, timeoutMs: number | undefined, rejectOnClose: boolean): Promise<T> {
    const found = probe();
    if (found !== undefined) return Promise.resolve(found);
    if (rejectOnClose && this.closed) {
      return Promise.reject(this.error(ImErrorCode.CLOSED, `connection is closed (${describeClose(this.closeInfo ?? {})}); cannot wait for ${what}${this.summary()}`));
    }
    const ms = timeoutMs ?? this.timeoutMs;
    return this.waiters.add(what, probe, ms, rejectOnClose, () => new TimeoutError(`${this.label()}: timed out after ${ms} ms waiting for ${what}${this.summary()}`));
  }

  // ---- messages ----

  private label(): string {
    return `TestClient(${this.name ?? this.uid ?? 'client'} ${this.transport}/${this.shape} ${this.url})`;
  }

  private summary(): string {
    const last = this.packets.slice(-5).map((p) => p.type);
    return `; received ${this.packets.length} packets (last types: ${last.length ? last.join(',') : 'none'}), ${this.messages.length} messages, ${this.acks.length} acks, ${this.transportErrors.length} transport errors; ${this.closed ? `closed (${describeClose(this.closeInfo ?? {})})` : 'open'}`;
  }

  private notConnected(): ImError {
    return this.error(ImErrorCode.CLOSED, this.closed ? `cannot write: connection closed (${describeClose(this.closeInfo ?? {})})` : 'cannot write: not connected (call connect() first)');
  }

  private error(code: ImErrorCode, message: string, cause?: unknown): ImError {
    return new ImError(code, `${this.label()}: ${message}`, { cause });
  }
}

/** Create a `TestClient`, connect it, and log in as `uid` when given (rejecting unless the login code is 0). */
export async function connectClient(opts: TestClientOptions & { uid?: string; login?: LoginOptions }): Promise<TestClient> {
  const client = new TestClient(opts);
  try {
    await client.connect();
    if (opts.uid !== undefined) {
      const res = await client.login(opts.uid, opts.login);
      if (res.code !== 0) throw new ImError(ImErrorCode.UNAVAILABLE, `login of ${opts.uid} at ${client.url} failed with code ${res.code}`);
    }
    return client;
  } catch (err) {
    await client.close({ abrupt: true });
    throw err;
  }
}
