import { z } from 'zod';
import {
  DEFAULT_GROUP_MAX_MEMBERS,
  DEFAULT_GROUP_PREFIX,
  DEFAULT_HISTORY_MAX_PER_CONVERSATION,
  DEFAULT_HISTORY_TTL_DAYS,
  DEFAULT_OFFLINE_CAPACITY,
  DEFAULT_OFFLINE_TTL_MS,
  DEFAULT_PRESENCE_TTL_MS,
} from '@switchboard/cluster';
import { ConfigError, formatIssues } from '@switchboard/core';
import { DEFAULT_DISPATCH_PORT } from '@switchboard/dispatch';
import {
  DEFAULT_ADMIN_PORT,
  DEFAULT_CUSTODY_GIVE_UP_MS,
  DEFAULT_ROUTE_CACHE_MS,
  DEFAULT_CUSTODY_RESEND_MS,
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_MAX_OUTBOUND_BYTES,
  DEFAULT_RATE_LIMIT_BURST,
  DEFAULT_RATE_LIMIT_PER_SEC,
  DEFAULT_SENSE_MODE,
  DEFAULT_TCP_PORT,
  DEFAULT_UDP_MAX_SESSIONS,
  DEFAULT_UDP_PORT,
  DEFAULT_WEBHOOK_BATCH_SIZE,
  DEFAULT_WEBHOOK_FLUSH_INTERVAL_MS,
  DEFAULT_WEBHOOK_MAX_ATTEMPTS,
  DEFAULT_WEBHOOK_MAX_QUEUE,
  DEFAULT_WEBHOOK_TIMEOUT_MS,
  DEFAULT_WS_PORT,
} from '@switchboard/gateway';
import { DEFAULT_TCP_MAX_BODY_BYTES, SERVER_UID, UNSET_UID, parseSenseMode, type SenseMode } from '@switchboard/protocol';
import { DEFAULT_OFFLINE_SENDER_BUDGET_BYTES, DEFAULT_OFFLINE_SENDER_WINDOW_MS } from '@switchboard/cluster';
import {
  DEFAULT_LOGIN_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_UNAUTH_PER_IP,
  DEFAULT_RECEIVER_CHECK_CACHE_MS,
  DEFAULT_RECEIVER_CHECK_TIMEOUT_MS,
  DEFAULT_PRESENCE_INTERVAL_MS,
  DEFAULT_TYPING_INTERVAL_MS,
  DEFAULT_PUSH_WINDOW_MS,
} from '@switchboard/gateway';

function isUrl(v: string, protocols: string[]): boolean {
  try {
    const u = new URL(v);
    return protocols.includes(u.protocol) && u.hostname !== '';
  } catch {
    return false; // not a URL at all: the schema reports it as invalid
  }
}

/** A comma-separated list of one or more URLs of `protocols` (blank entries ignored). */
function isUrlList(v: string, protocols: string[]): boolean {
  const list = v.split(',').map((s) => s.trim()).filter((s) => s !== '');
  return list.length > 0 && list.every((u) => isUrl(u, protocols));
}

/**
 * Defaults with no importable source. The key prefix and the events publish timeout are
 * DEFAULT_KEY_PREFIX of `@switchboard/cluster/redis` and DEFAULT_EVENTS_PUBLISH_TIMEOUT_MS of
 * `@switchboard/cluster/amqp`, but importing those entry points loads ioredis and amqplib, which the
 * roles load only when they need them (standalone never does); keep these equal to them.
 */
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
const DEFAULT_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
const DEFAULT_KEY_PREFIX = 'im';
const DEFAULT_BIND_HOST = '127.0.0.1';
const DEFAULT_LOG_LEVEL = 'info';
const DEFAULT_EVENTS_TIMEOUT_MS = 2_000;
const DEFAULT_TLS_RELOAD_INTERVAL_MS = 10_000;
/** DEFAULT_REDIS_SENTINEL_NAME and DEFAULT_REDIS_WAIT_TIMEOUT_MS of `@switchboard/cluster/redis`. */
const DEFAULT_REDIS_SENTINEL_NAME = 'mymaster';
const DEFAULT_REDIS_WAIT_TIMEOUT_MS = 500;

/** A blank value counts as unset (its default), as for every other variable. */
const blankAsUnset = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const port = (dflt: number) => z.preprocess(blankAsUnset, z.coerce.number().int().min(0).max(65535).default(dflt));
const positiveMs = (dflt: number) => z.coerce.number().int().min(1).max(7 * 24 * 3600 * 1000 * 4).default(dflt);
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v));

/** Environment variables (architecture §2). Only this module reads process.env. */
const schema = z.object({
  // A comma-separated list in cluster and sentinel mode (seeds; checked against IM_REDIS_MODE below).
  IM_REDIS_URL: z
    .string()
    .refine((v) => isUrlList(v, ['redis:', 'rediss:']), 'must be a redis:// or rediss:// URL (cluster, sentinel: a comma-separated list of them)')
    .default(DEFAULT_REDIS_URL),
  IM_REDIS_MODE: z.preprocess(blankAsUnset, z.enum(['single', 'cluster', 'sentinel']).default('single')),
  IM_REDIS_SENTINEL_NAME: optionalString.refine((v) => v === undefined || /^[A-Za-z0-9_.-]{1,64}$/.test(v), 'letters, digits, _ . - only (1–64)'),
  IM_REDIS_WAIT_REPLICAS: z.preprocess(
    blankAsUnset,
    z.union([z.literal('auto'), z.coerce.number().int().min(0).max(16)]).default('auto'),
  ),
  // Below the Redis command timeout (2 s), which bounds the WAIT's round trip.
  IM_REDIS_WAIT_TIMEOUT_MS: z.preprocess(blankAsUnset, z.coerce.number().int().min(1).max(1_500).default(DEFAULT_REDIS_WAIT_TIMEOUT_MS)),
  // The nodes of one RabbitMQ cluster may be listed, comma-separated: reconnects walk the list.
  IM_AMQP_URL: z
    .string()
    .refine((v) => isUrlList(v, ['amqp:', 'amqps:']), 'must be an amqp:// or amqps:// URL, or a comma-separated list of them')
    .default(DEFAULT_AMQP_URL),
  IM_KEY_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - only (1–64)').default(DEFAULT_KEY_PREFIX),
  IM_NODE_ID: optionalString.refine((v) => v === undefined || /^[A-Za-z0-9_.-]{1,64}$/.test(v), 'letters, digits, _ . - only (1–64)'),
  IM_BIND_HOST: z.string().min(1).default(DEFAULT_BIND_HOST),
  IM_PUBLIC_HOST: optionalString,
  IM_WS_PORT: port(DEFAULT_WS_PORT),
  IM_TCP_PORT: port(DEFAULT_TCP_PORT),
  // Differs on purpose: a Gateway built without udpPort runs no UDP listener, but the CLI's roles
  // enable UDP by default, on the gateway's default port (IM_UDP_PORT=0 picks a free one).
  IM_UDP_PORT: port(DEFAULT_UDP_PORT),
  IM_ADMIN_PORT: port(DEFAULT_ADMIN_PORT),
  IM_DISPATCH_PORT: port(DEFAULT_DISPATCH_PORT),
  IM_SENSE_MODE: z
    .string()
    .default(DEFAULT_SENSE_MODE)
    .transform((v, ctx) => {
      const m = parseSenseMode(v);
      if (!m) ctx.addIssue({ code: 'custom', message: `unknown sense mode "${v}" (3S, 5S, 10S, 15S, 30S, 60S, 120S)` });
      return (m ?? DEFAULT_SENSE_MODE) as SenseMode;
    }),
  IM_AUTH: z.enum(['none', 'jwt', 'http']).optional(),
  IM_JWT_SECRET: optionalString,
  IM_AUTH_URL: optionalString,
  IM_ADMIN_TOKEN: optionalString,
  IM_METRICS_TOKEN: optionalString,
  IM_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default(DEFAULT_LOG_LEVEL),
  IM_CUSTODY_RESEND_MS: positiveMs(DEFAULT_CUSTODY_RESEND_MS),
  IM_CUSTODY_GIVE_UP_MS: positiveMs(DEFAULT_CUSTODY_GIVE_UP_MS),
  IM_ROUTE_CACHE_MS: z.preprocess(blankAsUnset, z.coerce.number().int().min(0).max(600_000).default(DEFAULT_ROUTE_CACHE_MS)),
  IM_RATE_LIMIT_PER_SEC: z.coerce.number().int().min(1).default(DEFAULT_RATE_LIMIT_PER_SEC),
  IM_RATE_LIMIT_BURST: z.coerce.number().int().min(1).default(DEFAULT_RATE_LIMIT_BURST),
  IM_MAX_OUTBOUND_BYTES: z.coerce.number().int().min(1024).default(DEFAULT_MAX_OUTBOUND_BYTES),
  IM_TCP_MAX_BODY_BYTES: z.coerce.number().int().min(64).max(16 * 1024 * 1024).default(DEFAULT_TCP_MAX_BODY_BYTES),
  IM_OFFLINE_CAPACITY: z.coerce.number().int().min(1).default(DEFAULT_OFFLINE_CAPACITY),
  IM_OFFLINE_TTL_MS: positiveMs(DEFAULT_OFFLINE_TTL_MS),
  IM_DRAIN_TIMEOUT_MS: positiveMs(DEFAULT_DRAIN_TIMEOUT_MS),
  IM_OFFLINE_SENDER_BUDGET_BYTES: z.preprocess(blankAsUnset, z.coerce.number().int().min(1).default(DEFAULT_OFFLINE_SENDER_BUDGET_BYTES)),
  IM_OFFLINE_SENDER_WINDOW_MS: z.preprocess(blankAsUnset, positiveMs(DEFAULT_OFFLINE_SENDER_WINDOW_MS)),
  IM_OFFLINE_STORAGE_CEILING_BYTES: z.preprocess(blankAsUnset, z.coerce.number().int().min(0).default(0)),
  IM_RECEIVER_CHECK_URL: optionalString.refine((v) => v === undefined || isUrl(v, ['http:', 'https:']), 'must be an http(s) URL'),
  IM_RECEIVER_CHECK_TIMEOUT_MS: z.preprocess(blankAsUnset, positiveMs(DEFAULT_RECEIVER_CHECK_TIMEOUT_MS)),
  IM_RECEIVER_CHECK_CACHE_MS: z.preprocess(blankAsUnset, z.coerce.number().int().min(0).max(24 * 3600 * 1000).default(DEFAULT_RECEIVER_CHECK_CACHE_MS)),
  IM_LOGIN_TIMEOUT_MS: z.preprocess(blankAsUnset, z.coerce.number().int().min(100).max(3_600_000).default(DEFAULT_LOGIN_TIMEOUT_MS)),
  IM_MAX_CONNECTIONS: z.preprocess(blankAsUnset, z.coerce.number().int().min(1).default(DEFAULT_MAX_CONNECTIONS)),
  IM_MAX_UNAUTH_PER_IP: z.preprocess(blankAsUnset, z.coerce.number().int().min(1).default(DEFAULT_MAX_UNAUTH_PER_IP)),
  // UDP pseudo-sessions (one per remote ip:port) a gateway keeps at once; each holds a session object and
  // a rate bucket, so 10 million bounds the memory a flood of forged addresses can take.
  IM_UDP_MAX_SESSIONS: z.preprocess(blankAsUnset, z.coerce.number().int().min(1).max(10_000_000).default(DEFAULT_UDP_MAX_SESSIONS)),
  IM_EVENTS: z.preprocess(blankAsUnset, z.enum(['amqp', 'off']).optional()),
  IM_EVENTS_TIMEOUT_MS: positiveMs(DEFAULT_EVENTS_TIMEOUT_MS),
  IM_WEBHOOK_URL: optionalString.refine((v) => v === undefined || isUrl(v, ['http:', 'https:']), 'must be an http(s) URL'),
  IM_WEBHOOK_SECRET: optionalString,
  IM_WEBHOOK_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(DEFAULT_WEBHOOK_BATCH_SIZE),
  IM_WEBHOOK_FLUSH_INTERVAL_MS: positiveMs(DEFAULT_WEBHOOK_FLUSH_INTERVAL_MS),
  IM_WEBHOOK_TIMEOUT_MS: positiveMs(DEFAULT_WEBHOOK_TIMEOUT_MS),
  IM_WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(DEFAULT_WEBHOOK_MAX_ATTEMPTS),
  IM_WEBHOOK_MAX_QUEUE: z.coerce.number().int().min(1).default(DEFAULT_WEBHOOK_MAX_QUEUE),
  // Every group message reads the whole member list: 10 000 bounds that read (and the admin API's body).
  IM_GROUP_MAX_MEMBERS: z.preprocess(blankAsUnset, z.coerce.number().int().min(1).max(10_000).default(DEFAULT_GROUP_MAX_MEMBERS)),
  IM_GROUP_PREFIX: z.preprocess(
    blankAsUnset,
    z
      .string()
      .regex(/^[^\s\p{Cc}]{1,16}$/u, '1–16 characters, no spaces or control characters')
      .refine((v) => !SERVER_UID.startsWith(v) && !UNSET_UID.startsWith(v), 'must not begin the reserved user ids "0" and "-1"')
      .default(DEFAULT_GROUP_PREFIX),
  ),
  // Presence, typing and push.needed (docs/presence.md).
  IM_PRESENCE_INTERVAL_MS: z.preprocess(blankAsUnset, z.coerce.number().int().min(10).max(60_000).default(DEFAULT_PRESENCE_INTERVAL_MS)),
  IM_PRESENCE_TTL_S: z.preprocess(blankAsUnset, z.coerce.number().int().min(1).max(3650 * 24 * 3600).default(DEFAULT_PRESENCE_TTL_MS / 1000)),
  IM_TYPING_INTERVAL_MS: z.preprocess(blankAsUnset, z.coerce.number().int().min(100).max(60_000).default(DEFAULT_TYPING_INTERVAL_MS)),
  IM_PUSH_WINDOW_MS: z.preprocess(blankAsUnset, z.coerce.number().int().min(0).max(600_000).default(DEFAULT_PUSH_WINDOW_MS)),
  IM_PUSH_PREVIEW: z.preprocess(blankAsUnset, z.enum(['on', 'off']).default('on')),
  IM_HISTORY: z.preprocess(blankAsUnset, z.enum(['on', 'off']).default('on')),
  IM_HISTORY_MAX_PER_CONVERSATION: z.preprocess(blankAsUnset, z.coerce.number().int().min(1).max(1_000_000).default(DEFAULT_HISTORY_MAX_PER_CONVERSATION)),
  IM_HISTORY_TTL_DAYS: z.preprocess(blankAsUnset, z.coerce.number().int().min(1).max(3650).default(DEFAULT_HISTORY_TTL_DAYS)),
  IM_HISTORY_MEMORY_BYTES: z.preprocess(blankAsUnset, z.coerce.number().int().min(0).default(0)),
  // Where the role writes its ready line once ready (removed at exit): the container health check reads it.
  IM_READY_FILE: optionalString,
  // TLS (docs/operations.md "TLS"): PEM files, both or neither; polled for changes and reloaded.
  IM_TLS_CERT: optionalString,
  IM_TLS_KEY: optionalString,
  IM_TLS_RELOAD_INTERVAL_MS: z.preprocess(blankAsUnset, z.coerce.number().int().min(100).max(3_600_000).default(DEFAULT_TLS_RELOAD_INTERVAL_MS)),
  // The WebSocket URL dispatch hands out for this gateway (a TLS-terminating proxy's); {port} and {node} are filled in.
  IM_PUBLIC_WS_URL: optionalString.refine(
    (v) => v === undefined || isUrl(v.replaceAll('{port}', '1').replaceAll('{node}', 'n'), ['ws:', 'wss:']),
    'must be a ws:// or wss:// URL (may contain {port} and {node})',
  ),
});

export type Role = 'standalone' | 'gateway' | 'dispatch' | 'cluster';

export interface Config {
  role: Role;
  redisUrl: string;
  /**
   * `IM_REDIS_MODE` and what goes with it (docs/operations.md "Scaling out Redis and RabbitMQ"): the
   * sentinel master's name (sentinel mode), and the replicas an acked offline store or history append
   * waits for (`auto`: one where the master has a replica) and for how long.
   */
  redis: { mode: 'single' | 'cluster' | 'sentinel'; sentinelName: string; waitReplicas: number | 'auto'; waitTimeoutMs: number };
  amqpUrl: string;
  keyPrefix: string;
  nodeId: string | undefined;
  bindHost: string;
  publicHost: string;
  ports: { ws: number; tcp: number; udp: number; admin: number; dispatch: number };
  senseMode: SenseMode;
  auth: 'none' | 'jwt' | 'http';
  jwtSecret: string | undefined;
  authUrl: string | undefined;
  adminToken: string | undefined;
  /** Bearer token `/metrics` requires when set (otherwise loopback, or the admin token). */
  metricsToken: string | undefined;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  custodyResendMs: number;
  custodyGiveUpMs: number;
  /** How long a gateway's relay reuses a remote user's route (docs/operations.md); 0: off. */
  routeCacheMs: number;
  rateLimitPerSec: number;
  rateLimitBurst: number;
  maxOutboundBytes: number;
  tcpMaxBodyBytes: number;
  offlineCapacity: number;
  offlineTtlMs: number;
  drainTimeoutMs: number;
  /** Offline storage budgets (docs/operations.md): bytes one sender may store per window, and the total ceiling (0 = automatic). */
  offlineBudget: { senderBytes: number; windowMs: number; ceilingBytes: number };
  /** The receiver-check webhook, when IM_RECEIVER_CHECK_URL is set. */
  receiverCheck: { url: string; timeoutMs: number; cacheMs: number } | undefined;
  /** Connections not logged in this long after opening are closed (4003). */
  loginTimeoutMs: number;
  maxConnections: number;
  maxUnauthPerIp: number;
  /** `IM_UDP_MAX_SESSIONS`: most UDP pseudo-sessions a gateway keeps at once (docs/operations.md "Abuse limits"). */
  udpMaxSessions: number;
  /** `amqp`: publish events to `<prefix>.events`; `off`: none. */
  events: 'amqp' | 'off';
  eventsTimeoutMs: number;
  /** Most members of one group. */
  groupMaxMembers: number;
  /** Prefix of group addresses (`<prefix><gid>`); no user id may start with it. */
  groupPrefix: string;
  /**
   * Conversation history (`IM_HISTORY=on`, docs/history.md): messages kept per conversation and for how
   * long, and (standalone, in memory) at most how many bytes of messages (0: a share of the heap limit); null when off.
   */
  history: { maxPerConversation: number; ttlMs: number; memoryBytes: number } | null;
  /** Presence and typing (docs/presence.md): the broadcast interval, how long last-seen times are kept, the typing rate per target. */
  presence: { intervalMs: number; ttlMs: number; typingIntervalMs: number };
  /** `push.needed` (docs/presence.md): one event per offline user per `windowMs`, with a message preview unless `preview` is false. */
  push: { windowMs: number; preview: boolean };
  /** Webhook delivery of the same events, when IM_WEBHOOK_URL is set. */
  webhook:
    | { url: string; secret: string; batchSize: number; flushIntervalMs: number; timeoutMs: number; maxAttempts: number; maxQueue: number }
    | undefined;
  /** `IM_READY_FILE`: the ready line is written there once the role is ready, removed at exit (ready-file.ts). */
  readyFile: string | undefined;
  /** `IM_TLS_CERT` / `IM_TLS_KEY`: wss://, TLS on TCP and HTTPS from these PEM files, checked for changes every `reloadIntervalMs`. */
  tls: { certPath: string; keyPath: string; reloadIntervalMs: number } | undefined;
  /** `IM_PUBLIC_WS_URL`: the WebSocket URL handed out for a gateway instead of ws(s)://host:port/websocket. */
  publicWsUrl: string | undefined;
}

/**
 * Read and validate the configuration once at boot. Every problem is reported together in one
 * ConfigError. The result is frozen.
 */
export function loadConfig(role: Role, env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  // Each variable on its own, so that cross-variable rules still run (and are reported in the
  // same message) when some unrelated variable is invalid.
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(schema.shape)) {
    const r = (field as z.ZodType).safeParse(env[name]);
    if (r.success) values[name] = r.data;
    else problems.push(...formatIssues(r.error.issues.map((i) => ({ ...i, path: [name, ...i.path] }))));
  }
  const e = values as z.infer<typeof schema>;
  const valid = (...names: Array<keyof z.infer<typeof schema>>) => names.every((n) => Object.hasOwn(values, n));
  const auth = e.IM_AUTH ?? (role === 'standalone' ? 'none' : 'jwt');
  if (auth === 'jwt' && !e.IM_JWT_SECRET && role !== 'dispatch' && role !== 'cluster') {
    problems.push('IM_JWT_SECRET: required when IM_AUTH is jwt (the default outside standalone); set it, or set IM_AUTH=none or http');
  }
  if (auth === 'jwt' && e.IM_JWT_SECRET && e.IM_JWT_SECRET.length < 16) problems.push('IM_JWT_SECRET: must be at least 16 characters');
  if (auth === 'http' && !e.IM_AUTH_URL) problems.push('IM_AUTH_URL: required when IM_AUTH is http');
  if (e.IM_AUTH_URL && !/^https?:\/\//.test(e.IM_AUTH_URL)) problems.push('IM_AUTH_URL: must be an http(s) URL');
  if (valid('IM_CUSTODY_GIVE_UP_MS', 'IM_CUSTODY_RESEND_MS') && e.IM_CUSTODY_GIVE_UP_MS <= e.IM_CUSTODY_RESEND_MS) {
    problems.push('IM_CUSTODY_GIVE_UP_MS: must be greater than IM_CUSTODY_RESEND_MS');
  }
  if (valid('IM_RATE_LIMIT_BURST', 'IM_RATE_LIMIT_PER_SEC') && e.IM_RATE_LIMIT_BURST < e.IM_RATE_LIMIT_PER_SEC / 10) problems.push('IM_RATE_LIMIT_BURST: must be at least a tenth of IM_RATE_LIMIT_PER_SEC');
  if (valid('IM_REDIS_URL', 'IM_REDIS_MODE') && e.IM_REDIS_MODE === 'single' && e.IM_REDIS_URL.split(',').filter((s) => s.trim() !== '').length > 1) {
    problems.push('IM_REDIS_URL: a list of URLs needs IM_REDIS_MODE=cluster or sentinel');
  }
  if (e.IM_REDIS_SENTINEL_NAME && e.IM_REDIS_MODE !== 'sentinel') problems.push('IM_REDIS_SENTINEL_NAME: only used with IM_REDIS_MODE=sentinel');
  if (e.IM_WEBHOOK_URL && !e.IM_WEBHOOK_SECRET) problems.push('IM_WEBHOOK_SECRET: required when IM_WEBHOOK_URL is set');
  if (e.IM_WEBHOOK_SECRET && e.IM_WEBHOOK_SECRET.length < 16) problems.push('IM_WEBHOOK_SECRET: must be at least 16 characters');
  // A whsec_ secret (Standard Webhooks) is keyed by its base64-decoded bytes.
  if (e.IM_WEBHOOK_SECRET?.startsWith('whsec_') && Buffer.from(e.IM_WEBHOOK_SECRET.slice(6), 'base64').length < 16) problems.push('IM_WEBHOOK_SECRET: a whsec_ secret must be base64 of at least 16 bytes');
  if (!e.IM_TLS_CERT !== !e.IM_TLS_KEY) problems.push(`${e.IM_TLS_CERT ? 'IM_TLS_KEY' : 'IM_TLS_CERT'}: required with ${e.IM_TLS_CERT ? 'IM_TLS_CERT' : 'IM_TLS_KEY'} (TLS needs both PEM files)`);
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    role,
    redisUrl: e.IM_REDIS_URL,
    redis: Object.freeze({
      mode: e.IM_REDIS_MODE,
      sentinelName: e.IM_REDIS_SENTINEL_NAME ?? DEFAULT_REDIS_SENTINEL_NAME,
      waitReplicas: e.IM_REDIS_WAIT_REPLICAS,
      waitTimeoutMs: e.IM_REDIS_WAIT_TIMEOUT_MS,
    }),
    amqpUrl: e.IM_AMQP_URL,
    keyPrefix: e.IM_KEY_PREFIX,
    nodeId: e.IM_NODE_ID,
    bindHost: e.IM_BIND_HOST,
    publicHost: e.IM_PUBLIC_HOST ?? (e.IM_BIND_HOST === '0.0.0.0' || e.IM_BIND_HOST === '::' ? '127.0.0.1' : e.IM_BIND_HOST),
    ports: Object.freeze({ ws: e.IM_WS_PORT, tcp: e.IM_TCP_PORT, udp: e.IM_UDP_PORT, admin: e.IM_ADMIN_PORT, dispatch: e.IM_DISPATCH_PORT }),
    senseMode: e.IM_SENSE_MODE,
    auth,
    jwtSecret: e.IM_JWT_SECRET,
    authUrl: e.IM_AUTH_URL,
    adminToken: e.IM_ADMIN_TOKEN,
    metricsToken: e.IM_METRICS_TOKEN,
    logLevel: e.IM_LOG_LEVEL,
    custodyResendMs: e.IM_CUSTODY_RESEND_MS,
    custodyGiveUpMs: e.IM_CUSTODY_GIVE_UP_MS,
    routeCacheMs: e.IM_ROUTE_CACHE_MS,
    rateLimitPerSec: e.IM_RATE_LIMIT_PER_SEC,
    rateLimitBurst: e.IM_RATE_LIMIT_BURST,
    maxOutboundBytes: e.IM_MAX_OUTBOUND_BYTES,
    tcpMaxBodyBytes: e.IM_TCP_MAX_BODY_BYTES,
    offlineCapacity: e.IM_OFFLINE_CAPACITY,
    offlineTtlMs: e.IM_OFFLINE_TTL_MS,
    drainTimeoutMs: e.IM_DRAIN_TIMEOUT_MS,
    offlineBudget: Object.freeze({ senderBytes: e.IM_OFFLINE_SENDER_BUDGET_BYTES, windowMs: e.IM_OFFLINE_SENDER_WINDOW_MS, ceilingBytes: e.IM_OFFLINE_STORAGE_CEILING_BYTES }),
    receiverCheck: e.IM_RECEIVER_CHECK_URL
      ? Object.freeze({ url: e.IM_RECEIVER_CHECK_URL, timeoutMs: e.IM_RECEIVER_CHECK_TIMEOUT_MS, cacheMs: e.IM_RECEIVER_CHECK_CACHE_MS })
      : undefined,
    loginTimeoutMs: e.IM_LOGIN_TIMEOUT_MS,
    maxConnections: e.IM_MAX_CONNECTIONS,
    maxUnauthPerIp: e.IM_MAX_UNAUTH_PER_IP,
    udpMaxSessions: e.IM_UDP_MAX_SESSIONS,
    events: e.IM_EVENTS ?? (role === 'standalone' ? 'off' : 'amqp'),
    eventsTimeoutMs: e.IM_EVENTS_TIMEOUT_MS,
    groupMaxMembers: e.IM_GROUP_MAX_MEMBERS,
    groupPrefix: e.IM_GROUP_PREFIX,
    history:
      e.IM_HISTORY === 'off'
        ? null
        : Object.freeze({ maxPerConversation: e.IM_HISTORY_MAX_PER_CONVERSATION, ttlMs: e.IM_HISTORY_TTL_DAYS * 24 * 3600 * 1000, memoryBytes: e.IM_HISTORY_MEMORY_BYTES }),
    presence: Object.freeze({ intervalMs: e.IM_PRESENCE_INTERVAL_MS, ttlMs: e.IM_PRESENCE_TTL_S * 1000, typingIntervalMs: e.IM_TYPING_INTERVAL_MS }),
    push: Object.freeze({ windowMs: e.IM_PUSH_WINDOW_MS, preview: e.IM_PUSH_PREVIEW === 'on' }),
    webhook:
      e.IM_WEBHOOK_URL && e.IM_WEBHOOK_SECRET
        ? Object.freeze({
            url: e.IM_WEBHOOK_URL,
            secret: e.IM_WEBHOOK_SECRET,
            batchSize: e.IM_WEBHOOK_BATCH_SIZE,
            flushIntervalMs: e.IM_WEBHOOK_FLUSH_INTERVAL_MS,
            timeoutMs: e.IM_WEBHOOK_TIMEOUT_MS,
            maxAttempts: e.IM_WEBHOOK_MAX_ATTEMPTS,
            maxQueue: e.IM_WEBHOOK_MAX_QUEUE,
          })
        : undefined,
    readyFile: e.IM_READY_FILE,
    tls: e.IM_TLS_CERT && e.IM_TLS_KEY ? Object.freeze({ certPath: e.IM_TLS_CERT, keyPath: e.IM_TLS_KEY, reloadIntervalMs: e.IM_TLS_RELOAD_INTERVAL_MS }) : undefined,
    publicWsUrl: e.IM_PUBLIC_WS_URL,
  });
}

/** The config as logged at boot: secrets redacted. */
export function redactedConfig(c: Config): Record<string, unknown> {
  const mask = (u: string) => u.replace(/\/\/([^:@/,]*):([^@/,]*)@/g, '//$1:***@');
  return {
    ...c,
    redisUrl: mask(c.redisUrl),
    amqpUrl: mask(c.amqpUrl),
    jwtSecret: c.jwtSecret ? '[redacted]' : undefined,
    adminToken: c.adminToken ? '[redacted]' : undefined,
    metricsToken: c.metricsToken ? '[redacted]' : undefined,
    webhook: c.webhook ? { ...c.webhook, url: new URL(c.webhook.url).origin + '/…', secret: '[redacted]' } : undefined,
  };
}
