import {
  CloseCode,
  ErrorCode,
  PacketType,
  ProtocolError,
  SERVER_UID,
  TYPING_TYPEU,
  WATCH_TYPEU,
  Feature,
  decodePacket,
  echoResponsePacket,
  encodePacket,
  errorPacket,
  keepAliveResponsePacket,
  type Packet,
} from '@switchboard/protocol';
import { newConnId, type Logger, type NodeId, type UserId } from '@switchboard/core';
import type { RouteStore } from '@switchboard/cluster';
import type { GatewayMetrics } from '../metrics.js';
import type { Transport } from '../transport/transport.js';
import { RATE_LIMIT_ABUSE_FACTOR } from '../defaults.js';
import type { C2SHandler } from '../delivery/c2s.js';
import type { Messages } from '../delivery/messages.js';
import type { GroupSender } from '../delivery/group-sender.js';
import type { Outcomes } from '../delivery/outcomes.js';
import { Session } from './session.js';
import type { SessionHub } from './session-hub.js';
import type { Logins } from './login.js';

export interface PacketRouterDeps {
  nodeId: NodeId;
  log: Logger;
  metrics: GatewayMetrics;
  hub: SessionHub;
  routes: RouteStore;
  logins: Logins;
  messages: Messages;
  c2s: C2SHandler;
  /** Group messages (`to` starts with `groupPrefix`); null when the gateway has no group store. */
  groups: GroupSender | null;
  groupPrefix: string;
  outcomes: Outcomes;
  /** Whether new connections are accepted (the gateway is running). */
  accepting: () => boolean;
  /** Counts a data packet for the node's message rate. */
  countMessage: () => void;
  rate: { perSec: number; burst: number };
  /** Watch lists and typing signals of sessions that announced the presence / typing features. */
  signals?: {
    watch: (s: Session, p: Packet) => void;
    typing: (s: Session, p: Packet) => void;
    /** The user's route was deleted at its session's close (not taken over by a newer login): offline. */
    offline: (uid: UserId) => void;
  };
  /** Idle timeouts; `loginMs`: a connection not logged in this long after opening is closed (4003). */
  idle: { streamMs: number; udpMs: number; loginMs?: number };
}

/**
 * A connection's life on this gateway: accept it as a session, decode and rate-limit what it sends,
 * route each packet type to its handler (login, echo, logout, keepalive, data, ack), close idle
 * sessions, and clean up when one closes (route, hooks, events, custody).
 */
export class PacketRouter {
  /** Sessions closed for the login deadline (while their close completes). */
  private readonly timedOut = new WeakSet<Session>();

  constructor(private readonly d: PacketRouterDeps) {}

  accept(t: Transport): void {
    if (!this.d.accepting()) {
      t.close(CloseCode.DRAINING, 'draining');
      return;
    }
    const refusal = this.d.hub.refusal(t);
    if (refusal !== null) {
      this.d.metrics.connectionsRefused.inc({ reason: refusal.reason });
      t.close(refusal.code, refusal.reason === 'max_connections' ? 'too many connections' : 'too many connections not logged in from this address');
      return;
    }
    const s = new Session(newConnId(), t, this.d.log, this.d.rate);
    this.d.hub.add(s);
    this.d.metrics.connections.inc({ transport: t.kind });
    t.onPacket((text) => this.onPacketText(s, text));
    t.onViolation((reason) => {
      this.d.metrics.protocolErrors.inc({ reason: 'framing' });
      if (s.debugEnabled) s.log.debug({ reason }, 'protocol violation, closing');
    });
    t.onClose(() => this.onClosed(s));
    if (s.debugEnabled) s.log.debug('connected');
  }

  /**
   * Close sessions silent for longer than their sense-mode timeout, and sessions that did not log
   * in within the login deadline of being opened (whatever they sent meanwhile).
   */
  sweepIdle(): void {
    const cutoff = Date.now() - this.d.idle.streamMs;
    const udpCutoff = Date.now() - this.d.idle.udpMs;
    const loginCutoff = Date.now() - (this.d.idle.loginMs ?? Infinity);
    for (const s of this.d.hub.sessions()) {
      if (s.state !== 'online' && s.state !== 'closed' && s.connectedAt < loginCutoff) {
        // Counted once: a WebSocket stays in the hub until its close handshake ends.
        if (!this.timedOut.has(s)) this.d.metrics.loginTimeouts.inc();
        this.timedOut.add(s);
        if (s.debugEnabled) s.log.debug('login timeout');
        this.d.hub.close(s, CloseCode.LOGIN_TIMEOUT, 'login timeout');
        continue;
      }
      if (s.lastSeen < (s.transport.kind === 'udp' ? udpCutoff : cutoff) && s.state !== 'closed') {
        if (s.debugEnabled) s.log.debug('idle timeout');
        this.d.hub.close(s, CloseCode.IDLE_TIMEOUT, 'idle timeout');
      }
    }
  }

  private onClosed(s: Session): void {
    if (s.state === 'closed' && !this.d.hub.has(s)) return;
    s.state = 'closed';
    this.d.hub.remove(s);
    this.d.metrics.connections.dec({ transport: s.transport.kind });
    const uid = s.userId;
    if (uid !== null && this.d.hub.unregister(s)) {
      this.d.routes.unregister(uid, s.connId).then(
        (deleted) => {
          if (deleted) this.d.signals?.offline(uid);
        },
        (err: unknown) => s.log.warn({ err }, 'route unregister failed'),
      );
      this.d.outcomes.hook(() => this.d.outcomes.hooks.onUserOffline?.(uid, { connId: s.connId, kickCode: s.kickCode }));
      this.d.outcomes.emit({ type: 'logout', at: Date.now(), nodeId: this.d.nodeId, userId: uid, connId: s.connId, kickCode: s.kickCode });
    }
    // Messages written to this connection and not acked fall to offline storage now.
    this.d.hub.onRelease(s);
    if (s.debugEnabled) s.log.debug({ userId: uid }, 'closed');
  }

  private onPacketText(s: Session, text: string): void {
    if (s.state === 'closed') return;
    s.lastSeen = Date.now();
    let p: Packet;
    try {
      p = decodePacket(text);
    } catch (err) {
      // MobileIMSDK closes on garbage; we say why first.
      this.d.metrics.protocolErrors.inc({ reason: err instanceof ProtocolError ? err.code : 'unknown' });
      this.d.hub.sendError(s, ErrorCode.BAD_PACKET, err instanceof Error ? err.message : 'bad packet');
      this.d.hub.close(s, CloseCode.PROTOCOL_ERROR, 'bad packet');
      return;
    }
    this.d.metrics.packetsIn.inc(p.type);
    if (!this.withinRate(s, p)) return;
    try {
      this.route(s, p);
    } catch (err) {
      // Defensive: a bug in handling one packet must never take the process down.
      s.log.error({ err }, 'packet handler failed');
      this.d.hub.close(s, CloseCode.PROTOCOL_ERROR, 'internal error');
    }
  }

  /** Take a token for `p`; over the limit a data packet gets error 1033, and a flood closes the session. */
  private withinRate(s: Session, p: Packet): boolean {
    const bucket = p.type === PacketType.DATA ? s.bucket : s.controlBucket;
    if (bucket.take()) return true;
    this.d.metrics.rateLimited.inc();
    if (bucket.refusedThisSecond > this.d.rate.perSec * RATE_LIMIT_ABUSE_FACTOR) {
      s.log.warn('flooding far over the rate limit, closing');
      this.d.hub.close(s, CloseCode.PROTOCOL_ERROR, 'flood');
    } else if (p.type === PacketType.DATA) {
      this.d.hub.sendError(s, ErrorCode.RATE_LIMITED, p.fp ?? 'rate limit exceeded');
    }
    return false;
  }

  private route(s: Session, p: Packet): void {
    switch (p.type) {
      case PacketType.LOGIN:
        void this.d.logins.login(s, p);
        return;
      case PacketType.ECHO: {
        // A reply over the client's frame limit (the echo of a 6,144-byte TCP body is longer than
        // that) would make a MobileIMSDK TCP client drop the connection: refused instead.
        const reply = encodePacket(echoResponsePacket(p));
        if (this.d.hub.fits(s, reply)) this.d.hub.write(s, reply, PacketType.ECHO_RESPONSE);
        else this.d.hub.sendError(s, ErrorCode.MESSAGE_TOO_LARGE, 'echo reply too large for this transport');
        return;
      }
      case PacketType.LOGOUT:
        this.d.hub.close(s, CloseCode.BYE, 'Bye');
        return;
      case PacketType.KEEPALIVE:
      case PacketType.DATA:
      case PacketType.ACK:
        if (!s.isOnline) {
          // MobileIMSDK: error 301 with the rejected packet, then close.
          this.d.hub.send(s, errorPacket(ErrorCode.UNLOGIN, encodePacket(p)));
          this.d.hub.close(s, CloseCode.BYE, 'Bye');
          return;
        }
        if (p.type === PacketType.KEEPALIVE) this.d.hub.send(s, keepAliveResponsePacket(s.userId!));
        else if (p.type === PacketType.DATA) this.onData(s, p);
        else this.d.messages.onClientAck(s, p);
        return;
      default:
        if (s.debugEnabled) s.log.debug({ type: p.type }, 'ignoring packet of unknown type');
    }
  }

  private onData(s: Session, p: Packet): void {
    if (p.from !== s.userId) {
      this.d.metrics.protocolErrors.inc({ reason: 'from_mismatch' });
      this.d.hub.sendError(s, ErrorCode.FROM_MISMATCH, `from "${p.from}" is not the logged-in user`);
      return;
    }
    this.d.countMessage();
    // The SDK's signals (docs/presence.md); from a session without the feature they stay ordinary messages.
    if (this.d.signals && !p.QoS && (p.typeu === WATCH_TYPEU || p.typeu === TYPING_TYPEU) && s.features !== null) {
      if (p.typeu === WATCH_TYPEU && p.to === SERVER_UID && s.features.includes(Feature.PRESENCE)) return this.d.signals.watch(s, p);
      if (p.typeu === TYPING_TYPEU && p.to !== SERVER_UID && s.features.includes(Feature.TYPING)) return this.d.signals.typing(s, p);
    }
    if (p.to === SERVER_UID) this.d.c2s.onMessage(s, p);
    else if (this.d.groups !== null && p.to.startsWith(this.d.groupPrefix)) this.d.groups.onData(s, p);
    else this.d.messages.onData(s, p);
  }
}
