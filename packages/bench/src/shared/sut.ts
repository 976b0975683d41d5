import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { UnavailableError } from '@switchboard/core';
import { ManagedProcess } from './proc.js';

/** Repository root: the nearest ancestor of this file holding pnpm-workspace.yaml. */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'pnpm-workspace.yaml'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new UnavailableError('cannot spawn Switchboard: no pnpm-workspace.yaml above the bench package');
    dir = parent;
  }
}

/**
 * The node flags that run the workspace's TypeScript sources as the bench itself runs them:
 * `--conditions=source --import <tsx>` (tsx resolved from the cli package, which depends on it).
 */
export function sourceNodeArgs(): string[] {
  const cliPkg = path.join(repoRoot(), 'packages', 'cli', 'package.json');
  const tsx = pathToFileURL(createRequire(cliPkg).resolve('tsx')).href;
  return ['--conditions=source', '--import', tsx];
}

/** `node --conditions=source --import tsx <repo>/packages/cli/src/main.ts` as argv (before the role). */
export function switchboardCommand(nodeArgs: readonly string[] = []): string[] {
  return [...nodeArgs, ...sourceNodeArgs(), path.join(repoRoot(), 'packages', 'cli', 'src', 'main.ts')];
}

/** Options of `Sut.start`. */
export interface SutOptions {
  kind: 'standalone' | 'cluster';
  /** Gateways of a cluster. */
  gateways?: number;
  senseMode: string;
  /** Extra environment (overrides the bench's defaults). */
  env: Record<string, string>;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeArgs: string[];
}

/**
 * The system under test, started by the bench as separate processes (so it never shares the load
 * generator's event loop): `switchboard standalone`, or `switchboard dispatch` plus N
 * `switchboard gateway`s on one fresh key prefix (Redis and RabbitMQ must answer).
 */
export class Sut {
  private constructor(
    readonly dispatchUrl: string,
    readonly processes: ManagedProcess[],
    readonly keyPrefix: string | null,
    /** The spawned processes' environment (its Redis settings name where the run's keys are). */
    private readonly env: NodeJS.ProcessEnv = {},
  ) {}

  static async start(o: SutOptions): Promise<Sut> {
    const cmd = switchboardCommand(o.nodeArgs);
    const base: NodeJS.ProcessEnv = {
      ...process.env,
      IM_WS_PORT: '0',
      IM_TCP_PORT: '0',
      IM_UDP_PORT: '0',
      IM_ADMIN_PORT: '0',
      IM_DISPATCH_PORT: '0',
      IM_AUTH: 'none',
      IM_LOG_LEVEL: 'warn',
      IM_SENSE_MODE: o.senseMode,
      IM_DRAIN_TIMEOUT_MS: '5000',
    };
    if (o.kind === 'standalone') {
      const p = await ManagedProcess.start('standalone', process.execPath, [...cmd, 'standalone'], { ...base, ...o.env });
      return new Sut(`http://127.0.0.1:${p.ready!.ports['dispatch']}`, [p], null);
    }
    const prefix = `bench-${randomBytes(4).toString('hex')}`;
    // Every gateway draws its own node id (an inherited IM_NODE_ID would give them all the same one).
    const env: NodeJS.ProcessEnv = { ...base, IM_KEY_PREFIX: prefix, ...o.env };
    delete env['IM_NODE_ID'];
    const procs: ManagedProcess[] = [];
    try {
      const dispatch = await ManagedProcess.start('dispatch', process.execPath, [...cmd, 'dispatch'], env);
      procs.push(dispatch);
      const gws = await Promise.allSettled(
        Array.from({ length: o.gateways ?? 1 }, (_, i) =>
          ManagedProcess.start(`gateway-${i + 1}`, process.execPath, [...cmd, 'gateway'], env),
        ),
      );
      for (const g of gws) if (g.status === 'fulfilled') procs.push(g.value);
      const failed = gws.find((g) => g.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
      return new Sut(`http://127.0.0.1:${dispatch.ready!.ports['dispatch']}`, procs, prefix, env);
    } catch (err) {
      await Promise.all(procs.map((p) => p.stop()));
      throw err;
    }
  }

  /** Gateway processes (in standalone, the one process) with their node ids. */
  gateways(): ManagedProcess[] {
    return this.processes.filter((p) => p.ready?.role === 'gateway' || p.ready?.role === 'standalone');
  }

  /** The gateway process of `nodeId`. */
  byNode(nodeId: string): ManagedProcess | undefined {
    return this.gateways().find((p) => p.ready?.nodeId === nodeId);
  }

  /**
   * Stop everything gracefully (gateways first, then dispatch), then delete a spawned cluster's keys
   * from Redis: its prefix is this run's alone, and its history (30 days by default) would otherwise
   * pile up run after run (millions of keys after an evening of benchmarks).
   */
  async stop(): Promise<void> {
    await Promise.all(this.gateways().map((p) => p.stop()));
    await Promise.all(this.processes.map((p) => p.stop()));
    if (this.keyPrefix !== null) await purgeRunKeys(this.env, this.keyPrefix);
  }
}

/** Delete the keys of a spawned cluster's prefix; a failure is reported on stderr, never thrown. */
async function purgeRunKeys(env: NodeJS.ProcessEnv, prefix: string): Promise<void> {
  const { closeRedis, connectRedis, purgeKeyPrefix } = await import('@switchboard/cluster/redis');
  const mode = env['IM_REDIS_MODE'] === 'cluster' || env['IM_REDIS_MODE'] === 'sentinel' ? env['IM_REDIS_MODE'] : 'single';
  const sentinelName = env['IM_REDIS_SENTINEL_NAME'];
  const redis = connectRedis({ url: env['IM_REDIS_URL'] || 'redis://127.0.0.1:6379', mode, ...(sentinelName ? { sentinelName } : {}), name: 'bench-cleanup' });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new UnavailableError('redis not ready within 5 s')), 5_000);
      redis.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    await purgeKeyPrefix(redis, prefix);
  } catch (err) {
    process.stderr.write(`bench: the run's Redis keys (prefix ${prefix}) were not deleted: ${(err as Error).message}\n`);
  } finally {
    await closeRedis(redis);
  }
}
