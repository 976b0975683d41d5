import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { connect as amqpConnect } from 'amqplib';
import { Redis } from 'ioredis';
import { InvalidArgumentError, UnavailableError, withTimeout } from '@switchboard/core';
import {
  DEFAULT_AMQP_URL,
  DEFAULT_RABBITMQ_IMAGE,
  DEFAULT_REDIS_IMAGE,
  DEFAULT_REDIS_URL,
  DEFAULT_SERVICE_PROBE_TIMEOUT_MS,
} from './defaults.js';

/** A backing service the integration and cluster tests need. */
export type ServiceKind = 'redis' | 'amqp';

/** Options of `locateService`; the defaults are what `resolveRedisUrl` / `resolveAmqpUrl` use. */
export interface LocateServiceOptions {
  /** Environment to read `IM_REDIS_URL` / `IM_AMQP_URL` and `DOCKER_HOST` from. @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /** Try testcontainers. @default true when a Docker socket or DOCKER_HOST exists */
  docker?: boolean;
  /** Local URL to probe last. @default DEFAULT_REDIS_URL / DEFAULT_AMQP_URL */
  localUrl?: string;
  /** Per-probe deadline in ms. @default DEFAULT_SERVICE_PROBE_TIMEOUT_MS (3000) */
  probeTimeoutMs?: number;
}

interface ServiceSpec {
  title: string;
  envVar: string;
  localUrl: string;
  /** The image testcontainers starts: SWITCHBOARD_TEST_REDIS_IMAGE / SWITCHBOARD_TEST_RABBITMQ_IMAGE when set (deploy/local-images.sh makes stand-ins), else the default. */
  readonly image: string;
  localHint: string;
  ping(url: string, timeoutMs: number): Promise<void>;
  startContainer(): Promise<string>;
}

const SPECS: Record<ServiceKind, ServiceSpec> = {
  redis: {
    title: 'Redis',
    envVar: 'IM_REDIS_URL',
    localUrl: DEFAULT_REDIS_URL,
    get image() {
      return process.env['SWITCHBOARD_TEST_REDIS_IMAGE'] || DEFAULT_REDIS_IMAGE;
    },
    localHint: 'apt-get install -y redis-server && redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no',
    ping: pingRedis,
    async startContainer() {
      const { RedisContainer } = await import('@testcontainers/redis');
      const started = await new RedisContainer(this.image).start();
      containers.push(started);
      return started.getConnectionUrl();
    },
  },
  amqp: {
    title: 'RabbitMQ',
    envVar: 'IM_AMQP_URL',
    localUrl: DEFAULT_AMQP_URL,
    get image() {
      return process.env['SWITCHBOARD_TEST_RABBITMQ_IMAGE'] || DEFAULT_RABBITMQ_IMAGE;
    },
    localHint:
      'apt-get install -y rabbitmq-server && RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 ERL_EPMD_ADDRESS=127.0.0.1 rabbitmq-server -detached && rabbitmqctl -q await_startup',
    ping: pingAmqp,
    async startContainer() {
      const { RabbitMQContainer } = await import('@testcontainers/rabbitmq');
      const started = await new RabbitMQContainer(this.image).start();
      containers.push(started);
      return started.getAmqpUrl();
    },
  },
};

/** Started containers, kept referenced for the life of the process; testcontainers' reaper removes them after. */
const containers: unknown[] = [];
const cache = new Map<ServiceKind, Promise<string>>();

/**
 * URL of a Redis that answers, found once per process (toolchain.md "Services"):
 * `IM_REDIS_URL` (must answer, else this rejects) → a Docker container via testcontainers (only when a
 * Docker socket or `DOCKER_HOST` exists) → `redis://127.0.0.1:6379` (probed) → rejects with an
 * `UnavailableError` naming all three ways to provide one. Never skips silently. With
 * `SWITCHBOARD_TEST_REQUIRE_CONTAINERS=1` and a Docker API, a container that fails to start is an error (no loopback).
 */
export function resolveRedisUrl(): Promise<string> {
  return cached('redis');
}

/**
 * URL of a RabbitMQ that answers, found once per process, in the same order as `resolveRedisUrl`:
 * `IM_AMQP_URL` → testcontainers → `amqp://guest:guest@127.0.0.1:5672` → `UnavailableError`.
 */
export function resolveAmqpUrl(): Promise<string> {
  return cached('amqp');
}

function cached(kind: ServiceKind): Promise<string> {
  let p = cache.get(kind);
  if (!p) {
    p = locateService(kind);
    cache.set(kind, p);
  }
  return p;
}

/** Uncached lookup behind `resolveRedisUrl` / `resolveAmqpUrl`, with every input injectable. */
export async function locateService(kind: ServiceKind, opts: LocateServiceOptions = {}): Promise<string> {
  const spec = SPECS[kind];
  const env = opts.env ?? process.env;
  const timeoutMs = opts.probeTimeoutMs ?? DEFAULT_SERVICE_PROBE_TIMEOUT_MS;

  const fromEnv = env[spec.envVar];
  if (fromEnv !== undefined && fromEnv !== '') {
    try {
      await spec.ping(fromEnv, timeoutMs);
    } catch (err) {
      throw new UnavailableError(
        `${spec.envVar}=${redactUrl(fromEnv)} is set but no ${spec.title} answers there (${message(err)}). ` +
          `Start it, fix the URL, or unset ${spec.envVar} to fall back to Docker (testcontainers) or a local server.`,
        { cause: err },
      );
    }
    return fromEnv;
  }

  const tried: string[] = [`${spec.envVar} is not set`];
  const docker = opts.docker ?? dockerAvailable(env);
  if (docker) {
    try {
      return await spec.startContainer();
    } catch (err) {
      tried.push(`testcontainers could not start ${spec.image}: ${message(err)}`);
    }
  } else {
    tried.push('no Docker engine (DOCKER_HOST unset, no docker.sock)');
  }

  const localUrl = opts.localUrl ?? spec.localUrl;
  // test/deploy/containers runs the integration project this way, so a container that fails to start fails the
  // run instead of passing silently on the loopback server.
  if (env['SWITCHBOARD_TEST_REQUIRE_CONTAINERS'] === '1' && docker) {
    throw new UnavailableError(`SWITCHBOARD_TEST_REQUIRE_CONTAINERS=1 and no container: ${tried.join('; ')}`);
  }
  try {
    const { hostname, port } = new URL(localUrl);
    await probeTcp(hostname, Number(port) || defaultPort(kind), timeoutMs);
    await spec.ping(localUrl, timeoutMs);
    return localUrl;
  } catch (err) {
    tried.push(`nothing answers at ${redactUrl(localUrl)}: ${message(err)}`);
  }

  throw new UnavailableError(
    `This test needs ${spec.title} and none was found. Provide it one of three ways: ` +
      `(1) set ${spec.envVar} to a running server; ` +
      `(2) make a Docker engine reachable (docker.sock or DOCKER_HOST) so testcontainers starts ${spec.image}; ` +
      `(3) run a local server at ${redactUrl(localUrl)} (${spec.localHint}). ` +
      `Tried: ${tried.join('; ')}.`,
  );
}

/** Resolve when a TCP connection to host:port opens within `timeoutMs`; reject otherwise. */
export function probeTcp(host: string, port: number, timeoutMs: number = DEFAULT_SERVICE_PROBE_TIMEOUT_MS): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new UnavailableError(`no TCP answer from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new UnavailableError(`cannot connect to ${host}:${port}: ${err.message}`, { cause: err }));
    });
  });
}

async function pingRedis(url: string, timeoutMs: number): Promise<void> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  // Errors reach us through connect()/ping() rejections; the listener only stops ioredis printing them.
  redis.on('error', () => {});
  try {
    await withTimeout(redis.connect(), timeoutMs, `Redis connect to ${redactUrl(url)}`);
    const pong = await withTimeout(redis.ping(), timeoutMs, 'Redis PING');
    if (pong !== 'PONG') throw new UnavailableError(`Redis PING answered ${JSON.stringify(pong)}`);
  } finally {
    redis.disconnect();
  }
}

async function pingAmqp(url: string, timeoutMs: number): Promise<void> {
  const conn = await withTimeout(amqpConnect(url, { timeout: timeoutMs }), timeoutMs, `AMQP connect to ${redactUrl(url)}`);
  conn.on('error', () => {}); // surfaced through close() below if it matters
  await conn.close();
}

/** True when a Docker engine may be reachable: DOCKER_HOST is set or a docker.sock exists. */
export function dockerAvailable(env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  if (env['DOCKER_HOST']) return true;
  const candidates = ['/var/run/docker.sock', path.join(os.homedir(), '.docker', 'run', 'docker.sock')];
  if (env['XDG_RUNTIME_DIR']) candidates.push(path.join(env['XDG_RUNTIME_DIR'], 'docker.sock'));
  return candidates.some((p) => existsSync(p));
}

/**
 * A prefix unique to one test file or test: `t-<name>-<12 hex chars>`. `name` is reduced to
 * lower-case `[a-z0-9-]` (at most 24 characters). Use it as `IM_KEY_PREFIX`, a Redis key prefix or an
 * AMQP exchange/queue name prefix, so parallel test files never touch each other's data.
 */
export function uniquePrefix(name = 'test'): string {
  const clean =
    name
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 24) || 'test';
  return `t-${clean}-${randomBytes(6).toString('hex')}`;
}

/**
 * Delete every Redis key under `prefix` (the key equal to it, or starting with it followed by a
 * non-alphanumeric separator such as `:` or `{`), found with SCAN. Never FLUSHALL / FLUSHDB.
 * Resolves with the number of keys deleted. `url` may be a comma-separated list (cluster seeds); when
 * the server reached is a Redis Cluster node, every master of the cluster is scanned (a SCAN sees only
 * its own server's keys), and keys are unlinked one by one (they live in different slots).
 */
export async function cleanupRedisPrefix(url: string, prefix: string): Promise<number> {
  if (prefix.length < 3) throw new InvalidArgumentError(`cleanupRedisPrefix: prefix ${JSON.stringify(prefix)} is too short to be safe`);
  const first = url.split(',')[0]?.trim() ?? url;
  const redis = new Redis(first, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => {}); // errors reach us through the command rejections
  try {
    await redis.connect();
    const info = await redis.info('cluster');
    if (!/^cluster_enabled:1/m.test(info)) return await cleanupOne(redis, prefix, false);
    const masters = String(await redis.call('CLUSTER', 'NODES'))
      .split('\n')
      .filter((l) => {
        const flags = (l.split(' ')[2] ?? '').split(',');
        return flags.includes('master') && !flags.includes('fail');
      })
      .map((l) => (l.split(' ')[1] ?? '').split('@')[0] ?? '');
    let deleted = 0;
    for (const addr of masters) {
      const at = addr.lastIndexOf(':');
      const node = new Redis({ ...redis.options, host: addr.slice(0, at), port: Number(addr.slice(at + 1)), lazyConnect: true });
      node.on('error', () => {});
      try {
        await node.connect();
        deleted += await cleanupOne(node, prefix, true);
      } finally {
        node.disconnect();
      }
    }
    return deleted;
  } finally {
    redis.disconnect();
  }
}

async function cleanupOne(redis: Redis, prefix: string, oneByOne: boolean): Promise<number> {
  const pattern = prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`) + '*';
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next;
    const mine = keys.filter((k) => k === prefix || !/[A-Za-z0-9]/.test(k.charAt(prefix.length)));
    if (mine.length === 0) continue;
    if (oneByOne) deleted += (await Promise.all(mine.map((k) => redis.unlink(k)))).reduce((a, b) => a + b, 0);
    else deleted += await redis.unlink(...mine);
  } while (cursor !== '0');
  return deleted;
}

function defaultPort(kind: ServiceKind): number {
  return kind === 'redis' ? 6379 : 5672;
}

/** Hide the password of a URL in messages. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparsable url>';
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
