/**
 * A small MobileIMSDK UDP client for tests (the testkit's TestClient speaks only WebSocket and TCP).
 *
 * Behaves like the official Java UDP client where tests depend on it: one JSON packet per datagram
 * from one local port, an ack for every incoming QoS packet (unless `autoAck` is off), duplicate
 * fingerprints dropped (acked again, counted in `duplicates`). It records every datagram's size so
 * tests can check the amplification rule. No keepalives or re-logins of its own unless asked
 * (`startKeepAlive`). Also used by the cluster tests (test/cluster/udp*.test.ts).
 */
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import {
  PacketType,
  SERVER_UID,
  UNSET_UID,
  ackPacket,
  createPacket,
  dataPacket,
  decodePacket,
  encodeLoginInfo,
  encodePacket,
  keepAlivePacket,
  parseErrorResponse,
  parseKickoutInfo,
  parseLoginResponse,
  type ErrorResponse,
  type KickoutInfo,
  type LoginResponse,
  type Packet,
} from '@switchboard/protocol';
import { newFingerprint, waitFor } from '@switchboard/core';

export interface UdpWaitOptions {
  timeoutMs?: number;
  /** Index in `packets` to start scanning from. @default 0 */
  since?: number;
}

/** One datagram as received, undecoded. */
export interface UdpDatagram {
  bytes: number;
  text: string;
}

export class UdpTestClient {
  /** Every datagram received, in order (also the undecodable ones). */
  readonly datagrams: UdpDatagram[] = [];
  /** Every packet decoded from `datagrams`, in order. */
  readonly packets: Packet[] = [];
  /** Delivered type-2 packets after fingerprint dedupe. */
  readonly messages: Packet[] = [];
  /** Fingerprints acked to this client (type 4), repeats included. */
  readonly acks: string[] = [];
  readonly errors: ErrorResponse[] = [];
  readonly kickouts: KickoutInfo[] = [];
  /** Bytes this client sent / received, datagram payloads only. */
  sentBytes = 0;
  receivedBytes = 0;
  duplicates = 0;
  autoAck: boolean;
  uid: string | null = null;
  firstLoginTime = 0;
  private readonly seen = new Set<string>();
  private beat: NodeJS.Timeout | null = null;
  private closed = false;

  private constructor(
    readonly socket: Socket,
    readonly name: string,
    autoAck: boolean,
  ) {
    this.autoAck = autoAck;
    socket.on('message', (msg: Buffer) => this.onDatagram(msg));
    socket.on('error', () => {});
  }

  /** A client on a fresh local port, "connected" to the gateway's UDP port (other sources are ignored). */
  static async open(port: number, opts: { host?: string; autoAck?: boolean; name?: string } = {}): Promise<UdpTestClient> {
    const socket = createSocket('udp4');
    socket.bind(0, '127.0.0.1');
    await once(socket, 'listening');
    socket.connect(port, opts.host ?? '127.0.0.1');
    await once(socket, 'connect');
    return new UdpTestClient(socket, opts.name ?? 'udp-client', opts.autoAck ?? true);
  }

  /** The local port (each port is its own session on the gateway). */
  get localPort(): number {
    return this.socket.address().port;
  }

  /** Send one datagram as it is. */
  sendRaw(data: Buffer | string): void {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    this.sentBytes += buf.length;
    this.socket.send(buf);
  }

  /** Send a packet in the Java client's shape (every key, nulls left out). */
  sendPacket(p: Packet): void {
    this.sendRaw(encodePacket(p));
  }

  /** Send a login (Java shape) and wait for the type-50 answer. */
  async login(uid: string, opts: { token?: string | null; firstLoginTime?: number; timeoutMs?: number } = {}): Promise<LoginResponse> {
    const since = this.packets.length;
    this.sendPacket(
      createPacket({
        type: PacketType.LOGIN,
        dataContent: encodeLoginInfo({ loginUserId: uid, loginToken: opts.token ?? null, extra: null, firstLoginTime: opts.firstLoginTime ?? 0 }),
        from: uid,
        to: SERVER_UID,
      }),
    );
    const p = await this.waitForPacket(PacketType.LOGIN_RESPONSE, undefined, { since, ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}) });
    const r = parseLoginResponse(p.dataContent);
    if (r.code === 0) {
      this.uid = uid;
      if (this.firstLoginTime <= 0) this.firstLoginTime = r.firstLoginTime;
    }
    return r;
  }

  /** Send a keepalive and wait for a new type 51. */
  async keepAlive(timeoutMs?: number): Promise<Packet> {
    const since = this.packets.length;
    this.sendPacket(keepAlivePacket(this.uid ?? UNSET_UID));
    return this.waitForPacket(PacketType.KEEPALIVE_RESPONSE, undefined, { since, ...(timeoutMs ? { timeoutMs } : {}) });
  }

  /** Keepalives every `ms` (the Java UDP client's 3S mode beats every 3 s) until `close`. */
  startKeepAlive(ms: number): void {
    this.stopKeepAlive();
    this.beat = setInterval(() => {
      if (!this.closed) this.sendPacket(keepAlivePacket(this.uid ?? UNSET_UID));
    }, ms);
    this.beat.unref();
  }

  stopKeepAlive(): void {
    if (this.beat) clearInterval(this.beat);
    this.beat = null;
  }

  /** Send a data packet (QoS by default); resolves with its fp. */
  send(to: string, content: string, opts: { qos?: boolean; fp?: string; typeu?: number; from?: string } = {}): string | null {
    const qos = opts.qos ?? true;
    const fp = opts.fp ?? (qos ? newFingerprint() : null);
    this.sendPacket(dataPacket({ from: opts.from ?? this.uid ?? UNSET_UID, to, dataContent: content, fp, QoS: qos, typeu: opts.typeu ?? -1 }));
    return fp;
  }

  /** Send the type-4 ack of `p` (from/to swapped, bridge copied), as the Java client does. */
  ack(p: Packet): void {
    if (p.fp === null) return;
    this.sendPacket(ackPacket(p.to, p.from, p.fp, p.bridge));
  }

  /** Send a logout (type 3). The gateway forgets the session; nothing comes back. */
  logout(): void {
    this.sendPacket(createPacket({ type: PacketType.LOGOUT, from: this.uid ?? UNSET_UID, to: SERVER_UID }));
  }

  async waitForPacket(type: number, pred?: (p: Packet) => boolean, opts: UdpWaitOptions = {}): Promise<Packet> {
    const start = opts.since ?? 0;
    return waitFor(() => this.packets.slice(start).find((p) => p.type === type && (pred === undefined || pred(p))), {
      timeoutMs: opts.timeoutMs ?? 5_000,
      intervalMs: 10,
      what: `${this.name}: a type-${type} packet (received types: ${this.packets.map((p) => p.type).join(',') || 'none'})`,
    });
  }

  async waitForAck(fp: string, timeoutMs = 5_000): Promise<void> {
    await waitFor(() => this.acks.includes(fp), { timeoutMs, intervalMs: 10, what: `${this.name}: ack of ${fp}` });
  }

  async waitForMessage(pred: (p: Packet) => boolean, timeoutMs = 5_000): Promise<Packet> {
    return waitFor(() => this.messages.find(pred), { timeoutMs, intervalMs: 10, what: `${this.name}: a matching message` });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopKeepAlive();
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }

  private onDatagram(msg: Buffer): void {
    const text = msg.toString('utf8');
    this.receivedBytes += msg.length;
    this.datagrams.push({ bytes: msg.length, text });
    let p: Packet;
    try {
      p = decodePacket(text);
    } catch {
      return;
    }
    this.packets.push(p);
    if (p.QoS && p.fp !== null && this.autoAck && !this.closed) this.ack(p);
    switch (p.type) {
      case PacketType.DATA:
        if (p.QoS && p.fp !== null) {
          if (this.seen.has(p.fp)) {
            this.duplicates++;
            return;
          }
          this.seen.add(p.fp);
        }
        this.messages.push(p);
        return;
      case PacketType.ACK:
        if (p.dataContent !== null) this.acks.push(p.dataContent);
        return;
      case PacketType.ERROR:
        try {
          this.errors.push(parseErrorResponse(p.dataContent));
        } catch {
          // kept in packets
        }
        return;
      case PacketType.KICKOUT:
        try {
          this.kickouts.push(parseKickoutInfo(p.dataContent));
        } catch {
          // kept in packets
        }
        return;
      default:
    }
  }
}
