import { CloseCode } from '@switchboard/protocol';
import { delay, newNodeId, type Logger, type NodeId, type UserId } from '@switchboard/core';
import type { Bridge, NodeRegistry, RouteStore } from '@switchboard/cluster';
import { createGatewayMetrics, type GatewayMetrics } from './metrics.js';
import { resolveGatewayConfig, type GatewayConfig, type GatewayOptions } from './options.js';
import { Listeners } from './listeners.js';
import { SessionHub } from './sessions/session-hub.js';
import type { Session } from './sessions/session.js';
import { Logins } from './sessions/login.js';
import { PacketRouter } from './sessions/packet-router.js';
import { Outcomes } from './delivery/outcomes.js';
import { InboundLedger } from './delivery/inbound.js';
import { LocalDelivery } from './delivery/local-delivery.js';
import { RouteResolver } from './delivery/route-resolver.js';
import { CustodyDesk } from './delivery/custody.js';
import { Messages, type PushResult } from './delivery/messages.js';
import { C2SHandler } from './delivery/c2s.js';
import { OfflineDelivery } from './delivery/offline-delivery.js';
import { HistoryWriter } from './delivery/history-writer.js';
import { MemoryOfflineBudget, MemoryPresenceStore } from '@switchboard/cluster';
import { OfflineAdmission } from './delivery/offline-admission.js';
import { ReceiverCheck } from './delivery/receiver-check.js';
import { DEFAULT_RECEIVER_CHECK_CACHE_ENTRIES, DEFAULT_ROUTE_CACHE_ENTRIES } from './defaults.js';
import { GroupReceiver } from './delivery/group-receiver.js';
import { GroupSender } from './delivery/group-sender.js';
import { GroupCatchUp } from './delivery/group-catchup.js';
import { NodeReporter } from './node/node-reporter.js';
import { BridgeHandler } from './bridge/bridge-handler.js';
import { PresenceHub } from './presence/presence-hub.js';
import { TypingRelay } from './presence/typing.js';
import { PushNeededReporter } from './presence/push-needed.js';
import { DEFAULT_PRESENCE_BATCH_MAX } from './defaults.js';

export type { GatewayOptions } from './options.js';
export type { PushResult } from './delivery/messages.js';

export type GatewayState = 'created' | 'running' | 'draining' | 'closed';

/** Poll interval while a drain waits for custody to settle. */
const DRAIN_POLL_MS = 50;

/**
 * A Switchboard gateway node: the composition root of its parts (docs/internals.md). Listeners hand
 * connections to the packet router; sessions live in the hub; logins claim routes; messages go
 * through custody (local write, bridge relay, offline storage); the node reporter keeps the
 * registry record; the bridge handler takes what other nodes send. See architecture §5 and §6 for
 * the delivery and login contracts.
 */
export class Gateway {
  readonly nodeId: NodeId;
  readonly log: Logger;
  readonly metrics: GatewayMetrics;
  state: GatewayState = 'created';
  readonly startedAt = Date.now();

  private readonly cfg: GatewayConfig;
  private readonly routes: RouteStore;
  private readonly nodes: NodeRegistry;
  private readonly bridge: Bridge;
  private readonly backendsUp: () => boolean;
  private readonly hub: SessionHub;
  private readonly custody: CustodyDesk;
  private readonly admission: OfflineAdmission;
  private readonly groupReceiver: GroupReceiver;
  private readonly groupCatchUp: GroupCatchUp | null;
  private readonly messages: Messages;
  private readonly logins: Logins;
  private readonly offlineDelivery: OfflineDelivery;
  private readonly router: PacketRouter;
  private readonly reporter: NodeReporter;
  private readonly bridgeHandler: BridgeHandler;
  private readonly listeners: Listeners;
  /** Watchers and presence broadcasts (docs/presence.md). */
  readonly presence: PresenceHub;
  /** The offline-push hook: `push.needed` per offline user per window. */
  readonly pushNeeded: PushNeededReporter;

  private timers: NodeJS.Timeout[] = [];
  private ports = { ws: 0, tcp: 0, udp: 0, admin: 0 };
  private drainPromise: Promise<void> | null = null;
  private closePromise: Promise<void> | null = null;
  private resolveClosed: () => void = () => {};
  /** Resolves once the gateway closed, whether through `close()`, a drain, or a drain request from the cluster. */
  readonly closed: Promise<void> = new Promise((r) => {
    this.resolveClosed = r;
  });

  constructor(opts: GatewayOptions) {
    this.nodeId = opts.nodeId ?? newNodeId();
    this.log = opts.log.child({ nodeId: this.nodeId });
    this.metrics = opts.metrics ?? createGatewayMetrics();
    this.cfg = resolveGatewayConfig(opts);
    this.routes = opts.routes;
    this.nodes = opts.nodes;
    this.bridge = opts.bridge;
    this.backendsUp = opts.backendsUp ?? (() => true);
    const { nodeId, log, metrics, cfg } = this;

    const hub = (this.hub = new SessionHub(metrics, cfg));
    const outcomes = new Outcomes(nodeId, log, metrics, opts.hooks ?? {}, opts.events ?? null);
    const pushNeeded = (this.pushNeeded = new PushNeededReporter({ nodeId, metrics, outcomes, windowMs: cfg.pushWindowMs, preview: cfg.pushPreview, onPushNeeded: opts.onPushNeeded }));
    outcomes.onStoredFor = (m) => pushNeeded.stored(m);
    const inbound = new InboundLedger();
    const local = new LocalDelivery(hub, inbound);
    const resolver = new RouteResolver(nodeId, opts.routes, opts.nodes, () => this.state !== 'closed', {
      ttlMs: cfg.routeCacheMs,
      maxEntries: DEFAULT_ROUTE_CACHE_ENTRIES,
      count: (result) => metrics.routeCache.inc(result),
    });
    const admission = (this.admission = new OfflineAdmission(opts.offlineBudget ?? new MemoryOfflineBudget(), opts.storageCeiling ?? null, log));
    const exists = opts.hooks?.receiverExists?.bind(opts.hooks) ?? opts.receiverExists;
    const receivers = exists ? new ReceiverCheck(exists, { cacheMs: cfg.receiverCheckCacheMs, maxEntries: DEFAULT_RECEIVER_CHECK_CACHE_ENTRIES, log }) : null;
    const custody = (this.custody = new CustodyDesk({
      ...{ nodeId, log, metrics, hub, local, resolver, outcomes, admission, receivers },
      ...{ bridge: opts.bridge, offline: opts.offline },
      ...{ resendMs: cfg.custodyResendMs, giveUpMs: cfg.custodyGiveUpMs, c2cDedupeMs: cfg.c2cDedupeMs },
    }));
    const groupReceiver = (this.groupReceiver = new GroupReceiver(nodeId, log, hub, local, opts.history ?? null, { resendMs: cfg.custodyResendMs, giveUpMs: cfg.custodyGiveUpMs }));
    const presence = (this.presence = new PresenceHub({
      ...{ nodeId, log, metrics, hub, bridge: opts.bridge, resolver },
      ...{ store: opts.presence ?? new MemoryPresenceStore(), intervalMs: cfg.presenceIntervalMs, batchMax: DEFAULT_PRESENCE_BATCH_MAX },
    }));
    hub.onRelease = (s) => {
      custody.release(s);
      groupReceiver.release(s);
      presence.release(s);
    };
    const history = opts.history ? new HistoryWriter(opts.history, log, metrics) : null;
    const groupAcks = (member: UserId, fp: string, group: { gid: string; seq: number }) => groupReceiver.onAck(member, fp, group);
    const messages = (this.messages = new Messages({ nodeId, log, metrics, hub, local, inbound, resolver, bridge: opts.bridge, custody, outcomes, history, groupAcks }));
    const groups = opts.groups
      ? new GroupSender({ nodeId, log, metrics, hub, bridge: opts.bridge, groups: opts.groups, history, receiver: groupReceiver, resolver, outcomes, prefix: cfg.groupPrefix })
      : null;
    const catchUp = (this.groupCatchUp = opts.groups && opts.history ? new GroupCatchUp(log, hub, opts.groups, opts.history, groupReceiver, cfg.groupPrefix) : null);
    if (catchUp) groupReceiver.onUncaught = (s, gid) => catchUp.group(s, gid);
    this.offlineDelivery = new OfflineDelivery(nodeId, log, hub, local, opts.offline, inbound);
    custody.onOfflineRemoved = (receiver, fp) => this.offlineDelivery.removed(receiver, fp);
    const logins = (this.logins = new Logins({
      ...{ nodeId, log, metrics, hub, resolver, outcomes },
      ...{ routes: opts.routes, bridge: opts.bridge, verifyLogin: opts.verifyLogin, offline: this.offlineDelivery },
      groupPrefix: groups ? cfg.groupPrefix : null,
      ...(catchUp ? { catchUp: (s: Session) => catchUp.run(s) } : {}),
      onOnline: (uid: UserId) => presence.changed(uid, true),
    }));
    const typing = new TypingRelay({ nodeId, log, metrics, hub, bridge: opts.bridge, resolver, groups: opts.groups ?? null, groupPrefix: cfg.groupPrefix, intervalMs: cfg.typingIntervalMs });
    const c2s = new C2SHandler(nodeId, metrics, hub, outcomes, cfg.c2sDedupeMs);
    this.reporter = new NodeReporter({
      ...{ nodeId, log, metrics, resolver, nodes: opts.nodes, routes: opts.routes, ttlMs: cfg.nodeTtlMs },
      describe: () => ({
        host: cfg.publicHost,
        ports: { ...this.ports },
        state: this.state === 'running' ? 'active' : 'draining',
        connections: hub.size,
        startedAt: this.startedAt,
        ...(cfg.tls ? { tls: true } : {}),
        ...(cfg.publicWsUrl ? { wsUrl: cfg.publicWsUrl.replaceAll('{port}', String(this.ports.ws)).replaceAll('{node}', nodeId) } : {}),
      }),
      open: () => this.state !== 'closed',
      running: () => this.state === 'running',
      onDrainRequested: () => void this.drain(),
      onPurged: (users) => presence.purged(users),
    });
    this.router = new PacketRouter({
      ...{ nodeId, log, metrics, hub, logins, messages, c2s, outcomes, routes: opts.routes, groups, groupPrefix: cfg.groupPrefix },
      accepting: () => this.state === 'running',
      countMessage: () => this.reporter.countMessage(),
      rate: { perSec: cfg.rateLimitPerSec, burst: cfg.rateLimitBurst },
      signals: { watch: (s, p) => presence.watch(s, p), typing: (s, p) => typing.onTyping(s, p), offline: (uid) => presence.changed(uid, false) },
      idle: { streamMs: cfg.idleMs, udpMs: cfg.udpIdleMs, loginMs: cfg.loginTimeoutMs },
    });
    this.bridgeHandler = new BridgeHandler({
      ...{ nodeId, log, bridge: opts.bridge, metrics, hub, local, custody, messages, logins, groupReceiver },
      drain: () => void this.drain(),
      presence: (changes) => {
        // A login or logout anywhere: the user's cached route may be stale.
        for (const c of changes) resolver.forget(c.uid);
        presence.onChanges(changes);
      },
      redeliverOffline: (reason) => this.redeliverOffline(reason),
      forgetRoutes: () => resolver.forgetAll(),
    });
    this.listeners = new Listeners(
      cfg,
      log,
      (t) => this.router.accept(t),
      (reason) => metrics.protocolErrors.inc({ reason: `udp_${reason}` }),
    );
  }

  // ---------------------------------------------------------------- lifecycle

  /** Bind the listeners, join the bridge and start reporting. Resolves with the bound ports. */
  async start(): Promise<{ ws: number; tcp: number; udp: number }> {
    if (this.state !== 'created') throw new Error('gateway already started');
    await this.bridge.start(this.bridgeHandler.onMessage);
    this.bridge.onStateChange(this.bridgeHandler.onStateChange);
    const bound = await this.listeners.listen();
    this.ports = { ...bound, admin: this.ports.admin };
    this.reporter.start();
    this.state = 'running';
    await this.reporter.report().catch((err: unknown) => this.log.warn({ err }, 'first node report failed'));
    this.every(this.cfg.nodeReportIntervalMs, () => this.reporter.report());
    this.every(this.cfg.sweepIntervalMs, () => this.reporter.sweepDeadNodes());
    this.every(this.cfg.presenceIntervalMs, () => this.presence.flush());
    this.every(1_000, () => {
      this.router.sweepIdle();
      this.metrics.offlineOverCeiling.set(this.admission.overCeiling ? 1 : 0);
    });
    this.log.info({ ports: this.ports, senseMode: this.cfg.senseMode }, 'gateway listening');
    return bound;
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
    if (this.bridge.state !== 'up') return { ready: false, reason: `bridge ${this.bridge.state}` };
    if (!this.backendsUp()) return { ready: false, reason: 'route store unreachable' };
    return { ready: true };
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
    const deadline = Date.now() + this.cfg.drainTimeoutMs;
    this.log.info({ connections: this.hub.size, custody: this.custody.size }, 'draining');
    await this.reporter.report().catch((err: unknown) => this.log.warn({ err }, 'node report at drain failed; the record expires instead'));
    this.listeners.stopAccepting();
    await this.closeAllSpread();
    // Custody of messages whose receivers left falls to offline storage as they close;
    // messages from senders still waiting finish or time out into the offline queue.
    while (this.custody.size > 0 && Date.now() < deadline) await delay(DRAIN_POLL_MS);
    this.custody.storeAllOffline();
    while (this.custody.size > 0 && Date.now() < deadline) await delay(DRAIN_POLL_MS);
    await this.purgeOwnRoutes('route purge failed');
    await this.close();
  }

  /** Close every client: small nodes at once, big ones in up to 20 batches of ≥ 100 spread over drainSpreadMs. */
  private async closeAllSpread(): Promise<void> {
    const all = [...this.hub.sessions()];
    const batches = Math.max(1, Math.min(20, Math.ceil(all.length / 100)));
    const step = this.cfg.drainSpreadMs / batches;
    for (let b = 0; b < batches; b++) {
      for (let i = b; i < all.length; i += batches) this.hub.close(all[i]!, CloseCode.DRAINING, 'draining');
      if (step > 0 && b < batches - 1) await delay(step);
    }
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
    this.reporter.stop();
    this.listeners.stopAccepting();
    for (const s of [...this.hub.sessions()]) this.hub.close(s, CloseCode.DRAINING, 'server shutting down');
    // UDP sessions share the listener's socket, so it closes only after them.
    await this.listeners.closeUdp();
    this.custody.clear();
    this.pushNeeded.close();
    this.groupCatchUp?.close();
    await this.groupReceiver.close();
    if (wasState !== 'created') {
      // Best effort on the way out: what fails here expires (node record, routes) or is deleted by
      // the broker (the node's queue), so a failure is logged only.
      await this.purgeOwnRoutes('route purge at close failed; the sweepers purge them');
      await this.presence.flush(); // this node's last presence changes, before the bridge goes
      await this.nodes.remove(this.nodeId).catch((err: unknown) => this.log.warn({ err }, 'node record removal failed; it expires'));
      await this.bridge.close().catch((err: unknown) => this.log.warn({ err }, 'bridge close failed'));
    }
    this.log.info('gateway closed');
    this.resolveClosed();
  }

  /** Remove this node's routes; their users are offline (presence). */
  private async purgeOwnRoutes(failure: string): Promise<void> {
    try {
      this.presence.purged(await this.routes.purgeNode(this.nodeId));
    } catch (err) {
      this.log.warn({ err }, failure);
    }
  }

  // ---------------------------------------------------------------- operations

  /**
   * A server push (from "0") to a user anywhere in the cluster. With QoS it follows the custody
   * path (delivered and acked, or stored offline); without, it is best effort.
   */
  push(to: string, dataContent: string, opts: { typeu?: number; qos?: boolean; fp?: string } = {}): PushResult {
    return this.messages.push(to, dataContent, opts);
  }

  /** Admin kick (kickout code 2): closes the user's session wherever it is. Resolves false when the user has no live route. */
  kickUser(userId: string, reason: string | null): Promise<boolean> {
    return this.logins.kickUser(userId as UserId, reason);
  }

  /** Deliver every connected user's offline queue again (after an outage sent their messages there). */
  redeliverOffline(reason: string): void {
    if (this.state !== 'running') return;
    this.offlineDelivery.redeliverAll(reason);
  }

  /**
   * Claim again the routes of every connected user, e.g. after Redis restarted and lost them
   * (architecture §11), then deliver what reached their offline queues meanwhile.
   */
  async reassertRoutes(): Promise<void> {
    if (this.state !== 'running') return;
    if (await this.logins.reassertAll()) this.redeliverOffline('route store reconnected');
  }

  /** Sessions for the admin API, oldest first. */
  listConnections(offset: number, limit: number) {
    return this.hub.list(offset, limit);
  }

  /** True when `userId` has a registered session on this node. */
  hasUser(userId: string): boolean {
    return this.hub.user(userId as UserId) !== undefined;
  }
}
