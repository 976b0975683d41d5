import { execFile, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { ServiceProcs, freePorts, pollUntil, type ServiceProc } from './service-procs.js';

const run = promisify(execFile);

/**
 * Real Redis Cluster and Sentinel setups for tests, started from the machine's `redis-server` and
 * `redis-cli` on free ports in a temp dir, without persistence. Every process is killed by `stop()`
 * (call it in afterAll) and at the latest when the test process exits.
 */

/** Throw, naming the Debian package, when `redis-server` or `redis-cli` is not on the PATH. */
function requireRedisBinaries(): void {
  for (const bin of ['redis-server', 'redis-cli']) {
    try {
      execFileSync(bin, ['--version'], { stdio: 'ignore', timeout: 5_000 });
    } catch (err) {
      throw new Error(`${bin} is needed to start a test Redis topology and was not found: apt-get install -y redis-server (brings redis-cli)`, { cause: err });
    }
  }
}

/** One redis-server of a test topology. */
export interface RedisNodeProc {
  port: number;
  url: string;
  proc: ServiceProc;
}

/** Base arguments of a throwaway redis-server on 127.0.0.1. */
function serverArgs(port: number): string[] {
  return ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--daemonize', 'no', '--loglevel', 'warning', '--repl-diskless-sync-delay', '0'];
}

async function ping(port: number): Promise<boolean> {
  const r = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 });
  r.on('error', () => {});
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } finally {
    r.disconnect();
  }
}

/** Run one command on 127.0.0.1:port on a short-lived connection. */
export async function redisCommand(port: number, ...args: (string | number)[]): Promise<unknown> {
  const r = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000 });
  r.on('error', () => {});
  try {
    await r.connect();
    return await r.call(String(args[0]), ...args.slice(1).map(String));
  } finally {
    r.disconnect();
  }
}

export interface TestRedisCluster {
  /** Masters first (in slot order), then replicas. */
  nodes: RedisNodeProc[];
  masters: RedisNodeProc[];
  /** `IM_REDIS_URL` for cluster mode: every node's URL, comma-separated. */
  url: string;
  procs: ServiceProcs;
  /** Keys per master (DBSIZE), in the order of `masters`. */
  keysPerMaster(): Promise<number[]>;
  stop(): Promise<void>;
}

/**
 * A Redis Cluster of `masters` masters (default 3) and `replicasPerMaster` replicas each (default 0),
 * created with `redis-cli --cluster create`; resolves once every node reports `cluster_state:ok` and
 * every replica is in sync.
 */
export async function startRedisCluster(opts: { masters?: number; replicasPerMaster?: number; nodeTimeoutMs?: number; name?: string } = {}): Promise<TestRedisCluster> {
  const masters = opts.masters ?? 3;
  const replicas = opts.replicasPerMaster ?? 0;
  const count = masters * (1 + replicas);
  requireRedisBinaries();
  const procs = new ServiceProcs(opts.name ?? 'redis-cluster');
  try {
    const ports = await freePorts(count * 2);
    const nodes: RedisNodeProc[] = [];
    for (let i = 0; i < count; i++) {
      const port = ports[i] as number;
      const bus = ports[count + i] as number;
      const proc = procs.spawn(`redis-${port}`, 'redis-server', [
        ...serverArgs(port),
        '--cluster-enabled', 'yes',
        '--cluster-port', String(bus),
        '--cluster-config-file', path.join(procs.dir, `nodes-${port}.conf`),
        '--cluster-node-timeout', String(opts.nodeTimeoutMs ?? 2_000),
        '--dir', procs.dir,
      ]);
      nodes.push({ port, url: `redis://127.0.0.1:${port}`, proc });
    }
    await Promise.all(nodes.map((n) => pollUntil(`redis-server on ${n.port}`, () => ping(n.port), 10_000)));
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', String(replicas), '--cluster-yes'], { timeout: 30_000 });
    await pollUntil(
      'cluster_state:ok on every node',
      async () => (await Promise.all(nodes.map(async (n) => String(await redisCommand(n.port, 'CLUSTER', 'INFO')).includes('cluster_state:ok')))).every(Boolean),
      20_000,
    );
    // Replicas in sync (CLUSTER SLOTS lists a replica only then).
    await pollUntil(
      'every replica in sync',
      async () =>
        (
          await Promise.all(
            nodes.map(async (n) => {
              const info = String(await redisCommand(n.port, 'INFO', 'replication'));
              return info.includes('role:master') || info.includes('master_link_status:up');
            }),
          )
        ).every(Boolean),
      30_000,
    );
    // Masters in slot order, as CLUSTER SHARDS/NODES say once the cluster is up.
    const roles = await Promise.all(nodes.map(async (n) => ({ n, role: String(await redisCommand(n.port, 'ROLE')).startsWith('master') })));
    const masterNodes = await sortBySlot(roles.filter((r) => r.role).map((r) => r.n));
    return {
      nodes: [...masterNodes, ...roles.filter((r) => !r.role).map((r) => r.n)],
      masters: masterNodes,
      url: nodes.map((n) => n.url).join(','),
      procs,
      keysPerMaster: () => Promise.all(masterNodes.map(async (m) => Number(await redisCommand(m.port, 'DBSIZE')))),
      stop: () => procs.killAll(),
    };
  } catch (err) {
    await procs.killAll({ keep: true });
    throw err;
  }
}

async function sortBySlot(masters: RedisNodeProc[]): Promise<RedisNodeProc[]> {
  const first = await Promise.all(
    masters.map(async (m) => {
      const myself = String(await redisCommand(m.port, 'CLUSTER', 'NODES'))
        .split('\n')
        .find((l) => l.includes('myself'));
      const range = myself?.split(' ')[8] ?? '16384';
      return { m, slot: Number(range.split('-')[0]) };
    }),
  );
  return first.sort((a, b) => a.slot - b.slot).map((x) => x.m);
}

export interface TestRedisSentinel {
  /** The master at start. */
  master: RedisNodeProc;
  /** Its replica at start. */
  replica: RedisNodeProc;
  sentinels: RedisNodeProc[];
  /** The monitored name (`IM_REDIS_SENTINEL_NAME`). */
  name: string;
  /** `IM_REDIS_URL` for sentinel mode: the sentinels' URLs, comma-separated. */
  url: string;
  procs: ServiceProcs;
  /** The port the sentinels name as master now. */
  currentMasterPort(): Promise<number>;
  /** Restart a killed data node (same port, empty) as a replica of the current master. */
  restartAsReplica(node: RedisNodeProc): Promise<RedisNodeProc>;
  stop(): Promise<void>;
}

/**
 * One master, one replica and `sentinels` sentinels (default 3, quorum 2) monitoring it as `name`,
 * with `down-after-milliseconds` (default 1000) and `failover-timeout` (default 5000) short enough
 * for a test. Resolves once the replica is in sync and every sentinel sees it and the other sentinels.
 */
export async function startRedisSentinel(
  opts: { name?: string; sentinels?: number; downAfterMs?: number; failoverTimeoutMs?: number; label?: string } = {},
): Promise<TestRedisSentinel> {
  const name = opts.name ?? 'sbmaster';
  const n = opts.sentinels ?? 3;
  requireRedisBinaries();
  const procs = new ServiceProcs(opts.label ?? 'redis-sentinel');
  try {
    const [mPort, rPort, ...sPorts] = (await freePorts(2 + n)) as [number, number, ...number[]];
    const data = (port: number, extra: string[] = []): RedisNodeProc => ({
      port,
      url: `redis://127.0.0.1:${port}`,
      proc: procs.spawn(`redis-${port}-${Date.now()}`, 'redis-server', [...serverArgs(port), '--dir', procs.dir, ...extra]),
    });
    const master = data(mPort);
    const replica = data(rPort, ['--replicaof', '127.0.0.1', String(mPort)]);
    await Promise.all([master, replica].map((x) => pollUntil(`redis-server on ${x.port}`, () => ping(x.port), 10_000)));
    // In sync, not only attached: a replica still loading the master's snapshot acknowledges no WAIT.
    await pollUntil('the replica in sync', async () => String(await redisCommand(rPort, 'INFO', 'replication')).includes('master_link_status:up'), 20_000, 100);
    const sentinels = sPorts.map((port) => {
      const conf = path.join(procs.dir, `sentinel-${port}.conf`);
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          'protected-mode no',
          `dir ${procs.dir}`,
          `sentinel monitor ${name} 127.0.0.1 ${mPort} 2`,
          `sentinel down-after-milliseconds ${name} ${opts.downAfterMs ?? 1_000}`,
          `sentinel failover-timeout ${name} ${opts.failoverTimeoutMs ?? 5_000}`,
          `sentinel parallel-syncs ${name} 1`,
          '',
        ].join('\n'),
      );
      return { port, url: `redis://127.0.0.1:${port}`, proc: procs.spawn(`sentinel-${port}`, 'redis-server', [conf, '--sentinel']) };
    });
    await pollUntil(
      'sentinels see the replica and each other',
      async () =>
        (
          await Promise.all(
            sentinels.map(async (s) => {
              const flat = (await redisCommand(s.port, 'SENTINEL', 'MASTER', name)) as string[];
              const info = new Map<string, string>();
              for (let i = 0; i + 1 < flat.length; i += 2) info.set(flat[i] as string, flat[i + 1] as string);
              return Number(info.get('num-slaves')) >= 1 && Number(info.get('num-other-sentinels')) >= n - 1;
            }),
          )
        ).every(Boolean),
      30_000,
      200,
    );
    const currentMasterPort = async (): Promise<number> => {
      for (const s of sentinels) {
        try {
          const [, port] = (await redisCommand(s.port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)) as [string, string];
          return Number(port);
        } catch {
          // try the next sentinel
        }
      }
      throw new Error('no sentinel answered');
    };
    return {
      master,
      replica,
      sentinels,
      name,
      url: sentinels.map((s) => s.url).join(','),
      procs,
      currentMasterPort,
      restartAsReplica: async (node) => {
        const now = await currentMasterPort();
        const again = data(node.port, ['--replicaof', '127.0.0.1', String(now)]);
        await pollUntil(`redis-server on ${node.port}`, () => ping(node.port), 10_000);
        return again;
      },
      stop: () => procs.killAll(),
    };
  } catch (err) {
    await procs.killAll({ keep: true });
    throw err;
  }
}
