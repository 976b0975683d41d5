import { createSocket, type RemoteInfo, type Socket as DgramSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { CloseCode, decodeUtf8 } from '@switchboard/protocol';
import { LogThrottle, type Logger } from '@switchboard/core';
import { DEFAULT_UDP_PROBE_RETRY_MS } from '../defaults.js';
import { TransportHandlers, type Transport } from './transport.js';
import { AmplificationGate } from './udp-gate.js';

export { fitDatagram } from './udp-datagram.js';

/** Why the UDP listener dropped a datagram (in or out) instead of handling or sending it. */
export type UdpDropReason =
  /** Inbound datagram over `maxDatagramInBytes`. */
  | 'oversize'
  /** Inbound datagram from an address blocked after bad input or a flood. */
  | 'blocked'
  /** Inbound datagram from a new address while the gateway drains or stops. */
  | 'not_accepting'
  /** Inbound datagram from a new address while every pseudo-session slot holds a logged-in user. */
  | 'cap'
  /** Datagram to an address that has not proved it receives (acked a QoS packet), beyond what it sent (amplification rule). */
  | 'amplification'
  /** Outbound packet that cannot be made to fit `maxDatagramOutBytes`. */
  | 'too_large'
  /** The kernel refused a send. */
  | 'send_error';

/** Options of `UdpListener.listen`. Sizes in bytes, times in ms. */
export interface UdpListenerOptions {
  /** Address to bind; an IPv6 literal binds a `udp6` socket, anything else `udp4`. */
  host: string;
  /** Port; 0 = any free port. */
  port: number;
  /** Most pseudo-sessions at once (one per remote ip:port). */
  maxSessions: number;
  /** Larger inbound datagrams are dropped (MobileIMSDK's server reads 2048). */
  maxDatagramInBytes: number;
  /** No outbound datagram is longer (MobileIMSDK's Java/Android UDP clients read 1024). */
  maxDatagramOutBytes: number;
  /** Datagrams from an address are ignored this long after its session closed with `CloseCode.PROTOCOL_ERROR`. */
  blockMs: number;
  /** At most one "cap reached" warning per interval. */
  capWarnIntervalMs: number;
  /** How often a logged-in, unverified address may get its one datagram beyond the budget again (see AmplificationGate). @default DEFAULT_UDP_PROBE_RETRY_MS */
  probeRetryMs?: number;
  log: Logger;
  /** A datagram arrived from a new address: a new pseudo-session, not logged in. */
  onSession: (t: Transport) => void;
  /** Counts what was dropped. */
  onDrop?: (reason: UdpDropReason) => void;
}

/**
 * MobileIMSDK's UDP gateway (protocol §3.3): one socket, one JSON packet per datagram, and one
 * pseudo-session (`Transport`) per remote `ip:port`, created by the first datagram from that
 * address and forgotten when the session layer closes it (logout, kick, idle timeout, bad input).
 * Nothing is ever sent on close: UDP has no close.
 *
 * UDP's own hazards, handled here so the session layer needs no UDP special cases:
 * - **Spoofed sources / amplification.** Until an address has acked a QoS packet sent to it, the
 *   bytes sent to it never exceed the bytes received from it, except for one datagram once it is
 *   logged in (AmplificationGate): a login with a valid token proves nothing about the source
 *   address it came from. A reply that does not fit is first re-encoded compactly (keys holding
 *   the values a MobileIMSDK client assumes when they are missing are left out), an error's
 *   `errorMsg` or a kickout's `reason` is then cut to fit, and anything still too long is not sent.
 * - **Session floods.** At most `maxSessions` pseudo-sessions. When full, a new address evicts the
 *   oldest pseudo-session that has not logged in; if every one has, the datagram is dropped. A
 *   warning says so, at most once per `capWarnIntervalMs`.
 * - **Abusive addresses.** A session the session layer closes with `CloseCode.PROTOCOL_ERROR` (bad
 *   packet, flood over the rate limit, oversize datagram) gets its address blocked for `blockMs`,
 *   so it cannot start over with a fresh rate-limit bucket at once.
 * - **Client buffers.** No datagram longer than `maxDatagramOutBytes` is sent (see `fitDatagram`).
 */
export class UdpListener {
  /** The bound port. */
  readonly port: number;
  private readonly sessions = new Map<string, UdpTransport>();
  /** Pseudo-sessions not logged in yet, oldest first: the ones the cap evicts. */
  private readonly unauthenticated = new Map<string, UdpTransport>();
  /** Address → time (ms) until which its datagrams are ignored. Insertion order = oldest first. */
  private readonly blocked = new Map<string, number>();
  private accepting = true;
  private closed = false;
  private capWarnedAt = 0;
  private capEvicted = 0;
  private capDropped = 0;
  /** Refused sends can repeat per packet: one warning per interval. */
  private readonly sendRefusedLog = new LogThrottle();

  private constructor(
    private readonly socket: DgramSocket,
    readonly o: UdpListenerOptions,
  ) {
    this.port = socket.address().port;
    socket.on('message', (msg, rinfo) => {
      try {
        this.onDatagram(msg, rinfo);
      } catch (err) {
        // Defensive: one datagram must never take the process down.
        this.o.log.error({ err }, 'UDP datagram handler failed');
      }
    });
    socket.on('error', (err) => this.o.log.warn({ err }, 'UDP socket error'));
  }

  /** Bind the socket. Rejects when the port cannot be bound. */
  static async listen(o: UdpListenerOptions): Promise<UdpListener> {
    const socket = createSocket({ type: isIPv6(o.host) ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ port: o.port, address: o.host, exclusive: true }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new UdpListener(socket, o);
  }

  /** Pseudo-sessions alive now. */
  get size(): number {
    return this.sessions.size;
  }

  /** New addresses are ignored from now on; existing pseudo-sessions keep working until closed. */
  stopAccepting(): void {
    this.accepting = false;
  }

  /** Forget every pseudo-session (silently) and close the socket. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.accepting = false;
    for (const t of [...this.sessions.values()]) t.close(CloseCode.DRAINING, 'listener closed');
    this.closed = true;
    await new Promise<void>((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        // dgram throws only when the socket is not running (already closed): what close() is for.
        resolve();
      }
    });
  }

  private onDatagram(msg: Buffer, rinfo: RemoteInfo): void {
    const key = rinfo.family === 'IPv6' ? `[${rinfo.address}]:${rinfo.port}` : `${rinfo.address}:${rinfo.port}`;
    let t = this.sessions.get(key);
    if (t === undefined) {
      if (this.isBlocked(key)) return this.drop('blocked');
      if (msg.length > this.o.maxDatagramInBytes) return this.drop('oversize');
      if (!this.accepting || this.closed) return this.drop('not_accepting');
      if (this.sessions.size >= this.o.maxSessions && !this.makeRoom()) return;
      t = new UdpTransport(this, key, rinfo.address, rinfo.port);
      this.sessions.set(key, t);
      this.unauthenticated.set(key, t);
      this.o.onSession(t);
    }
    t.receive(msg);
  }

  /** The table is full: evict the oldest pseudo-session that is not logged in, or drop. */
  private makeRoom(): boolean {
    const oldest = this.unauthenticated.values().next();
    if (!oldest.done) {
      this.capEvicted++;
      oldest.value.close(CloseCode.IDLE_TIMEOUT, 'evicted: UDP session cap');
    } else {
      this.capDropped++;
      this.drop('cap');
    }
    const now = Date.now();
    if (now - this.capWarnedAt >= this.o.capWarnIntervalMs) {
      this.capWarnedAt = now;
      this.o.log.warn(
        { maxSessions: this.o.maxSessions, evicted: this.capEvicted, dropped: this.capDropped },
        'UDP session cap reached: evicting the oldest sessions that have not logged in, dropping datagrams from new addresses when all are logged in',
      );
      this.capEvicted = 0;
      this.capDropped = 0;
    }
    return this.sessions.size < this.o.maxSessions;
  }

  private isBlocked(key: string): boolean {
    const until = this.blocked.get(key);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.blocked.delete(key);
    return false;
  }

  /** @internal A pseudo-session closed: forget it, and block its address after bad input. */
  forget(t: UdpTransport, block: boolean): void {
    if (this.sessions.get(t.key) === t) this.sessions.delete(t.key);
    if (this.unauthenticated.get(t.key) === t) this.unauthenticated.delete(t.key);
    if (block && this.o.blockMs > 0) {
      this.blocked.delete(t.key);
      this.blocked.set(t.key, Date.now() + this.o.blockMs);
      // Bounded like the session table: the oldest entries go first.
      while (this.blocked.size > this.o.maxSessions) {
        const oldest = this.blocked.keys().next();
        if (oldest.done) break;
        this.blocked.delete(oldest.value);
      }
    }
  }

  /** @internal The pseudo-session was sent a successful login response. */
  authenticated(t: UdpTransport): void {
    if (this.unauthenticated.get(t.key) === t) this.unauthenticated.delete(t.key);
  }

  /** @internal */
  drop(reason: UdpDropReason): void {
    this.o.onDrop?.(reason);
  }

  /** @internal Send one datagram; false when the socket is closed. */
  sendTo(buf: Buffer, port: number, address: string, done: (err: Error | null) => void): boolean {
    if (this.closed) return false;
    try {
      this.socket.send(buf, port, address, done);
      return true;
    } catch (err) {
      // dgram throws synchronously, instead of calling `done`, for a socket that stopped running or
      // a destination it refuses (source port 0, which a forged datagram can carry). The packet is
      // reported as not written (false).
      const skipped = this.sendRefusedLog.take();
      if (skipped >= 0) this.o.log.warn({ err, skipped }, 'UDP send refused');
      return false;
    }
  }
}

/** One UDP pseudo-session: the remote `ip:port` as a `Transport`. */
class UdpTransport extends TransportHandlers implements Transport {
  readonly kind = 'udp' as const;
  readonly remote: string;
  private dead = false;
  /** What may be sent to this address before it proved that it receives. */
  private readonly gate: AmplificationGate;
  /** Bytes handed to the kernel whose send has not completed. */
  private inflight = 0;

  constructor(
    private readonly listener: UdpListener,
    readonly key: string,
    private readonly address: string,
    private readonly port: number,
  ) {
    super();
    this.remote = key;
    this.gate = new AmplificationGate(listener.o.maxDatagramOutBytes, listener.o.probeRetryMs ?? DEFAULT_UDP_PROBE_RETRY_MS);
  }

  receive(msg: Buffer): void {
    if (this.dead) return;
    const o = this.listener.o;
    if (msg.length > o.maxDatagramInBytes) {
      // MobileIMSDK truncates it, fails to parse it and drops the pseudo-session: so do we.
      this.listener.drop('oversize');
      return this.violation(`datagram larger than ${o.maxDatagramInBytes} bytes`);
    }
    let text: string;
    try {
      text = decodeUtf8(msg);
    } catch {
      // Reported to the session layer as a violation, which closes the pseudo-session.
      this.gate.received(msg.length, null);
      return this.violation('datagram is not valid UTF-8');
    }
    this.gate.received(msg.length, text);
    this.packetFn(text);
  }

  private violation(reason: string): void {
    if (this.dead) return;
    this.violationFn(reason);
    this.close(CloseCode.PROTOCOL_ERROR, reason);
  }

  send(text: string): boolean {
    if (this.dead) return false;
    const out = this.gate.admit(text);
    if ('drop' in out) {
      this.listener.drop(out.drop);
      // Lost like any datagram; the session itself is fine.
      return true;
    }
    const buf = Buffer.from(out.datagram, 'utf8');
    if (out.loginSuccess) this.listener.authenticated(this);
    this.inflight += buf.length;
    const sent = this.listener.sendTo(buf, this.port, this.address, (err) => {
      this.inflight -= buf.length;
      if (err) this.listener.drop('send_error');
    });
    if (!sent) {
      this.inflight -= buf.length;
      return false;
    }
    return true;
  }

  bufferedBytes(): number {
    return this.inflight;
  }

  whenWritable(): Promise<void> | null {
    return this.dead ? null : this.gate.whenWritable();
  }

  onVerified(fn: () => void): void {
    this.gate.onVerified(fn);
  }

  /** Forget the pseudo-session. Nothing is sent: UDP has no close. */
  close(code: number, _reason: string): void {
    if (this.dead) return;
    this.dead = true;
    this.gate.close();
    this.listener.forget(this, code === CloseCode.PROTOCOL_ERROR);
    // After the caller's synchronous work, like a socket's close event, but before any I/O: a
    // drain or close that awaits anything finds its UDP sessions already gone.
    queueMicrotask(() => this.runCloseHandlers((err) => this.listener.o.log.error({ err }, 'UDP session close handler failed')));
  }
}
