import { createLogger, Lifecycle, newNodeId, asNodeId, type Logger, type NodeId } from '@switchboard/core';
import { LocalBus, LocalBridge, MemoryGroupStore, MemoryHistoryStore, MemoryNodeRegistry, MemoryOfflineStore, MemoryPresenceStore, MemoryRouteStore } from '@switchboard/cluster';
import {
  Gateway,
  WebhookSink,
  adminGuard,
  metricsGuard,
  buildGatewayAdmin,
  createLoginVerifier,
  createUserAuthenticator,
  fanOut,
  registerBridgeMetrics,
  createGatewayMetrics,
  countEventSink,
  registerBackendMetrics,
  registerHistoryMemoryMetrics,
  registerBuildInfo,
  registerEventsPendingMetric,
  registerWebhookMetrics,
  type GatewayMetrics,
  type AuthOptions,
  type EventSink,
  type GatewayHooks,
  type UserAuthenticator,
} from '@switchboard/gateway';
import { buildDispatch } from '@switchboard/dispatch';
import { HeapCeiling, MemoryOfflineBudget } from '@switchboard/cluster';
import { createReceiverCheckWebhook } from '@switchboard/gateway';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Config } from './config.js';
import { redactedConfig } from './config.js';
import { bindOrExplain, listenFailure, maskUrl, needRedis, rabbitFailure } from './boot-errors.js';
import { loadTls } from './tls.js';

/** The web chat page's build (`packages/web/dist`), which dispatch serves at `/`. */
export function webRoot(): string {
  return join(dirname(createRequire(import.meta.url).resolve('@switchboard/web/package.json')), 'dist');
}

/** This CLI's version (its package.json), for `switchboard_build_info`. */
function cliVersion(): string {
  return (createRequire(import.meta.url)('../package.json') as { version: string }).version;
}

/** A role's registry gets `switchboard_build_info` and, when it has any, `switchboard_backend_up` for its backends. */
function registerOpsMetrics(registry: GatewayMetrics['registry'], role: string, backends: Record<string, () => boolean>): void {
  registerBuildInfo(registry, { version: cliVersion(), role });
  if (Object.keys(backends).length > 0) registerBackendMetrics(registry, backends);
}

/** A running role: its ready line and how to stop it. */
export interface Running {
  ready: Record<string, unknown>;
  lifecycle: Lifecycle;
  /** Resolves when the role stopped on its own (a gateway drained by an operator). */
  closed?: Promise<void>;
  /** Graceful stop (drain for gateways). */
  stop(): Promise<void>;
}

export function rootLogger(cfg: Config): Logger {
  return createLogger({ level: cfg.logLevel, base: { role: cfg.role } });
}

function gatewayOptions(cfg: Config, log: Logger) {
  return {
    log,
    bindHost: cfg.bindHost,
    publicHost: cfg.publicHost,
    publicWsUrl: cfg.publicWsUrl ?? null,
    wsPort: cfg.ports.ws,
    tcpPort: cfg.ports.tcp,
    udpPort: cfg.ports.udp,
    senseMode: cfg.senseMode,
    custodyResendMs: cfg.custodyResendMs,
    routeCacheMs: cfg.routeCacheMs,
    custodyGiveUpMs: cfg.custodyGiveUpMs,
    rateLimitPerSec: cfg.rateLimitPerSec,
    rateLimitBurst: cfg.rateLimitBurst,
    maxOutboundBytes: cfg.maxOutboundBytes,
    tcpMaxBodyBytes: cfg.tcpMaxBodyBytes,
    drainTimeoutMs: cfg.drainTimeoutMs,
    loginTimeoutMs: cfg.loginTimeoutMs,
    maxConnections: cfg.maxConnections,
    maxUnauthPerIp: cfg.maxUnauthPerIp,
    udpMaxSessions: cfg.udpMaxSessions,
    ...receiverCheckOptions(cfg),
    groupPrefix: cfg.groupPrefix,
    presenceIntervalMs: cfg.presence.intervalMs,
    typingIntervalMs: cfg.presence.typingIntervalMs,
    pushWindowMs: cfg.push.windowMs,
    pushPreview: cfg.push.preview,
    verifyLogin: createLoginVerifier(authOptions(cfg, log)),
  };
}

/** `IM_AUTH` and its secret or URL, for logins and the user API alike. */
function authOptions(cfg: Config, log: Logger): AuthOptions {
  return {
    mode: cfg.auth,
    ...(cfg.jwtSecret === undefined ? {} : { jwtSecret: cfg.jwtSecret }),
    ...(cfg.authUrl === undefined ? {} : { httpUrl: cfg.authUrl }),
    log,
  };
}

/**
 * Dispatch's user API authentication (docs/history.md, docs/presence.md), verified as logins are. A dispatch with `IM_AUTH=jwt` but no secret (allowed, since dispatching needs none) gets none
 * either: its user API answers 503, as warned here.
 */
function userAuth(cfg: Config, log: Logger): UserAuthenticator | undefined {
  if (cfg.auth === 'jwt' && !cfg.jwtSecret) {
    log.warn('IM_AUTH=jwt without IM_JWT_SECRET: the user API (/api/history, /api/conversations, /api/presence) answers 503. Give dispatch the gateways\' IM_JWT_SECRET.');
    return undefined;
  }
  if (cfg.auth === 'none') log.warn('IM_AUTH=none: the user API takes the bearer token as the user id, so anyone can read anyone\'s history. Development only.');
  return createUserAuthenticator({ ...authOptions(cfg, log), groupPrefix: cfg.groupPrefix });
}

/** `{ userAuth }` for buildDispatch, or nothing. */
function withUserAuth(cfg: Config, log: Logger): { userAuth?: UserAuthenticator } {
  const auth = userAuth(cfg, log);
  return auth ? { userAuth: auth } : {};
}

/** `IM_REDIS_MODE` and the replica wait of acked writes, for `createRedisBackends`. */
function redisTopologyOptions(cfg: Config) {
  return {
    mode: cfg.redis.mode,
    ...(cfg.redis.mode === 'sentinel' ? { sentinelName: cfg.redis.sentinelName } : {}),
    waitReplicas: cfg.redis.waitReplicas,
    waitTimeoutMs: cfg.redis.waitTimeoutMs,
  };
}

/** The history options of `createRedisBackends` (none when history is off). */
function redisHistoryOptions(cfg: Config) {
  return cfg.history ? { historyMaxPerConversation: cfg.history.maxPerConversation, historyTtlMs: cfg.history.ttlMs } : {};
}

/** The receiver check (`IM_RECEIVER_CHECK_URL`), when set; an application's `receiverExists` hook takes precedence. */
function receiverCheckOptions(cfg: Config) {
  const rc = cfg.receiverCheck;
  return rc ? { receiverExists: createReceiverCheckWebhook({ url: rc.url, timeoutMs: rc.timeoutMs }), receiverCheckCacheMs: rc.cacheMs } : {};
}

async function startAdmin(gw: Gateway, cfg: Config, log: Logger, lifecycle: Lifecycle): Promise<number> {
  const admin = buildGatewayAdmin(gw, {
    ...(cfg.adminToken === undefined ? {} : { adminToken: cfg.adminToken }),
    ...(cfg.metricsToken === undefined ? {} : { metricsToken: cfg.metricsToken }),
    log,
  });
  await bindOrExplain('admin', cfg.bindHost, cfg.ports.admin, () => admin.listen({ port: cfg.ports.admin, host: cfg.bindHost }));
  lifecycle.onClose('gateway admin', () => admin.close());
  const port = (admin.server.address() as { port: number }).port;
  gw.setExtraPorts({ admin: port });
  return port;
}

/** `gw.start()`, a listener that cannot bind or RabbitMQ unreachable told as a BootError. */
async function startListening(gw: Gateway, cfg: Config): Promise<{ ws: number; tcp: number; udp: number }> {
  try {
    return await gw.start();
  } catch (err) {
    throw rabbitFailure(listenFailure(err, cfg.bindHost, 0), cfg.amqpUrl);
  }
}

function warnOpenAuth(cfg: Config, log: Logger): void {
  if (cfg.auth === 'none') log.warn('IM_AUTH=none: every login is accepted. Use jwt or http auth in production.');
  if (!cfg.adminToken) log.warn('IM_ADMIN_TOKEN is unset: admin endpoints answer only on loopback.');
}

/**
 * The gateway's event sink (docs/events.md): the events exchange when `IM_EVENTS=amqp` (started here,
 * so a gateway that cannot declare it fails at boot) and the webhook when `IM_WEBHOOK_URL` is set.
 * Registered on the lifecycle *before* the gateway, so it closes after the gateway stopped producing.
 */
async function startEvents(cfg: Config, nodeId: NodeId, log: Logger, lifecycle: Lifecycle, metrics: GatewayMetrics, up: Record<string, () => boolean>): Promise<EventSink | undefined> {
  const sinks: EventSink[] = [];
  const registry = metrics.registry;
  if (cfg.events === 'amqp') {
    const { AmqpEventsPublisher } = await import('@switchboard/cluster/amqp');
    const pub = new AmqpEventsPublisher({ url: cfg.amqpUrl, prefix: cfg.keyPrefix, name: nodeId, log, publishTimeoutMs: cfg.eventsTimeoutMs });
    lifecycle.onClose('events exchange', () => pub.close());
    await pub.start().catch((err: unknown) => {
      throw rabbitFailure(err, cfg.amqpUrl);
    });
    registerEventsPendingMetric(registry, () => pub.pendingCount);
    up['rabbitmq_events'] = () => pub.state === 'up';
    sinks.push(countEventSink(registry, 'amqp', pub));
  }
  if (cfg.webhook) {
    const hook = new WebhookSink({ ...cfg.webhook, log });
    lifecycle.onClose('webhook', () => hook.close());
    registerWebhookMetrics(registry, () => hook.stats());
    sinks.push(countEventSink(registry, 'webhook', hook));
  }
  return sinks.length === 0 ? undefined : fanOut(sinks);
}

/** `switchboard standalone`: dispatch + one gateway in one process, in-memory backends. */
export async function runStandalone(cfg: Config, hooks?: GatewayHooks): Promise<Running> {
  const log = rootLogger(cfg);
  log.info({ config: redactedConfig(cfg) }, 'starting standalone');
  warnOpenAuth(cfg, log);
  const lifecycle = new Lifecycle(log);
  const tls = loadTls(cfg, log, lifecycle);
  const routes = new MemoryRouteStore();
  const offline = new MemoryOfflineStore({ capacity: cfg.offlineCapacity, ttlMs: cfg.offlineTtlMs });
  // The queues live in this process: the per-sender budget is counted here and the total is the heap.
  const budgets = {
    offlineBudget: new MemoryOfflineBudget({ bytesPerWindow: cfg.offlineBudget.senderBytes, windowMs: cfg.offlineBudget.windowMs }),
    storageCeiling: new HeapCeiling({ maxBytes: cfg.offlineBudget.ceilingBytes }),
  };
  const nodes = new MemoryNodeRegistry();
  // One store for the gateway (membership checks, fan-out, catch-up) and dispatch (the admin API).
  const groups = new MemoryGroupStore({ maxMembers: cfg.groupMaxMembers });
  // Likewise one history store: the gateway writes it, dispatch serves it (and writes pushes).
  const history = cfg.history ? new MemoryHistoryStore({ ...cfg.history, maxBytes: cfg.history.memoryBytes }) : null;
  // And one presence store: the gateway records last-seen times, dispatch answers /api/presence.
  const presence = new MemoryPresenceStore({ ttlMs: cfg.presence.ttlMs });
  const nodeId: NodeId = cfg.nodeId ? asNodeId(cfg.nodeId) : newNodeId();
  const bus = new LocalBus();
  const bridge = new LocalBridge(bus, nodeId);
  // Dispatch has its own place on the bus, to send kicks and pushes to the gateway. It only sends:
  // nothing is addressed to it, so its handler ignores what arrives.
  const dispatchBridge = new LocalBridge(bus, newNodeId('dispatch'));
  await dispatchBridge.start(() => {});
  lifecycle.onClose('dispatch bridge', () => dispatchBridge.close());
  const metrics = createGatewayMetrics();
  const up: Record<string, () => boolean> = {};
  const events = await startEvents(cfg, nodeId, log, lifecycle, metrics, up);
  registerOpsMetrics(metrics.registry, 'standalone', up);
  if (history) registerHistoryMemoryMetrics(metrics.registry, () => history.memory);
  const gw = new Gateway({ ...gatewayOptions(cfg, log), tls, nodeId, metrics, routes, offline, ...budgets, nodes, bridge, groups, history, presence, ...(hooks ? { hooks } : {}), ...(events ? { events } : {}) });
  // The admin port is bound first so the gateway's first node report already carries it.
  const admin = await startAdmin(gw, cfg, log, lifecycle);
  lifecycle.onClose('gateway', () => gw.close());
  const ports = await startListening(gw, cfg);
  const { app, registry: dispatchRegistry } = buildDispatch({
    nodes,
    routes,
    offline,
    bridge: dispatchBridge,
    groups,
    history,
    presence,
    ...withUserAuth(cfg, log),
    groupPrefix: cfg.groupPrefix,
    groupMaxMembers: cfg.groupMaxMembers,
    log,
    senseMode: cfg.senseMode,
    guard: adminGuard(cfg.adminToken),
    // /metrics as on the gateways' admin port: IM_METRICS_TOKEN, else loopback or the admin token.
    metricsGuard: metricsGuard(cfg.metricsToken, cfg.adminToken),
    ...(cfg.adminToken === undefined ? {} : { adminToken: cfg.adminToken }),
    webRoot: webRoot(),
    ...(tls ? { tls } : {}),
  });
  registerOpsMetrics(dispatchRegistry, 'standalone', {});
  await bindOrExplain('dispatch', cfg.bindHost, cfg.ports.dispatch, () => app.listen({ port: cfg.ports.dispatch, host: cfg.bindHost }));
  lifecycle.onClose('dispatch', () => app.close());
  const dispatch = (app.server.address() as { port: number }).port;
  return {
    closed: gw.closed,
    ready: { event: 'ready', role: 'standalone', nodeId, ports: { ws: ports.ws, tcp: ports.tcp, udp: ports.udp, admin, dispatch } },
    lifecycle,
    stop: async () => {
      await gw.drain();
      await lifecycle.close();
    },
  };
}

/** `switchboard gateway`: one cluster gateway on Redis + RabbitMQ. */
export async function runGateway(cfg: Config, hooks?: GatewayHooks): Promise<Running> {
  const log = rootLogger(cfg);
  const nodeId: NodeId = cfg.nodeId ? asNodeId(cfg.nodeId) : newNodeId();
  log.info({ config: redactedConfig(cfg), nodeId }, 'starting gateway');
  warnOpenAuth(cfg, log);
  const lifecycle = new Lifecycle(log);
  const tls = loadTls(cfg, log, lifecycle);
  const { createRedisBackends, RedisGroupStore } = await import('@switchboard/cluster/redis');
  const { AmqpBridge } = await import('@switchboard/cluster/amqp');
  const backends = createRedisBackends({
    url: cfg.redisUrl,
    ...redisTopologyOptions(cfg),
    prefix: cfg.keyPrefix,
    log,
    name: nodeId,
    offlineCapacity: cfg.offlineCapacity,
    offlineTtlMs: cfg.offlineTtlMs,
    offlineSenderBudgetBytes: cfg.offlineBudget.senderBytes,
    offlineSenderWindowMs: cfg.offlineBudget.windowMs,
    offlineCeilingBytes: cfg.offlineBudget.ceilingBytes,
    presenceTtlMs: cfg.presence.ttlMs,
    ...redisHistoryOptions(cfg),
  });
  lifecycle.onClose('redis', () => backends.close());
  await needRedis(cfg.redisUrl, backends.redis, () => backends.redis.ping());
  const metrics = createGatewayMetrics();
  const up: Record<string, () => boolean> = {};
  const events = await startEvents(cfg, nodeId, log, lifecycle, metrics, up);
  const bridge = new AmqpBridge({ url: cfg.amqpUrl, prefix: cfg.keyPrefix, nodeId, log });
  const gw = new Gateway({
    ...(events ? { events } : {}),
    ...gatewayOptions(cfg, log),
    tls,
    nodeId,
    metrics,
    routes: backends.routes,
    offline: backends.offline,
    offlineBudget: backends.offlineBudget,
    storageCeiling: backends.storageCeiling,
    nodes: backends.nodes,
    bridge,
    groups: new RedisGroupStore({ redis: backends.redis, prefix: cfg.keyPrefix, maxMembers: cfg.groupMaxMembers, log }),
    history: cfg.history ? backends.history : null,
    presence: backends.presence,
    backendsUp: () => backends.isUp(),
    ...(hooks ? { hooks } : {}),
  });
  registerBridgeMetrics(gw.metrics.registry, () => bridge.stats());
  registerOpsMetrics(gw.metrics.registry, 'gateway', { redis: () => backends.isUp(), rabbitmq: () => bridge.state === 'up', ...up });
  const admin = await startAdmin(gw, cfg, log, lifecycle);
  lifecycle.onClose('gateway', () => gw.close());
  const ports = await startListening(gw, cfg);
  // After a Redis outage (it may have restarted empty), claim the connected users' routes again.
  let redisWasReady = true;
  backends.redis.on('close', () => {
    redisWasReady = false;
  });
  backends.redis.on('ready', () => {
    if (redisWasReady) return;
    redisWasReady = true;
    void gw.reassertRoutes();
  });
  return {
    closed: gw.closed,
    ready: { event: 'ready', role: 'gateway', nodeId, ports: { ws: ports.ws, tcp: ports.tcp, udp: ports.udp, admin } },
    lifecycle,
    stop: async () => {
      await gw.drain();
      await lifecycle.close();
    },
  };
}

/** `switchboard dispatch`: the dispatch service on Redis. */
export async function runDispatch(cfg: Config): Promise<Running> {
  const log = rootLogger(cfg);
  log.info({ config: redactedConfig(cfg) }, 'starting dispatch');
  if (!cfg.adminToken) log.warn('IM_ADMIN_TOKEN is unset: admin endpoints answer only on loopback.');
  const lifecycle = new Lifecycle(log);
  const tls = loadTls(cfg, log, lifecycle);
  const { createRedisBackends, RedisGroupStore } = await import('@switchboard/cluster/redis');
  const backends = createRedisBackends({ url: cfg.redisUrl, ...redisTopologyOptions(cfg), prefix: cfg.keyPrefix, log, name: 'dispatch', presenceTtlMs: cfg.presence.ttlMs, ...redisHistoryOptions(cfg) });
  lifecycle.onClose('redis', () => backends.close());
  await needRedis(cfg.redisUrl, backends.redis, () => backends.redis.ping());
  // Dispatch's own queue on the bridge, to send kicks, pushes and drain notices to gateways.
  const { AmqpBridge } = await import('@switchboard/cluster/amqp');
  // Dispatch only needs Redis to dispatch; without RabbitMQ, kicks answer 503 and pushes go to the
  // offline queue, and it keeps trying to join the bridge in the background.
  const bridge = new AmqpBridge({ url: cfg.amqpUrl, prefix: cfg.keyPrefix, nodeId: newNodeId('dispatch'), log });
  let bridgeTimer: NodeJS.Timeout | null = null;
  const joinBridge = (): void => {
    // Dispatch only sends on the bridge; nothing is addressed to it, so the handler ignores what arrives.
    bridge.start(() => {}).catch((err: unknown) => {
      log.warn({ err, amqpUrl: maskUrl(cfg.amqpUrl) }, `RabbitMQ at ${maskUrl(cfg.amqpUrl)} (IM_AMQP_URL) unreachable: kicks and live pushes unavailable; retrying in 5 s`);
      bridgeTimer = setTimeout(joinBridge, 5_000);
      bridgeTimer.unref();
    });
  };
  joinBridge();
  lifecycle.onClose('bridge', () => {
    if (bridgeTimer) clearTimeout(bridgeTimer);
    return bridge.close();
  });
  const { app, registry } = buildDispatch({
    nodes: backends.nodes,
    routes: backends.routes,
    offline: backends.offline,
    bridge,
    groups: new RedisGroupStore({ redis: backends.redis, prefix: cfg.keyPrefix, maxMembers: cfg.groupMaxMembers, log }),
    groupPrefix: cfg.groupPrefix,
    groupMaxMembers: cfg.groupMaxMembers,
    history: cfg.history ? backends.history : null,
    presence: backends.presence,
    ...withUserAuth(cfg, log),
    log,
    senseMode: cfg.senseMode,
    backendsUp: () => backends.isUp(),
    guard: adminGuard(cfg.adminToken),
    // /metrics as on the gateways' admin port: IM_METRICS_TOKEN, else loopback or the admin token.
    metricsGuard: metricsGuard(cfg.metricsToken, cfg.adminToken),
    ...(cfg.adminToken === undefined ? {} : { adminToken: cfg.adminToken }),
    webRoot: webRoot(),
    ...(tls ? { tls } : {}),
  });
  registerOpsMetrics(registry, 'dispatch', { redis: () => backends.isUp(), rabbitmq: () => bridge.state === 'up' });
  await bindOrExplain('dispatch', cfg.bindHost, cfg.ports.dispatch, () => app.listen({ port: cfg.ports.dispatch, host: cfg.bindHost }));
  lifecycle.onClose('dispatch', () => app.close());
  const port = (app.server.address() as { port: number }).port;
  return {
    ready: { event: 'ready', role: 'dispatch', ports: { dispatch: port } },
    lifecycle,
    stop: () => lifecycle.close(),
  };
}
