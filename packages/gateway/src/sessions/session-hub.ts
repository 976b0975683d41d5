import { CloseCode, encodePacket, errorPacket, type Packet } from '@switchboard/protocol';
import type { ConnId, UserId } from '@switchboard/core';
import type { GatewayMetrics } from '../metrics.js';
import { DEFAULT_UDP_MAX_DATAGRAM_OUT_BYTES } from '../defaults.js';
import type { Session } from './session.js';
import { ConnectionCaps, type CapRefusal } from './connection-caps.js';
import type { Transport } from '../transport/transport.js';

/**
 * The sessions of this gateway and the one place that writes to them: by connection, by user (the
 * session registered for the user here), the write with its slow-consumer bound, the size check of
 * each transport, and closing. Closing a session hands its unacked messages to `onRelease`
 * (custody moves them offline) before anything newer can fail to write, which keeps their order.
 */
export class SessionHub {
  private readonly all = new Set<Session>();
  private readonly byConn = new Map<ConnId, Session>();
  private readonly byUser = new Map<UserId, Session>();
  /** Set by the composition root: custody takes back the messages written to a closing session. */
  onRelease: (s: Session) => void = () => {};
  private readonly caps: ConnectionCaps;

  constructor(
    private readonly metrics: GatewayMetrics,
    private readonly limits: { maxOutboundBytes: number; tcpMaxBodyBytes: number; maxConnections: number; maxUnauthPerIp: number },
  ) {
    this.caps = new ConnectionCaps(limits);
  }

  /** Why a new connection must be closed at once (a connection cap), or null when it may stay. */
  refusal(t: Transport): CapRefusal | null {
    return this.caps.refusal(t, this.all.size);
  }

  /** WebSocket/TCP connections not logged in from `ip`. */
  unauthenticatedFrom(ip: string): number {
    return this.caps.unauthenticatedFrom(ip);
  }

  get size(): number {
    return this.all.size;
  }

  get userCount(): number {
    return this.byUser.size;
  }

  add(s: Session): void {
    this.all.add(s);
    this.byConn.set(s.connId, s);
    if (s.state !== 'online') this.caps.opened(s);
  }

  /** Forget a closed session. False when it was already forgotten. */
  remove(s: Session): boolean {
    if (!this.all.delete(s)) return false;
    this.byConn.delete(s.connId);
    this.caps.settled(s);
    return true;
  }

  has(s: Session): boolean {
    return this.all.has(s);
  }

  conn(connId: ConnId): Session | undefined {
    return this.byConn.get(connId);
  }

  /** The session registered for `userId` on this gateway. */
  user(userId: UserId): Session | undefined {
    return this.byUser.get(userId);
  }

  register(userId: UserId, s: Session): Session | undefined {
    this.caps.settled(s);
    const previous = this.byUser.get(userId);
    this.byUser.set(userId, s);
    return previous;
  }

  /** Unregister `s` for its user when it is the registered one. True when it was. */
  unregister(s: Session): boolean {
    if (s.userId === null || this.byUser.get(s.userId) !== s) return false;
    this.byUser.delete(s.userId);
    return true;
  }

  sessions(): IterableIterator<Session> {
    return this.all.values();
  }

  users(): IterableIterator<Session> {
    return this.byUser.values();
  }

  /** Write a packet to a session; closes it as a slow consumer when its buffer is over the bound. */
  write(s: Session, wire: string, type: number): boolean {
    if (s.state === 'closed') return false;
    if (!s.transport.send(wire)) return false;
    this.metrics.packetsOut.inc(type);
    if (s.transport.bufferedBytes() > this.limits.maxOutboundBytes) {
      this.metrics.slowConsumerCloses.inc();
      s.log.warn({ buffered: s.transport.bufferedBytes() }, 'slow consumer, closing');
      this.close(s, CloseCode.SLOW_CONSUMER, 'slow consumer');
      return false;
    }
    return true;
  }

  send(s: Session, p: Packet): boolean {
    return this.write(s, encodePacket(p), p.type);
  }

  sendError(s: Session, code: number, msg: string): void {
    this.send(s, errorPacket(code, msg));
  }

  /**
   * Whether `s` can receive `wire`: MobileIMSDK TCP clients drop the connection on an inbound frame
   * over their body limit (protocol §3.1), so such a frame would knock the receiver offline at every
   * delivery attempt; its UDP clients read 1024-byte datagrams (§3.3). WebSocket frames were already
   * bounded when the sender's frame was read.
   */
  fits(s: Session, wire: string): boolean {
    const kind = s.transport.kind;
    if (kind === 'ws') return true;
    const max = kind === 'tcp' ? this.limits.tcpMaxBodyBytes : DEFAULT_UDP_MAX_DATAGRAM_OUT_BYTES;
    return wire.length * 3 <= max || Buffer.byteLength(wire) <= max;
  }

  /** Whether the outbound buffer of `s` has room for `bytes` more while keeping half the bound free. */
  hasRoomForBacklog(s: Session, bytes: number): boolean {
    const buffered = s.transport.bufferedBytes();
    return buffered === 0 || buffered + bytes <= this.limits.maxOutboundBytes / 2;
  }

  close(s: Session, code: number, reason: string): void {
    if (s.state === 'closed') return;
    s.transport.close(code, reason);
    // The transport ignores what arrives from now on (acks included), so the messages this session
    // holds unacked go offline now, before newer messages for the user that fail to write: the
    // offline queue keeps the order they were sent in.
    this.onRelease(s);
  }

  /** Admin view: sessions oldest first. */
  list(offset: number, limit: number) {
    const out = [];
    let i = 0;
    for (const s of this.all) {
      if (i++ < offset) continue;
      if (out.length >= limit) break;
      out.push({
        connId: s.connId,
        userId: s.userId,
        transport: s.transport.kind,
        remote: s.transport.remote,
        state: s.state,
        connectedAt: s.connectedAt,
        lastSeen: s.lastSeen,
      });
    }
    return { total: this.all.size, offset, limit, connections: out };
  }
}
