import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type AddressInfo } from 'node:net';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { WebSocketServer } from 'ws';
import {
  CloseCode,
  ErrorCode,
  KickoutCode,
  PacketType,
  SERVER_UID,
  ProtocolError,
  ackPacket,
  decodePacket,
  echoResponsePacket,
  encodePacket,
  errorPacket,
  keepAliveResponsePacket,
  kickoutPacket,
  loginResponsePacket,
  parseLoginInfo,
  senseModeTimings,
  type LoginInfo,
  type Packet,
  type SenseMode,
} from '@switchboard/protocol';
import {
  LogThrottle,
  newConnId,
  newFingerprint,
  newNodeId,
  UnroutableError,
  type ConnId,
  type Logger,
  type NodeId,
  type UserId,
} from '@switchboard/core';
import type { Bridge, BridgeMessage, NodeRecord, NodeRegistry, OfflineStore, Route, RouteStore } from '@switchboard/cluster';
import * as D from './defaults.js';
import { Session } from './session.js';
import { TtlMap } from './ttl-set.js';
import { DeadlineQueue } from './deadline-queue.js';
import { attachWebSocket } from './transport/ws-transport.js';
import { TcpTransport } from './transport/tcp-transport.js';
import { UdpListener } from './transport/udp-transport.js';
import type { Transport } from './transport/transport.js';
import type { LoginVerifier } from './auth.js';
import type { GatewayHooks } from './hooks.js';
import type { EventSink } from './events.js';
import { withEventId, type ImEventDraft } from './event-sinks.js';
import { createGatewayMetrics, type GatewayMetrics } from './metrics.js';

/** Everything a gateway needs. Backends are injected: memory ones for standalone, Redis/AMQP for a cluster. */
export interface GatewayOptions {
  nodeId?: NodeId;
  log: Logger;
  routes: RouteStore;
  offline: OfflineStore;
  nodes: NodeRegistry;
  bridge: Bridge;
  verifyLogin: LoginVerifier;
  hooks?: GatewayHooks;
  /**
   * Where events go (architecture §12, docs/events.md). A C2S QoS message is acked only once its
   * `c2s` event's publish resolved. Not closed by the gateway. @default none
   */
  events?: EventSink;
  /** Address the listeners bind. @default 127.0.0.1 */
  bindHost?: string;
  /** Host name handed to clients. @default bindHost */
  publicHost?: string;
  /** Ports; 0 = any free port. `tcp: null` disables TCP. */
  wsPort?: number;
  tcpPort?: number | null;
  /** UDP port (0 = any free port); `null` (the default here, unlike the CLI) runs no UDP listener. */
  udpPort?: number | null;
  /** Most UDP pseudo-sessions at once. @default DEFAULT_UDP_MAX_SESSIONS */
  udpMaxSessions?: number;
  /** How long an address whose UDP session was closed for bad input or a flood is ignored, ms. @default DEFAULT_UDP_BLOCK_MS */
  udpBlockMs?: number;
  senseMode?: SenseMode;
  custodyResendMs?: number;
  custodyGiveUpMs?: number;
  c2sDedupeMs?: number;
  c2cDedupeMs?: number;
  maxOutboundBytes?: number;
  rateLimitPerSec?: number;
  rateLimitBurst?: number;
  tcpMaxBodyBytes?: number;
  wsMaxFrameBytes?: number;
  nodeReportIntervalMs?: number;
  nodeTtlMs?: number;
  sweepIntervalMs?: number;
  drainTimeoutMs?: number;
  /** Spread of client closes during a drain. @default min(5 s, drainTimeoutMs / 3) */
  drainSpreadMs?: number;
  /** Whether the route/offline backends answer, for readiness. @default always true */
  backendsUp?: () => boolean;
  metrics?: GatewayMetrics;
}

/** A QoS message in this gateway's custody, from its sender's arrival until ack or offline storage. */
interface Custody {
  key: string;
  fp: string;
  sender: UserId;
  senderConn: ConnId | null;
  receiver: UserId;
  packet: Packet;
  wire: string;
  receivedAt: number;
  attempt: number;
  state: 'delivering' | 'storing' | 'done';
  ackedWhileStoring: boolean;
  kind: 'c2c' | 's2c';
  /** Receiver connections this custody already wrote the message to (the nudge skips them); rarely more than one. */
  triedConns: ConnId[];
}

/** What a new custody is about; `takeCustody` adds the delivery state. */
type CustodyClaim = Pick<Custody, 'key' | 'fp' | 'sender' | 'senderConn' | 'receiver' | 'packet' | 'wire' | 'kind'>;

/** Where this node wrote a message it must relay the receiver's ack for. */
interface Inbound {
  origin: NodeId;
  sender: UserId;
  viaOffline: boolean;
}

export type GatewayState = 'created' | 'running' | 'draining' | 'closed';

/** Result of a server push (`push`). */
export interface PushResult {
  fp: string;
}

const key = (a: string, b: string) => a + '\n' + b;

/**
 * A Switchboard gateway node: WebSocket, TCP and UDP listeners speaking MobileIMSDK v6, sessions,
 * login and the kick rule, QoS custody with end-to-end acks, offline delivery, and its
 * node record. See architecture §5 and §6 for the delivery and login contracts.
 */
export class Gateway {
  readonly nodeId: NodeId;
  readonly log: Logger;
  readonly metrics: GatewayMetrics;
  state: GatewayState = 'created';
  readonly startedAt = Date.now();

  private readonly o: Required<Omit<GatewayOptions, 'nodeId' | 'hooks' | 'events' | 'metrics' | 'tcpPort' | 'backendsUp'>> & {
    tcpPort: number | null;
  };
  private readonly hooks: GatewayHooks;
  private readonly events: EventSink | null;
  /** C2S (sender, fp) whose event is being published: a resend meanwhile is ignored. */
  private readonly c2sPublishing = new Set<string>();
  private readonly backendsUp: () => boolean;
  private readonly idleMs: number;
  /** UDP pseudo-sessions expire on the UDP column of the sense-mode table. */
  private readonly udpIdleMs: number;

  private readonly sessions = new Set<Session>();
  private readonly byConn = new Map<ConnId, Session>();
  private readonly byUser = new Map<UserId, Session>();
  private readonly custody = new Map<string, Custody>();
  /** Custody deadlines: first attempt → resend; second attempt → offline storage. */
  private readonly resendDue: DeadlineQueue<Custody>;
  private readonly giveUpDue: DeadlineQueue<Custody>;
  private readonly inbound: TtlMap<Inbound>;
  private readonly c2cDone: TtlMap<true>;
  private readonly c2sSeen: TtlMap<true>;
  private readonly liveNodes = new Set<NodeId>();

  private httpServer: HttpServer | null = null;
  private wss: WebSocketServer | null = null;
  private tcpServer: TcpServer | null = null;
  private udp: UdpListener | null = null;
  private timers: NodeJS.Timeout[] = [];
  private loopDelay: IntervalHistogram | null = null;
  private lastCpu = process.cpuUsage();
  private lastCpuAt = Date.now();
  private msgCount = 0;
  private lastMsgRate = 0;
  private connCount = { ws: 0, tcp: 0, udp: 0 };
  private ports = { ws: 0, tcp: 0, udp: 0, admin: 0 };
  private drainPromise: Promise<void> | null = null;
  private closePromise: Promise<void> | null = null;
  private resolveClosed: () => void = () => {};
  /** Resolves once the gateway closed, whether through `close()`, a drain, or a drain request from the cluster. */
  readonly closed: Promise<void> = new Promise((r) => {
    this.resolveClosed = r;
  });
  private bridgeWasDown = false;
  /**
   * Messages stored offline for a receiver online on another node whose nudge could not cross the
   * bridge (our link was down): nudged again once it is back, so they do not wait for a re-login.
   */
  private readonly nudgeAgain = new Map<string, Custody>();
  /** Warnings that an outage would repeat once per message: one line per 10 s each, with a count. */
  private readonly quiet = {
    event: new LogThrottle(),
    lookup: new LogThrottle(),
    bridgeSend: new LogThrottle(),
    offlineStore: new LogThrottle(),
  };

  constructor(opts: GatewayOptions) {
    this.nodeId = opts.nodeId ?? newNodeId();
    this.log = opts.log.child({ nodeId: this.nodeId });
    this.metrics = opts.metrics ?? createGatewayMetrics();
    this.hooks = opts.hooks ?? {};
    this.events = opts.events ?? null;
    this.backendsUp = opts.backendsUp ?? (() => true);
    const bindHost = opts.bindHost ?? '127.0.0.1';
    const drainTimeoutMs = opts.drainTimeoutMs ?? D.DEFAULT_DRAIN_TIMEOUT_MS;
    this.o = {
      log: opts.log,
      routes: opts.routes,
      offline: opts.offline,
      nodes: opts.nodes,
      bridge: opts.bridge,
      verifyLogin: opts.verifyLogin,
      bindHost,
      publicHost: opts.publicHost ?? bindHost,
      wsPort: opts.wsPort ?? D.DEFAULT_WS_PORT,
      tcpPort: opts.tcpPort === undefined ? D.DEFAULT_TCP_PORT : opts.tcpPort,
      udpPort: opts.udpPort ?? null,
      udpMaxSessions: opts.udpMaxSessions ?? D.DEFAULT_UDP_MAX_SESSIONS,
      udpBlockMs: opts.udpBlockMs ?? D.DEFAULT_UDP_BLOCK_MS,
      senseMode: opts.senseMode ?? '15S',
      custodyResendMs: opts.custodyResendMs ?? D.DEFAULT_CUSTODY_RESEND_MS,
      custodyGiveUpMs: opts.custodyGiveUpMs ?? D.DEFAULT_CUSTODY_GIVE_UP_MS,
      c2sDedupeMs: opts.c2sDedupeMs ?? D.DEFAULT_C2S_DEDUPE_MS,
      c2cDedupeMs: opts.c2cDedupeMs ?? D.DEFAULT_C2C_DEDUPE_MS,
      maxOutboundBytes: opts.maxOutboundBytes ?? D.DEFAULT_MAX_OUTBOUND_BYTES,
      rateLimitPerSec: opts.rateLimitPerSec ?? D.DEFAULT_RATE_LIMIT_PER_SEC,
      rateLimitBurst: opts.rateLimitBurst ?? D.DEFAULT_RATE_LIMIT_BURST,
      tcpMaxBodyBytes: opts.tcpMaxBodyBytes ?? 6144,
      wsMaxFrameBytes: opts.wsMaxFrameBytes ?? D.DEFAULT_WS_MAX_FRAME_BYTES,
      nodeReportIntervalMs: opts.nodeReportIntervalMs ?? D.DEFAULT_NODE_REPORT_INTERVAL_MS,
      nodeTtlMs: opts.nodeTtlMs ?? D.DEFAULT_NODE_TTL_MS,
      sweepIntervalMs: opts.sweepIntervalMs ?? D.DEFAULT_SWEEP_INTERVAL_MS,
      drainTimeoutMs,
      drainSpreadMs: opts.drainSpreadMs ?? Math.min(5_000, Math.floor(drainTimeoutMs / 3)),
    };
    this.idleMs = senseModeTimings(this.o.senseMode).serverIdleMs;
    this.udpIdleMs = senseModeTimings(this.o.senseMode).udpServerIdleMs;
    this.inbound = new TtlMap(D.DEFAULT_INBOUND_MEMORY_MS);
    this.c2cDone = new TtlMap(this.o.c2cDedupeMs);
    this.c2sSeen = new TtlMap(this.o.c2sDedupeMs);
    this.resendDue = new DeadlineQueue(this.o.custodyResendMs, (c) => {
      if (c.state === 'delivering') void this.attemptDelivery(c);
    });
    this.giveUpDue = new DeadlineQueue(Math.max(0, this.o.custodyGiveUpMs - this.o.custodyResendMs), (c) => {
      if (c.state === 'delivering') void this.toOffline(c);
    });
  }

  // ---------------------------------------------------------------- lifecycle

  /** Bind the listeners, join the bridge and start reporting. Resolves with the bound ports. */
  async start(): Promise<{ ws: number; tcp: number; udp: number }> {
    if (this.state !== 'created') throw new Error('gateway already started');
    await this.o.bridge.start((msg) => this.onBridgeMessage(msg));
    this.o.bridge.onStateChange((s) => {
      this.log.info({ bridge: s }, 'bridge state changed');
      if (s === 'down') this.bridgeWasDown = true;
      if (s === 'up' && this.bridgeWasDown) {
        this.bridgeWasDown = false;
        // While our queue was gone, messages for our users fell to their offline queues.
        this.redeliverOffline('bridge reconnected');
        // And messages we stored for users elsewhere could not be nudged to them.
        const again = [...this.nudgeAgain.values()];
        this.nudgeAgain.clear();
        for (const c of again) void this.nudge(c);
      }
    });

    this.httpServer = createHttpServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('Use a WebSocket connection at ' + D.DEFAULT_WS_PATH + '\n');
    });
    this.httpServer.headersTimeout = 10_000;
    this.httpServer.requestTimeout = 10_000;
    this.wss = attachWebSocket(this.httpServer, {
      path: D.DEFAULT_WS_PATH,
      maxFrameBytes: this.o.wsMaxFrameBytes,
      onConnection: (t) => this.accept(t),
    });
    this.ports.ws = await listen(this.httpServer, this.o.wsPort, this.o.bindHost);
    if (this.o.tcpPort !== null) {
      this.tcpServer = createTcpServer({ noDelay: true, keepAlive: true }, (sock) =>
        this.accept(new TcpTransport(sock, this.o.tcpMaxBodyBytes)),
      );
      this.ports.tcp = await listen(this.tcpServer, this.o.tcpPort, this.o.bindHost);
    }
    if (this.o.udpPort !== null) {
      this.udp = await UdpListener.listen({
        host: this.o.bindHost,
        port: this.o.udpPort,
        maxSessions: this.o.udpMaxSessions,
        maxDatagramInBytes: D.DEFAULT_UDP_MAX_DATAGRAM_IN_BYTES,
        maxDatagramOutBytes: D.DEFAULT_UDP_MAX_DATAGRAM_OUT_BYTES,
        blockMs: this.o.udpBlockMs,
        capWarnIntervalMs: D.DEFAULT_UDP_CAP_WARN_INTERVAL_MS,
        log: this.log.child({ transport: 'udp' }),
        onSession: (t) => this.accept(t),
        onDrop: (reason) => this.metrics.protocolErrors.inc({ reason: `udp_${reason}` }),
      });
      this.ports.udp = this.udp.port;
    }

    this.loopDelay = monitorEventLoopDelay({ resolution: 10 });
    this.loopDelay.enable();
    this.state = 'running';
    await this.report().catch((err) => this.log.warn({ err }, 'first node report failed'));
    this.every(this.o.nodeReportIntervalMs, () => this.report());
    this.every(this.o.sweepIntervalMs, () => this.sweepDeadNodes());
    this.every(1_000, () => this.sweepIdle());
    this.log.info({ ports: this.ports, senseMode: this.o.senseMode }, 'gateway listening');
    return { ws: this.ports.ws, tcp: this.ports.tcp, udp: this.ports.udp };
  }

  /** Ports actually bound (0 for a disabled listener). Set `admin`/`udp` from outside when those run. */
  get boundPorts(): { ws: number; tcp: number; udp: number; admin: number } {
    return { ...this.ports };
  }

  setExtraPorts(p: { admin?: number; udp?: number }): void {
    if (p.admin !== undefined) this.ports.admin = p.admin;
    if (p.udp !== undefined) this.ports.udp = p.udp;
  }

  /** Readiness: running, not draining, backends reachable. */
  isReady(): { ready: boolean; reason?: string } {
    if (this.state !== 'running') return { ready: false, reason: this.state };
    if (this.o.bridge.state !== 'up') return { ready: false, reason: `bridge ${this.o.bridge.state}` };
    if (!this.backendsUp()) return { ready: false, reason: 'route store unreachable' };
    return { ready: true };
  }

  get connectionCount(): number {
    return this.sessions.size;
  }

  get custodyCount(): number {
    return this.custody.size;
  }

  private every(ms: number, fn: () => unknown): void {
    const t = setInterval(() => {
      try {
        const r = fn();
        if (r instanceof Promise) r.catch((err: unknown) => this.log.warn({ err }, 'periodic task failed'));
      } catch (err) {
        this.log.warn({ err }, 'periodic task failed');
      }
    }, ms);
    t.unref();
    this.timers.push(t);
  }

  /**
   * Graceful drain (architecture §11): readiness 503 and `draining` in the node record, stop
   * accepting, close clients in spread batches (WebSocket close 4000: reconnect through
   * dispatch), finish custody or hand it to the offline queue, remove routes. Then `close()`.
   */
  drain(): Promise<void> {
    this.drainPromise ??= this.runDrain();
    return this.drainPromise;
  }

  private async runDrain(): Promise<void> {
    if (this.state !== 'running') return this.close();
    this.state = 'draining';
    const deadline = Date.now() + this.o.drainTimeoutMs;
    this.log.info({ connections: this.sessions.size, custody: this.custody.size }, 'draining');
    await this.report().catch(() => {});
    this.stopListening();
    const all = [...this.sessions];
    // Small nodes close at once; big ones in up to 20 batches of ≥ 100 spread over drainSpreadMs.
    const batches = Math.max(1, Math.min(20, Math.ceil(all.length / 100)));
    const step = this.o.drainSpreadMs / batches;
    for (let b = 0; b < batches; b++) {
      for (let i = b; i < all.length; i += batches) this.closeSession(all[i]!, CloseCode.DRAINING, 'draining');
      if (step > 0 && b < batches - 1) await sleep(step);
    }
    // Custody of messages whose receivers left falls to offline storage as they close;
    // messages from senders still waiting finish or time out into the offline queue.
    while (this.custody.size > 0 && Date.now() < deadline) await sleep(50);
    for (const c of [...this.custody.values()]) if (c.state === 'delivering') void this.toOffline(c);
    while (this.custody.size > 0 && Date.now() < deadline) await sleep(50);
    await this.o.routes.purgeNode(this.nodeId).catch((err) => this.log.warn({ err }, 'route purge failed'));
    await this.close();
  }

  /** Stop everything now. Idempotent. Does not close the injected backends. */
  close(): Promise<void> {
    this.closePromise ??= this.runClose();
    return this.closePromise;
  }

  private async runClose(): Promise<void> {
    const wasState = this.state;
    this.state = 'closed';
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.loopDelay?.disable();
    this.stopListening();
    for (const s of [...this.sessions]) this.closeSession(s, CloseCode.DRAINING, 'server shutting down');
    // UDP sessions share the listener's socket, so it closes only after them.
    await this.udp?.close();
    this.udp = null;
    this.resendDue.clear();
    this.giveUpDue.clear();
    this.custody.clear();
    this.metrics.custodyPending.set(0);
    if (wasState !== 'created') {
      await this.o.routes.purgeNode(this.nodeId).catch(() => {});
      await this.o.nodes.remove(this.nodeId).catch(() => {});
      await this.o.bridge.close().catch(() => {});
    }
    this.log.info('gateway closed');
    this.resolveClosed();
  }

  private stopListening(): void {
    this.udp?.stopAccepting();
    this.tcpServer?.close();
    this.httpServer?.close();
    this.wss?.close();
    this.tcpServer = null;
    this.httpServer = null;
  }

  // ---------------------------------------------------------------- node record

  private async report(): Promise<void> {
    const now = Date.now();
    const cpuNow = process.cpuUsage(this.lastCpu);
    const elapsed = Math.max(1, now - this.lastCpuAt);
    const cpu = (cpuNow.user + cpuNow.system) / 1000 / elapsed;
    this.lastCpu = process.cpuUsage();
    this.lastCpuAt = now;
    const lagMs = this.loopDelay ? Math.max(0, this.loopDelay.percentile(99) / 1e6 - 10) : 0;
    this.loopDelay?.reset();
    this.lastMsgRate = (this.msgCount * 1000) / elapsed;
    this.msgCount = 0;
    this.metrics.loopLag.set(lagMs / 1000);
    const requested = this.state === 'running' && (await this.o.nodes.drainRequested(this.nodeId));
    if (requested) {
      this.log.info('drain requested through the node registry');
      void this.drain();
    }
    if (this.state === 'closed') return;
    await this.o.nodes.report(this.record(cpu, lagMs), this.o.nodeTtlMs);
    const live = await this.o.nodes.list();
    this.liveNodes.clear();
    for (const n of live) this.liveNodes.add(n.id);
  }

  private record(cpu: number, lagMs: number): Omit<NodeRecord, 'reportedAt'> {
    return {
      id: this.nodeId,
      host: this.o.publicHost,
      ports: { ...this.ports },
      state: this.state === 'running' ? 'active' : 'draining',
      connections: this.sessions.size,
      loopLagMs: Math.round(lagMs * 10) / 10,
      cpu: Math.round(cpu * 1000) / 1000,
      msgRate: Math.round(this.lastMsgRate),
      startedAt: this.startedAt,
    };
  }

  /** Purge the routes of nodes that expired (crashed) so lookups stop finding them. */
  private async sweepDeadNodes(): Promise<void> {
    for (const id of await this.o.nodes.listExpired()) {
      const n = await this.o.routes.purgeNode(id);
      await this.o.nodes.forget(id);
      if (n > 0) this.log.info({ deadNode: id, routes: n }, 'purged routes of a dead node');
    }
  }

  private async isNodeAlive(id: NodeId): Promise<boolean> {
    if (id === this.nodeId) return this.state !== 'closed';
    if (this.liveNodes.has(id)) return true;
    // A node that started after our last registry read.
    const rec = await this.o.nodes.get(id);
    if (rec) this.liveNodes.add(id);
    return rec !== null;
  }

  // ---------------------------------------------------------------- connections

  private accept(t: Transport): void {
    if (this.state !== 'running') {
      t.close(CloseCode.DRAINING, 'draining');
      return;
    }
    const connId = newConnId();
    const s = new Session(connId, t, this.log, {
      perSec: this.o.rateLimitPerSec,
      burst: this.o.rateLimitBurst,
    });
    this.sessions.add(s);
    this.byConn.set(connId, s);
    this.connCount[t.kind]++;
    this.metrics.connections.inc({ transport: t.kind });
    t.onPacket((text) => this.onPacketText(s, text));
    t.onViolation((reason) => {
      this.metrics.protocolErrors.inc({ reason: 'framing' });
      if (s.debugEnabled) s.log.debug({ reason }, 'protocol violation, closing');
    });
    t.onClose(() => this.onSessionClosed(s));
    if (s.debugEnabled) s.log.debug('connected');
  }

  private sweepIdle(): void {
    const cutoff = Date.now() - this.idleMs;
    const udpCutoff = Date.now() - this.udpIdleMs;
    for (const s of this.sessions) {
      if (s.lastSeen < (s.transport.kind === 'udp' ? udpCutoff : cutoff) && s.state !== 'closed') {
        if (s.debugEnabled) s.log.debug('idle timeout');
        this.closeSession(s, CloseCode.IDLE_TIMEOUT, 'idle timeout');
      }
    }
  }

  private closeSession(s: Session, code: number, reason: string): void {
    if (s.state === 'closed') return;
    s.transport.close(code, reason);
    // The transport ignores what arrives from now on (acks included), so the messages this session
    // holds unacked go offline now, before newer messages for the user that fail to write: the
    // offline queue keeps the order they were sent in.
    this.releaseCustody(s);
  }

  /** Messages written to `s` and not acked fall to offline storage. */
  private releaseCustody(s: Session): void {
    for (const k of s.pendingIn) {
      const c = this.custody.get(k);
      if (c && c.state === 'delivering') void this.toOffline(c);
    }
    s.pendingIn.clear();
  }

  private onSessionClosed(s: Session): void {
    if (s.state === 'closed' && !this.sessions.has(s)) return;
    s.state = 'closed';
    this.sessions.delete(s);
    this.byConn.delete(s.connId);
    this.connCount[s.transport.kind]--;
    this.metrics.connections.dec({ transport: s.transport.kind });
    const uid = s.userId;
    if (uid !== null && this.byUser.get(uid) === s) {
      this.byUser.delete(uid);
      this.o.routes.unregister(uid, s.connId).catch((err) => s.log.warn({ err }, 'route unregister failed'));
      this.safeHook(() => this.hooks.onUserOffline?.(uid, { connId: s.connId, kickCode: s.kickCode }));
      this.emit({ type: 'logout', at: Date.now(), nodeId: this.nodeId, userId: uid, connId: s.connId, kickCode: s.kickCode });
    }
    // Messages written to this connection and not acked fall to offline storage now.
    this.releaseCustody(s);
    if (s.debugEnabled) s.log.debug({ userId: uid }, 'closed');
  }

  /** Write a packet to a session; closes it as a slow consumer when its buffer is over the bound. */
  private write(s: Session, wire: string, type: number): boolean {
    if (s.state === 'closed') return false;
    if (!s.transport.send(wire)) return false;
    this.metrics.packetsOut.inc(type);
    if (s.transport.bufferedBytes() > this.o.maxOutboundBytes) {
      this.metrics.slowConsumerCloses.inc();
      s.log.warn({ buffered: s.transport.bufferedBytes() }, 'slow consumer, closing');
      this.closeSession(s, CloseCode.SLOW_CONSUMER, 'slow consumer');
      return false;
    }
    return true;
  }

  /**
   * Whether `s` can receive `wire`: MobileIMSDK TCP clients drop the connection on an inbound frame
   * over their body limit (protocol §3.1), so such a frame would knock the receiver offline at every
   * delivery attempt; its UDP clients read 1024-byte datagrams (§3.3). WebSocket frames were already
   * bounded when the sender's frame was read.
   */
  private fits(s: Session, wire: string): boolean {
    const kind = s.transport.kind;
    if (kind === 'ws') return true;
    const max = kind === 'tcp' ? this.o.tcpMaxBodyBytes : D.DEFAULT_UDP_MAX_DATAGRAM_OUT_BYTES;
    return wire.length * 3 <= max || Buffer.byteLength(wire) <= max;
  }

  private send(s: Session, p: Packet): boolean {
    return this.write(s, encodePacket(p), p.type);
  }

  private sendError(s: Session, code: number, msg: string): void {
    this.send(s, errorPacket(code, msg));
  }

  // ---------------------------------------------------------------- inbound packets

  private onPacketText(s: Session, text: string): void {
    if (s.state === 'closed') return;
    s.lastSeen = Date.now();
    let p: Packet;
    try {
      p = decodePacket(text);
    } catch (err) {
      // MobileIMSDK closes on garbage; we say why first.
      this.metrics.protocolErrors.inc({ reason: err instanceof ProtocolError ? err.code : 'unknown' });
      this.sendError(s, ErrorCode.BAD_PACKET, err instanceof Error ? err.message : 'bad packet');
      this.closeSession(s, CloseCode.PROTOCOL_ERROR, 'bad packet');
      return;
    }
    this.metrics.packetsIn.inc(p.type);
    const bucket = p.type === PacketType.DATA ? s.bucket : s.controlBucket;
    if (!bucket.take()) {
      this.metrics.rateLimited.inc();
      if (bucket.refusedThisSecond > this.o.rateLimitPerSec * D.RATE_LIMIT_ABUSE_FACTOR) {
        s.log.warn('flooding far over the rate limit, closing');
        this.closeSession(s, CloseCode.PROTOCOL_ERROR, 'flood');
      } else if (p.type === PacketType.DATA) {
        this.sendError(s, ErrorCode.RATE_LIMITED, p.fp ?? 'rate limit exceeded');
      }
      return;
    }
    try {
      this.dispatchPacket(s, p);
    } catch (err) {
      // Defensive: a bug in handling one packet must never take the process down.
      s.log.error({ err }, 'packet handler failed');
      this.closeSession(s, CloseCode.PROTOCOL_ERROR, 'internal error');
    }
  }

  private dispatchPacket(s: Session, p: Packet): void {
    switch (p.type) {
      case PacketType.LOGIN:
        void this.login(s, p);
        return;
      case PacketType.ECHO:
        this.send(s, echoResponsePacket(p));
        return;
      case PacketType.LOGOUT:
        this.closeSession(s, CloseCode.BYE, 'Bye');
        return;
      case PacketType.KEEPALIVE:
      case PacketType.DATA:
      case PacketType.ACK:
        if (!s.isOnline) {
          // MobileIMSDK: error 301 with the rejected packet, then close.
          this.send(s, errorPacket(ErrorCode.UNLOGIN, encodePacket(p)));
          this.closeSession(s, CloseCode.BYE, 'Bye');
          return;
        }
        if (p.type === PacketType.KEEPALIVE) this.send(s, keepAliveResponsePacket(s.userId!));
        else if (p.type === PacketType.DATA) this.onData(s, p);
        else this.onAckFromClient(s, p);
        return;
      default:
        if (s.debugEnabled) s.log.debug({ type: p.type }, 'ignoring packet of unknown type');
    }
  }

  // ---------------------------------------------------------------- login

  private async login(s: Session, p: Packet): Promise<void> {
    let info: LoginInfo;
    try {
      info = parseLoginInfo(p.dataContent);
    } catch (err) {
      this.metrics.logins.inc({ result: 'malformed' });
      if (s.debugEnabled) s.log.debug({ err }, 'malformed login');
      this.closeSession(s, CloseCode.PROTOCOL_ERROR, 'malformed login');
      return;
    }
    const uid = info.loginUserId as UserId;
    if (s.state === 'authenticating') return; // one login at a time
    if (s.isOnline && s.userId !== uid) {
      this.sendError(s, ErrorCode.BAD_PACKET, 'already logged in as another user');
      return;
    }
    const relogin = s.isOnline;
    if (!relogin) {
      s.state = 'authenticating';
      let code: number;
      try {
        code = this.hooks.verifyLogin
          ? await this.hooks.verifyLogin(uid, info.loginToken, info.extra)
          : await this.o.verifyLogin({ userId: uid, token: info.loginToken, extra: info.extra, remote: s.transport.remote });
      } catch (err) {
        s.log.warn({ err }, 'login verification failed');
        code = ErrorCode.AUTH_UNAVAILABLE;
      }
      if ((s.state as string) === 'closed') return;
      if (code !== ErrorCode.OK) return this.failLogin(s, code, 'rejected');
    }

    const firstLoginTime = info.firstLoginTime > 0 ? info.firstLoginTime : Date.now();
    const route: Route = { userId: uid, nodeId: this.nodeId, connId: s.connId, firstLoginTime, since: Date.now() };
    let result;
    try {
      const current = await this.o.routes.lookup(uid);
      const stale = current && current.connId !== s.connId && !(await this.isNodeAlive(current.nodeId)) ? current.connId : undefined;
      result = await this.o.routes.claim(route, info.firstLoginTime, stale === undefined ? {} : { staleConnId: stale });
    } catch (err) {
      s.log.warn({ err }, 'route store unavailable at login');
      if (relogin) return;
      return this.failLogin(s, ErrorCode.UNAVAILABLE, 'unavailable');
    }
    if (s.state === 'closed') {
      // The connection went away while we claimed: give the route back.
      if (result.outcome === 'claimed') void this.o.routes.unregister(uid, s.connId).catch(() => {});
      return;
    }

    s.loggedIn(uid);
    s.firstLoginTime = firstLoginTime;
    s.extra = info.extra;
    s.state = 'online';
    this.send(s, loginResponsePacket(uid, { code: ErrorCode.OK, firstLoginTime }));

    if (result.outcome === 'rejected') {
      // An older device reconnecting after being superseded: MobileIMSDK answers OK then kicks it.
      this.metrics.logins.inc({ result: 'superseded' });
      this.kickLocal(s, KickoutCode.DUPLICATE_LOGIN, null);
      return;
    }
    this.metrics.logins.inc({ result: 'ok' });
    const previous = this.byUser.get(uid);
    this.byUser.set(uid, s);
    if (result.replaced && result.kickReplaced) this.kickRoute(result.replaced, KickoutCode.DUPLICATE_LOGIN, null);
    else if (previous && previous !== s && result.kickReplaced === false && result.replaced) {
      if (s.debugEnabled) s.log.debug('same device reconnected; the older connection stays open but unregistered');
    }
    if (!relogin) {
      this.safeHook(() => this.hooks.onUserOnline?.(uid, { connId: s.connId, transport: s.transport.kind, extra: info.extra }));
      this.emit({ type: 'login', at: Date.now(), nodeId: this.nodeId, userId: uid, connId: s.connId, transport: s.transport.kind, extra: info.extra });
      if (s.debugEnabled) s.log.debug('logged in');
    }
    await this.deliverOffline(s);
  }

  private failLogin(s: Session, code: number, result: string): void {
    this.metrics.logins.inc({ result });
    s.state = 'open';
    this.send(s, loginResponsePacket('-1', { code, firstLoginTime: -1 }));
    this.closeSession(s, CloseCode.LOGIN_FAILED, 'login failed');
  }

  /** Kick the session a route names, wherever it lives. */
  private kickRoute(r: Route, code: number, reason: string | null): void {
    if (r.nodeId === this.nodeId) {
      const old = this.byConn.get(r.connId);
      if (old) this.kickLocal(old, code, reason);
      return;
    }
    this.o.bridge
      .send(r.nodeId, { type: 'kick', origin: this.nodeId, userId: r.userId, connId: r.connId, code, reason })
      .catch((err) => {
        if (!(err instanceof UnroutableError)) this.log.warn({ err, node: r.nodeId }, 'could not send kick');
      });
  }

  private kickLocal(s: Session, code: number, reason: string | null): void {
    if (s.state === 'closed') return;
    s.kickCode = code;
    this.metrics.kicks.inc({ code });
    if (s.userId !== null && this.byUser.get(s.userId) === s && code === KickoutCode.DUPLICATE_LOGIN) {
      // The route already belongs to the newer session; just stop treating this one as registered.
      this.byUser.delete(s.userId);
    }
    this.send(s, kickoutPacket(s.userId ?? '-1', code, reason));
    this.closeSession(s, CloseCode.KICKED, code === KickoutCode.ADMIN ? 'kicked' : 'duplicate login');
  }

  /**
   * Admin kick (kickout code 2): closes the user's session wherever it is.
   * Resolves false when the user has no live route.
   */
  async kickUser(userId: string, reason: string | null): Promise<boolean> {
    const uid = userId as UserId;
    const local = this.byUser.get(uid);
    if (local) {
      this.kickLocal(local, KickoutCode.ADMIN, reason);
      return true;
    }
    const r = await this.o.routes.lookup(uid);
    if (!r || !(await this.isNodeAlive(r.nodeId))) return false;
    this.kickRoute(r, KickoutCode.ADMIN, reason);
    return true;
  }

  /** Deliver every connected user's offline queue again (after an outage sent their messages there). */
  redeliverOffline(reason: string): void {
    if (this.state !== 'running') return;
    this.log.info({ users: this.byUser.size, reason }, 'delivering offline queues of connected users');
    for (const s of this.byUser.values()) void this.deliverOffline(s);
  }

  /**
   * Claim again the routes of every connected user, e.g. after Redis restarted and lost them
   * (architecture §11), then deliver what reached their offline queues meanwhile. The kick rule
   * applies as at login, with each session's own firstLoginTime.
   */
  async reassertRoutes(): Promise<void> {
    if (this.state !== 'running') return;
    let n = 0;
    for (const s of [...this.byUser.values()]) {
      if (s.state !== 'online' || s.userId === null) continue;
      const route: Route = { userId: s.userId, nodeId: this.nodeId, connId: s.connId, firstLoginTime: s.firstLoginTime, since: Date.now() };
      try {
        const r = await this.o.routes.claim(route, s.firstLoginTime);
        if (r.outcome === 'rejected') this.kickLocal(s, KickoutCode.DUPLICATE_LOGIN, null);
        else if (r.replaced && r.kickReplaced) this.kickRoute(r.replaced, KickoutCode.DUPLICATE_LOGIN, null);
        n++;
      } catch (err) {
        this.log.warn({ err }, 'could not re-register routes; will retry at the next reconnect');
        return;
      }
    }
    this.log.info({ routes: n }, 're-registered the routes of connected users');
    this.redeliverOffline('route store reconnected');
  }

  private async deliverOffline(s: Session): Promise<void> {
    const uid = s.userId!;
    let msgs;
    try {
      msgs = await this.o.offline.peek(uid, D.DEFAULT_OFFLINE_DELIVERY_BATCH);
    } catch (err) {
      s.log.warn({ err }, 'offline queue unavailable at login; it will be delivered at a later login');
      return;
    }
    for (const m of msgs) {
      if (s.state === 'closed') return;
      // Kept for a later login on a transport that carries it (WebSocket).
      if (!this.fits(s, m.packet)) continue;
      // Pace the queue to the connection: written all at once, a long queue of big messages would
      // overflow the slow-consumer bound on every login and never be delivered. Keep half of the
      // bound free for live traffic; a message is always written into an empty buffer.
      const size = Buffer.byteLength(m.packet);
      while (s.transport.bufferedBytes() > 0 && s.transport.bufferedBytes() + size > this.o.maxOutboundBytes / 2) {
        await sleep(5);
        if ((s.state as string) === 'closed') return;
      }
      this.inbound.set(key(uid, m.fp), { origin: this.nodeId, sender: '' as UserId, viaOffline: true });
      this.write(s, m.packet, PacketType.DATA);
    }
    if (msgs.length > 0) s.log.debug({ count: msgs.length }, 'delivered offline queue');
  }

  // ---------------------------------------------------------------- messages

  private onData(s: Session, p: Packet): void {
    const uid = s.userId!;
    if (p.from !== uid) {
      this.metrics.protocolErrors.inc({ reason: 'from_mismatch' });
      this.sendError(s, ErrorCode.FROM_MISMATCH, `from "${p.from}" is not the logged-in user`);
      return;
    }
    this.msgCount++;
    if (p.to === SERVER_UID) return this.onC2S(s, p);
    if (p.to === '' || p.to === '-1') {
      this.sendError(s, ErrorCode.BAD_PACKET, 'data packet without a receiver');
      return;
    }
    if (p.QoS && (p.fp === null || p.fp === '')) {
      this.sendError(s, ErrorCode.BAD_PACKET, 'QoS packet without fp');
      return;
    }
    if (this.hooks.beforeRelay) {
      let code = 0;
      try {
        code = this.hooks.beforeRelay(p);
      } catch (err) {
        s.log.warn({ err }, 'beforeRelay hook failed; rejecting');
        code = ErrorCode.REJECTED;
      }
      if (code !== 0) {
        this.sendError(s, code, p.fp ?? 'rejected');
        return;
      }
    }
    const wire = encodePacket(p.bridge ? { ...p, bridge: false } : p);
    if (!p.QoS) {
      void this.relayBestEffort(p.to as UserId, wire, s);
      return;
    }
    const fp = p.fp!;
    const k = key(uid, fp);
    if (this.custody.has(k)) return; // a resend while we still hold it: the ack will come
    if (this.c2cDone.has(k)) {
      // Already delivered or stored: the sender missed our ack.
      this.send(s, ackPacket(p.to, uid, fp));
      return;
    }
    this.takeCustody({
      key: k,
      fp,
      sender: uid,
      senderConn: s.connId,
      receiver: p.to as UserId,
      packet: p,
      wire,
      kind: 'c2c',
    });
  }

  private onC2S(s: Session, p: Packet): void {
    this.metrics.messages.inc('c2s');
    const uid = s.userId!;
    const draft: ImEventDraft = { type: 'c2s', at: Date.now(), nodeId: this.nodeId, from: uid, fp: p.fp, typeu: p.typeu, dataContent: p.dataContent };
    if (!(p.QoS && p.fp)) {
      this.safeHook(() => this.hooks.onC2S?.(p));
      this.emit(draft);
      return;
    }
    const fp = p.fp;
    const k = key(uid, fp);
    if (this.c2sSeen.has(k)) {
      this.send(s, ackPacket(SERVER_UID, uid, fp)); // the client missed our ack
      return;
    }
    if (this.c2sPublishing.has(k)) return; // the ack follows the publish under way
    if (this.events === null) {
      this.c2sSeen.set(k, true);
      this.send(s, ackPacket(SERVER_UID, uid, fp));
      this.safeHook(() => this.hooks.onC2S?.(p));
      return;
    }
    // At least once to the application: ack only once the broker has the event (architecture §12).
    this.c2sPublishing.add(k);
    this.events.publish(withEventId(draft)).then(
      () => {
        this.c2sPublishing.delete(k);
        this.c2sSeen.set(k, true);
        this.safeHook(() => this.hooks.onC2S?.(p));
        if (s.state !== 'closed') this.send(s, ackPacket(SERVER_UID, uid, fp));
      },
      (err: unknown) => {
        this.c2sPublishing.delete(k);
        // No ack: the client resends with the same fp, and the publish is tried again.
        s.log.warn({ err }, 'c2s event not published; not acking, the client will resend');
      },
    );
  }

  /** Publish an event without waiting; a failure is logged, never fatal. */
  private emit(draft: ImEventDraft): void {
    if (this.events === null) return;
    this.events.publish(withEventId(draft)).catch((err: unknown) => {
      const skipped = this.quiet.event.take();
      if (skipped >= 0) this.log.warn({ err, type: draft.type, skipped }, 'event not published');
    });
  }

  private emitMessage(type: 'c2c.delivered' | 'c2c.offline' | 'lost', c: Custody, extra: { latencyMs?: number; reason?: string }): void {
    if (this.events === null) return;
    const common = { at: Date.now(), nodeId: this.nodeId, from: c.sender, to: c.receiver, fp: c.fp, typeu: c.packet.typeu };
    if (type === 'lost') this.emit({ ...common, type, reason: extra.reason ?? 'error' });
    else if (type === 'c2c.offline') this.emit({ ...common, type, dataContent: c.packet.dataContent });
    else this.emit({ ...common, type, dataContent: c.packet.dataContent, latencyMs: extra.latencyMs ?? 0 });
  }

  /** Non-QoS: delivered if the receiver is online, dropped otherwise. */
  private async relayBestEffort(to: UserId, wire: string, from?: Session): Promise<void> {
    const local = this.byUser.get(to);
    if (local) {
      if (!this.fits(local, wire)) {
        this.metrics.lost.inc({ reason: 'too_large' });
        if (from) this.sendError(from, ErrorCode.MESSAGE_TOO_LARGE, 'message too large for the receiver');
        return;
      }
      this.metrics.messages.inc('c2c_local');
      this.write(local, wire, PacketType.DATA);
      return;
    }
    try {
      const r = await this.o.routes.lookup(to);
      if (!r || r.nodeId === this.nodeId || !(await this.isNodeAlive(r.nodeId))) return;
      this.metrics.messages.inc('c2c_remote');
      await this.o.bridge.send(r.nodeId, { type: 'deliver', origin: this.nodeId, to, fp: null, packet: wire });
    } catch {
      // best effort
    }
  }

  /**
   * A server push (from "0") to a user anywhere in the cluster. With QoS it follows the custody
   * path (delivered and acked, or stored offline); without, it is best effort.
   */
  push(to: string, dataContent: string, opts: { typeu?: number; qos?: boolean; fp?: string } = {}): PushResult {
    const qos = opts.qos ?? true;
    const fp = opts.fp ?? newFingerprint();
    const p: Packet = {
      bridge: false,
      type: PacketType.DATA,
      dataContent,
      from: SERVER_UID,
      to,
      fp: qos ? fp : null,
      QoS: qos,
      typeu: opts.typeu ?? -1,
      sm: Date.now(),
    };
    const wire = encodePacket(p);
    this.metrics.messages.inc('s2c');
    if (!qos) {
      void this.relayBestEffort(to as UserId, wire);
      return { fp };
    }
    this.takeCustody({
      key: key(SERVER_UID, fp),
      fp,
      sender: SERVER_UID as UserId,
      senderConn: null,
      receiver: to as UserId,
      packet: p,
      wire,
      kind: 's2c',
    });
    return { fp };
  }

  /** Hold the message until the receiver's ack (or the offline store) settles it; start delivering it. */
  private takeCustody(claim: CustodyClaim): void {
    const c: Custody = {
      key: claim.key,
      fp: claim.fp,
      sender: claim.sender,
      senderConn: claim.senderConn,
      receiver: claim.receiver,
      packet: claim.packet,
      wire: claim.wire,
      kind: claim.kind,
      receivedAt: Date.now(),
      attempt: 0,
      state: 'delivering',
      ackedWhileStoring: false,
      triedConns: [],
    };
    this.custody.set(c.key, c);
    this.metrics.custodyPending.set(this.custody.size);
    void this.attemptDelivery(c);
  }

  /** Write to a local receiver, or look up its node and relay. Synchronous on the local path (the hot one). */
  private attemptDelivery(c: Custody): void | Promise<void> {
    c.attempt++;
    const local = this.byUser.get(c.receiver);
    if (local) {
      if (!this.fits(local, c.wire)) return this.tooLarge(c);
      if (c.kind === 'c2c') this.metrics.messages.inc('c2c_local');
      if (!this.write(local, c.wire, PacketType.DATA)) return this.toOffline(c);
      if (!c.triedConns.includes(local.connId)) c.triedConns.push(local.connId);
      local.pendingIn.add(c.key);
      this.inbound.set(key(c.receiver, c.fp), { origin: this.nodeId, sender: c.sender, viaOffline: false });
      return this.armTimer(c);
    }
    return this.relay(c);
  }

  private async relay(c: Custody): Promise<void> {
    let target: NodeId | null = null;
    let targetConn: ConnId | null = null;
    try {
      const r = await this.o.routes.lookup(c.receiver);
      if (r && r.nodeId !== this.nodeId && (await this.isNodeAlive(r.nodeId))) {
        target = r.nodeId;
        targetConn = r.connId;
      }
    } catch (err) {
      const skipped = this.quiet.lookup.take();
      if (skipped >= 0) this.log.warn({ err, skipped }, 'route lookup failed; storing offline');
    }
    if (c.state !== 'delivering') return;
    if (target === null) return this.toOffline(c);
    if (c.kind === 'c2c') this.metrics.messages.inc('c2c_remote');
    const t0 = performance.now();
    try {
      await this.o.bridge.send(target, { type: 'deliver', origin: this.nodeId, to: c.receiver, fp: c.fp, packet: c.wire });
      this.metrics.bridgePublish.observe((performance.now() - t0) / 1000);
      if (targetConn !== null && !c.triedConns.includes(targetConn)) c.triedConns.push(targetConn);
    } catch (err) {
      if (!(err instanceof UnroutableError)) {
        const skipped = this.quiet.bridgeSend.take();
        if (skipped >= 0) this.log.warn({ err, node: target, skipped }, 'bridge send failed; storing offline');
      }
      if (c.state === 'delivering') return this.toOffline(c);
      return;
    }
    if (c.state === 'delivering') this.armTimer(c);
  }

  /** After the first attempt wait for the resend; after the second, for the move offline. */
  private armTimer(c: Custody): void {
    this.clearTimer(c);
    if (c.attempt === 1) this.resendDue.add(c);
    else this.giveUpDue.add(c);
  }

  private clearTimer(c: Custody): void {
    this.resendDue.delete(c);
    this.giveUpDue.delete(c);
  }

  /** The receiver's connection cannot carry the message: end custody, tell the sender (error 1031, no ack). */
  private tooLarge(c: Custody): void {
    this.finish(c);
    this.metrics.lost.inc({ reason: 'too_large' });
    this.safeHook(() => this.hooks.onLost?.(c.packet, 'too_large'));
    this.emitMessage('lost', c, { reason: 'too_large' });
    const s = c.senderConn ? this.byConn.get(c.senderConn) : undefined;
    if (s && s.state !== 'closed') this.sendError(s, ErrorCode.MESSAGE_TOO_LARGE, c.fp);
  }

  /** The receiver acked: end custody and tell the sender (architecture §5 step 3). */
  private onReceiverAck(sender: UserId, fp: string, receiver: UserId): void {
    const c = this.custody.get(key(sender, fp));
    if (!c || c.receiver !== receiver) {
      // A late ack: the message may already sit in the receiver's offline queue.
      this.o.offline.remove(receiver, fp).catch(() => {});
      return;
    }
    if (c.state === 'storing') {
      c.ackedWhileStoring = true;
      return;
    }
    if (c.state === 'done') return;
    this.metrics.deliveryLatency.observe((Date.now() - c.receivedAt) / 1000);
    this.finish(c);
    this.ackSender(c);
    if (this.hooks.onDelivered) this.safeHook(() => this.hooks.onDelivered?.(c.packet));
    this.emitMessage('c2c.delivered', c, { latencyMs: Date.now() - c.receivedAt });
  }

  private finish(c: Custody): void {
    c.state = 'done';
    this.clearTimer(c);
    this.custody.delete(c.key);
    this.byUser.get(c.receiver)?.pendingIn.delete(c.key);
    this.metrics.custodyPending.set(this.custody.size);
  }

  private ackSender(c: Custody): void {
    if (c.kind === 's2c') return;
    this.c2cDone.set(c.key, true);
    const byConn = c.senderConn ? this.byConn.get(c.senderConn) : undefined;
    const s = byConn && byConn.userId === c.sender && byConn.state !== 'closed' ? byConn : this.byUser.get(c.sender);
    if (s) this.send(s, ackPacket(c.receiver, c.sender, c.fp));
  }

  /** Architecture §5 step 5: store for the receiver, then ack the sender once the store is durable. */
  private async toOffline(c: Custody): Promise<void> {
    if (c.state !== 'delivering') return;
    c.state = 'storing';
    this.clearTimer(c);
    let outcome: 'stored' | 'duplicate' | 'full' | 'error';
    try {
      outcome = await this.o.offline.store(c.receiver, { fp: c.fp, packet: c.wire });
    } catch (err) {
      const skipped = this.quiet.offlineStore.take();
      if (skipped >= 0) this.log.warn({ err, skipped }, 'offline store unavailable; the sender will resend');
      outcome = 'error';
    }
    if (outcome === 'stored' || outcome === 'duplicate') {
      this.metrics.offlineStored.inc();
      this.safeHook(() => this.hooks.onStoredOffline?.(c.packet));
      this.emitMessage('c2c.offline', c, {});
      this.finish(c);
      this.ackSender(c);
      if (c.ackedWhileStoring) {
        await this.o.offline.remove(c.receiver, c.fp).catch(() => {});
      } else {
        void this.nudge(c);
      }
      return;
    }
    this.finish(c);
    this.metrics.lost.inc({ reason: outcome });
    this.safeHook(() => this.hooks.onLost?.(c.packet, outcome));
    this.emitMessage('lost', c, { reason: outcome });
    if (outcome === 'full') {
      const s = c.senderConn ? this.byConn.get(c.senderConn) : undefined;
      if (s) this.sendError(s, ErrorCode.OFFLINE_QUEUE_FULL, c.fp);
    }
  }

  /**
   * The receiver may have logged in while we stored its message (after its gateway drained the
   * queue). Deliver one copy without custody; its ack removes the queue entry.
   */
  private async nudge(c: Custody): Promise<void> {
    const local = this.byUser.get(c.receiver);
    if (local) {
      // A connection that already got the message (and its resend) without acking gets no third copy.
      if (c.triedConns.includes(local.connId) || !this.fits(local, c.wire)) return;
      this.inbound.set(key(c.receiver, c.fp), { origin: this.nodeId, sender: c.sender, viaOffline: true });
      this.write(local, c.wire, PacketType.DATA);
      return;
    }
    let r: Route | null;
    try {
      r = await this.o.routes.lookup(c.receiver);
      if (!r || r.nodeId === this.nodeId || c.triedConns.includes(r.connId) || !(await this.isNodeAlive(r.nodeId))) return;
    } catch {
      return; // it stays queued for the next login
    }
    try {
      await this.o.bridge.send(r.nodeId, { type: 'deliver', origin: this.nodeId, to: c.receiver, fp: c.fp, packet: c.wire });
    } catch (err) {
      // It stays queued for the next login. If our link is what failed (not a missing queue there,
      // whose node redelivers at its own reconnect), nudge again when the link is back.
      if (!(err instanceof UnroutableError) && this.nudgeAgain.size < D.MAX_NUDGE_AGAIN) this.nudgeAgain.set(c.key, c);
    }
  }

  /** A type-4 ack from a logged-in client: the receiver confirms `fp`. */
  private onAckFromClient(s: Session, p: Packet): void {
    const fp = p.dataContent;
    if (!fp) return;
    const uid = s.userId!;
    const k = key(uid, fp);
    const rec = this.inbound.get(k);
    if (!rec) {
      // Unknown: expired record or a second ack. Make sure the queue does not redeliver it.
      this.o.offline.remove(uid, fp).catch(() => {});
      return;
    }
    this.inbound.delete(k);
    if (rec.viaOffline) {
      this.metrics.offlineDelivered.inc();
      this.o.offline.remove(uid, fp).catch((err) => s.log.warn({ err }, 'offline remove failed'));
      // The sender was acked when the message was stored: nothing to relay.
      return;
    }
    if (rec.origin === this.nodeId) {
      this.onReceiverAck(rec.sender, fp, uid);
      return;
    }
    this.metrics.acksRelayed.inc();
    this.o.bridge.send(rec.origin, { type: 'ack', origin: this.nodeId, fp, from: uid, to: rec.sender }).catch(() => {
      // The origin is gone; the sender resends through another node and the receiver dedupes.
    });
  }

  // ---------------------------------------------------------------- bridge

  private onBridgeMessage(msg: BridgeMessage): void {
    try {
      switch (msg.type) {
        case 'deliver': {
          const s = this.byUser.get(msg.to);
          if (!s) return; // the origin's custody times out and stores it offline
          if (!this.fits(s, msg.packet)) return; // likewise: kept offline for a WebSocket login
          if (msg.fp !== null) {
            let sender: UserId;
            try {
              sender = decodePacket(msg.packet).from as UserId;
            } catch {
              this.log.warn({ origin: msg.origin }, 'undecodable packet on the bridge');
              return;
            }
            this.inbound.set(key(msg.to, msg.fp), { origin: msg.origin, sender, viaOffline: false });
          }
          this.write(s, msg.packet, PacketType.DATA);
          return;
        }
        case 'ack':
          this.metrics.acksRelayed.inc();
          this.onReceiverAck(msg.to, msg.fp, msg.from);
          return;
        case 'kick': {
          const s = this.byConn.get(msg.connId);
          if (s && s.userId === msg.userId) this.kickLocal(s, msg.code, msg.reason);
          return;
        }
        case 'push':
          // A push from dispatch for a user of this node: custody starts here.
          this.push(msg.to, msg.dataContent, { typeu: msg.typeu, qos: msg.qos, fp: msg.fp });
          return;
        case 'control':
          if (msg.action === 'drain') void this.drain();
          return;
      }
    } catch (err) {
      this.log.error({ err }, 'bridge message handler failed');
    }
  }

  // ---------------------------------------------------------------- admin views

  /** Sessions for the admin API, oldest first. */
  listConnections(offset: number, limit: number) {
    const out = [];
    let i = 0;
    for (const s of this.sessions) {
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
    return { total: this.sessions.size, offset, limit, connections: out };
  }

  /** True when `userId` has a registered session on this node. */
  hasUser(userId: string): boolean {
    return this.byUser.has(userId as UserId);
  }

  private safeHook(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.warn({ err }, 'application hook failed');
    }
  }
}

function listen(server: HttpServer | TcpServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, backlog: 4096 }, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
