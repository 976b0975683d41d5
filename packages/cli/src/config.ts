import { z } from 'zod';
import { ConfigError, formatIssues } from '@switchboard/core';
import { parseSenseMode, type SenseMode } from '@switchboard/protocol';

function isUrl(v: string, protocols: string[]): boolean {
  try {
    const u = new URL(v);
    return protocols.includes(u.protocol) && u.hostname !== '';
  } catch {
    return false;
  }
}

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
  IM_REDIS_URL: z
    .string()
    .refine((v) => isUrl(v, ['redis:', 'rediss:']), 'must be a redis:// or rediss:// URL')
    .default('redis://127.0.0.1:6379'),
  IM_AMQP_URL: z
    .string()
    .refine((v) => isUrl(v, ['amqp:', 'amqps:']), 'must be an amqp:// or amqps:// URL')
    .default('amqp://guest:guest@127.0.0.1:5672'),
  IM_KEY_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - only (1–64)').default('im'),
  IM_NODE_ID: optionalString.refine((v) => v === undefined || /^[A-Za-z0-9_.-]{1,64}$/.test(v), 'letters, digits, _ . - only (1–64)'),
  IM_BIND_HOST: z.string().min(1).default('127.0.0.1'),
  IM_PUBLIC_HOST: optionalString,
  IM_WS_PORT: port(3000),
  IM_TCP_PORT: port(8901),
  IM_UDP_PORT: port(7901),
  IM_ADMIN_PORT: port(9100),
  IM_DISPATCH_PORT: port(8080),
  IM_SENSE_MODE: z
    .string()
    .default('15S')
    .transform((v, ctx) => {
      const m = parseSenseMode(v);
      if (!m) ctx.addIssue({ code: 'custom', message: `unknown sense mode "${v}" (3S, 5S, 10S, 15S, 30S, 60S, 120S)` });
      return (m ?? '15S') as SenseMode;
    }),
  IM_AUTH: z.enum(['none', 'jwt', 'http']).optional(),
  IM_JWT_SECRET: optionalString,
  IM_AUTH_URL: optionalString,
  IM_ADMIN_TOKEN: optionalString,
  IM_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  IM_CUSTODY_RESEND_MS: positiveMs(2_000),
  IM_CUSTODY_GIVE_UP_MS: positiveMs(4_000),
  IM_RATE_LIMIT_PER_SEC: z.coerce.number().int().min(1).default(200),
  IM_RATE_LIMIT_BURST: z.coerce.number().int().min(1).default(400),
  IM_MAX_OUTBOUND_BYTES: z.coerce.number().int().min(1024).default(1_048_576),
  IM_TCP_MAX_BODY_BYTES: z.coerce.number().int().min(64).max(16 * 1024 * 1024).default(6144),
  IM_OFFLINE_CAPACITY: z.coerce.number().int().min(1).default(1000),
  IM_OFFLINE_TTL_MS: positiveMs(7 * 24 * 3600 * 1000),
  IM_DRAIN_TIMEOUT_MS: positiveMs(30_000),
  IM_EVENTS: z.preprocess(blankAsUnset, z.enum(['amqp', 'off']).optional()),
  IM_EVENTS_TIMEOUT_MS: positiveMs(2_000),
  IM_WEBHOOK_URL: optionalString.refine((v) => v === undefined || isUrl(v, ['http:', 'https:']), 'must be an http(s) URL'),
  IM_WEBHOOK_SECRET: optionalString,
  IM_WEBHOOK_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(100),
  IM_WEBHOOK_FLUSH_INTERVAL_MS: positiveMs(200),
  IM_WEBHOOK_TIMEOUT_MS: positiveMs(5_000),
  IM_WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(8),
  IM_WEBHOOK_MAX_QUEUE: z.coerce.number().int().min(1).default(10_000),
});

export type Role = 'standalone' | 'gateway' | 'dispatch' | 'cluster';

export interface Config {
  role: Role;
  redisUrl: string;
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
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  custodyResendMs: number;
  custodyGiveUpMs: number;
  rateLimitPerSec: number;
  rateLimitBurst: number;
  maxOutboundBytes: number;
  tcpMaxBodyBytes: number;
  offlineCapacity: number;
  offlineTtlMs: number;
  drainTimeoutMs: number;
  /** `amqp`: publish events to `<prefix>.events`; `off`: none. */
  events: 'amqp' | 'off';
  eventsTimeoutMs: number;
  /** Webhook delivery of the same events, when IM_WEBHOOK_URL is set. */
  webhook:
    | { url: string; secret: string; batchSize: number; flushIntervalMs: number; timeoutMs: number; maxAttempts: number; maxQueue: number }
    | undefined;
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
  if (e.IM_WEBHOOK_URL && !e.IM_WEBHOOK_SECRET) problems.push('IM_WEBHOOK_SECRET: required when IM_WEBHOOK_URL is set');
  if (e.IM_WEBHOOK_SECRET && e.IM_WEBHOOK_SECRET.length < 16) problems.push('IM_WEBHOOK_SECRET: must be at least 16 characters');
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    role,
    redisUrl: e.IM_REDIS_URL,
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
    logLevel: e.IM_LOG_LEVEL,
    custodyResendMs: e.IM_CUSTODY_RESEND_MS,
    custodyGiveUpMs: e.IM_CUSTODY_GIVE_UP_MS,
    rateLimitPerSec: e.IM_RATE_LIMIT_PER_SEC,
    rateLimitBurst: e.IM_RATE_LIMIT_BURST,
    maxOutboundBytes: e.IM_MAX_OUTBOUND_BYTES,
    tcpMaxBodyBytes: e.IM_TCP_MAX_BODY_BYTES,
    offlineCapacity: e.IM_OFFLINE_CAPACITY,
    offlineTtlMs: e.IM_OFFLINE_TTL_MS,
    drainTimeoutMs: e.IM_DRAIN_TIMEOUT_MS,
    events: e.IM_EVENTS ?? (role === 'standalone' ? 'off' : 'amqp'),
    eventsTimeoutMs: e.IM_EVENTS_TIMEOUT_MS,
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
  });
}

/** The config as logged at boot: secrets redacted. */
export function redactedConfig(c: Config): Record<string, unknown> {
  const mask = (u: string) => u.replace(/\/\/([^:@/]*):([^@/]*)@/, '//$1:***@');
  return {
    ...c,
    redisUrl: mask(c.redisUrl),
    amqpUrl: mask(c.amqpUrl),
    jwtSecret: c.jwtSecret ? '[redacted]' : undefined,
    adminToken: c.adminToken ? '[redacted]' : undefined,
    webhook: c.webhook ? { ...c.webhook, url: new URL(c.webhook.url).origin + '/…', secret: '[redacted]' } : undefined,
  };
}
