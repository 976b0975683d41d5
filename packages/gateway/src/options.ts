import type { Logger, NodeId, TlsCredentials } from '@switchboard/core';
import { DEFAULT_GROUP_PREFIX, type Bridge, type GroupStore, type HistoryStore, type NodeRegistry, type OfflineStore, type PresenceStore, type RouteStore } from '@switchboard/cluster';
import { senseModeTimings, type SenseMode } from '@switchboard/protocol';
import type { LoginVerifier } from './auth.js';
import type { GatewayHooks } from './hooks.js';
import type { EventSink, PushNeeded } from './events.js';
import type { GatewayMetrics } from './metrics.js';
import type { OfflineBudget, StorageCeiling } from '@switchboard/cluster';
import type { ReceiverExists } from './delivery/receiver-check.js';
import * as D from './defaults.js';

/** Everything a gateway needs. Backends are injected: memory ones for standalone, Redis/AMQP for a cluster. */
export interface GatewayOptions {
  nodeId?: NodeId;
  log: Logger;
  routes: RouteStore;
  offline: OfflineStore;
  nodes: NodeRegistry;
  bridge: Bridge;
  verifyLogin: LoginVerifier;
  /**
   * Conversation history (`IM_HISTORY`): every accepted C2C message and server push is written
   * there, with its seq, before it is delivered. Absent or null: no history (messages carry no seq).
   */
  history?: HistoryStore | null;
  /**
   * Group membership (issue 15, docs/groups.md): data packets to `groupPrefix + gid` go to the group's
   * members. Absent or null: no groups (such packets are ordinary C2C messages).
   */
  groups?: GroupStore | null;
  /** Prefix of group addresses (`IM_GROUP_PREFIX`); a login with a user id starting with it is refused. @default 'g:' */
  groupPrefix?: string;
  hooks?: GatewayHooks;
  /** Users' last-seen times (docs/presence.md): `RedisPresenceStore` in a cluster. @default a MemoryPresenceStore */
  presence?: PresenceStore;
  /** Presence changes are broadcast to every gateway once per this interval, ms. @default DEFAULT_PRESENCE_INTERVAL_MS (1000) */
  presenceIntervalMs?: number;
  /** At most one typing signal per sender per target this often, ms. @default DEFAULT_TYPING_INTERVAL_MS (2000) */
  typingIntervalMs?: number;
  /** `push.needed` is sent once per offline user per this window, ms. @default DEFAULT_PUSH_WINDOW_MS (2000) */
  pushWindowMs?: number;
  /** Whether `push.needed` carries a preview of the message (`IM_PUSH_PREVIEW`). @default true */
  pushPreview?: boolean;
  /**
   * The offline-push hook as an option (the same as `hooks.onPushNeeded`; both are called when both
   * are given): messages were stored for an offline user, batched per user per `pushWindowMs`.
   */
  onPushNeeded?: (push: PushNeeded) => void;
  /**
   * The per-sender budget of offline-stored bytes (`RedisOfflineBudget` in a cluster, so it holds
   * across gateways). @default a MemoryOfflineBudget of 8 MiB per sender per hour
   */
  offlineBudget?: OfflineBudget;
  /** The total budget: offline stores are refused while this says the storage is over its ceiling. @default none */
  storageCeiling?: StorageCeiling | null;
  /** The receiver check (`IM_RECEIVER_CHECK_URL`); the `receiverExists` hook takes precedence. @default none */
  receiverExists?: ReceiverExists;
  /** How long receiver-check answers are reused, ms. @default DEFAULT_RECEIVER_CHECK_CACHE_MS */
  receiverCheckCacheMs?: number;
  /**
   * Where events go (architecture §12, docs/events.md). A C2S QoS message is acked only once its
   * `c2s` event's publish resolved. Not closed by the gateway. @default none
   */
  events?: EventSink;
  /** Address the listeners bind. @default 127.0.0.1 */
  bindHost?: string;
  /** Host name handed to clients. @default bindHost */
  publicHost?: string;
  /**
   * TLS (`IM_TLS_CERT` / `IM_TLS_KEY`): the WebSocket listener serves `wss://` and the TCP listener
   * TLS, each new connection with the credentials' current pair (they reload without a restart).
   * The node record says so, and dispatch hands out `wss://` and a TLS TCP endpoint. @default none
   */
  tls?: TlsCredentials | null;
  /**
   * The WebSocket URL dispatch hands out for this gateway, for a TLS-terminating proxy in front of
   * it (`IM_PUBLIC_WS_URL`): `{port}` is replaced by the bound WebSocket port, `{node}` by the node
   * id. @default `ws://` (`wss://` with `tls`) + publicHost + the bound port + `/websocket`
   */
  publicWsUrl?: string | null;
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
  /** How long the relay reuses a remote user's route (`IM_ROUTE_CACHE_MS`); 0 asks the route store for every message. @default DEFAULT_ROUTE_CACHE_MS */
  routeCacheMs?: number;
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
  /** A connection that has not logged in this long after opening is closed (4003). @default DEFAULT_LOGIN_TIMEOUT_MS */
  loginTimeoutMs?: number;
  /** Most connections of every transport; more are closed at once (4004). @default DEFAULT_MAX_CONNECTIONS */
  maxConnections?: number;
  /** Most WebSocket/TCP connections not logged in per source address (4005). @default DEFAULT_MAX_UNAUTH_PER_IP */
  maxUnauthPerIp?: number;
  /** Whether the route/offline backends answer, for readiness. @default always true */
  backendsUp?: () => boolean;
  metrics?: GatewayMetrics;
}

/** The options with every default applied: what the gateway's modules read. */
export type GatewayConfig = Required<
  Omit<GatewayOptions, 'nodeId' | 'log' | 'history' | 'groups' | 'hooks' | 'presence' | 'onPushNeeded' | 'events' | 'metrics' | 'tcpPort' | 'backendsUp' | 'routes' | 'offline' | 'nodes' | 'bridge' | 'verifyLogin' | 'offlineBudget' | 'storageCeiling' | 'receiverExists' | 'tls' | 'publicWsUrl'>
> & {
  tcpPort: number | null;
  tls: TlsCredentials | null;
  publicWsUrl: string | null;
  /** Sense-mode idle timeouts of stream (WS/TCP) and UDP sessions, ms. */
  idleMs: number;
  udpIdleMs: number;
};

/** Apply the defaults (gateway/src/defaults.ts) to `opts`. */
export function resolveGatewayConfig(opts: GatewayOptions): GatewayConfig {
  const bindHost = opts.bindHost ?? '127.0.0.1';
  const drainTimeoutMs = opts.drainTimeoutMs ?? D.DEFAULT_DRAIN_TIMEOUT_MS;
  const senseMode = opts.senseMode ?? D.DEFAULT_SENSE_MODE;
  const timings = senseModeTimings(senseMode);
  return {
    bindHost,
    publicHost: opts.publicHost ?? bindHost,
    tls: opts.tls ?? null,
    publicWsUrl: opts.publicWsUrl ?? null,
    wsPort: opts.wsPort ?? D.DEFAULT_WS_PORT,
    tcpPort: opts.tcpPort === undefined ? D.DEFAULT_TCP_PORT : opts.tcpPort,
    udpPort: opts.udpPort ?? null,
    udpMaxSessions: opts.udpMaxSessions ?? D.DEFAULT_UDP_MAX_SESSIONS,
    udpBlockMs: opts.udpBlockMs ?? D.DEFAULT_UDP_BLOCK_MS,
    senseMode,
    custodyResendMs: opts.custodyResendMs ?? D.DEFAULT_CUSTODY_RESEND_MS,
    routeCacheMs: opts.routeCacheMs ?? D.DEFAULT_ROUTE_CACHE_MS,
    custodyGiveUpMs: opts.custodyGiveUpMs ?? D.DEFAULT_CUSTODY_GIVE_UP_MS,
    c2sDedupeMs: opts.c2sDedupeMs ?? D.DEFAULT_C2S_DEDUPE_MS,
    c2cDedupeMs: opts.c2cDedupeMs ?? D.DEFAULT_C2C_DEDUPE_MS,
    maxOutboundBytes: opts.maxOutboundBytes ?? D.DEFAULT_MAX_OUTBOUND_BYTES,
    rateLimitPerSec: opts.rateLimitPerSec ?? D.DEFAULT_RATE_LIMIT_PER_SEC,
    rateLimitBurst: opts.rateLimitBurst ?? D.DEFAULT_RATE_LIMIT_BURST,
    tcpMaxBodyBytes: opts.tcpMaxBodyBytes ?? D.DEFAULT_TCP_MAX_BODY_BYTES,
    wsMaxFrameBytes: opts.wsMaxFrameBytes ?? D.DEFAULT_WS_MAX_FRAME_BYTES,
    nodeReportIntervalMs: opts.nodeReportIntervalMs ?? D.DEFAULT_NODE_REPORT_INTERVAL_MS,
    nodeTtlMs: opts.nodeTtlMs ?? D.DEFAULT_NODE_TTL_MS,
    sweepIntervalMs: opts.sweepIntervalMs ?? D.DEFAULT_SWEEP_INTERVAL_MS,
    drainTimeoutMs,
    drainSpreadMs: opts.drainSpreadMs ?? Math.min(D.DEFAULT_DRAIN_SPREAD_MAX_MS, Math.floor(drainTimeoutMs / 3)),
    groupPrefix: opts.groupPrefix ?? DEFAULT_GROUP_PREFIX,
    loginTimeoutMs: opts.loginTimeoutMs ?? D.DEFAULT_LOGIN_TIMEOUT_MS,
    maxConnections: opts.maxConnections ?? D.DEFAULT_MAX_CONNECTIONS,
    maxUnauthPerIp: opts.maxUnauthPerIp ?? D.DEFAULT_MAX_UNAUTH_PER_IP,
    receiverCheckCacheMs: opts.receiverCheckCacheMs ?? D.DEFAULT_RECEIVER_CHECK_CACHE_MS,
    presenceIntervalMs: opts.presenceIntervalMs ?? D.DEFAULT_PRESENCE_INTERVAL_MS,
    typingIntervalMs: opts.typingIntervalMs ?? D.DEFAULT_TYPING_INTERVAL_MS,
    pushWindowMs: opts.pushWindowMs ?? D.DEFAULT_PUSH_WINDOW_MS,
    pushPreview: opts.pushPreview ?? true,
    idleMs: timings.serverIdleMs,
    udpIdleMs: timings.udpServerIdleMs,
  };
}
