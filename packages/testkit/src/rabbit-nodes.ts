import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ServiceProcs, freePorts, pollUntil, type ServiceProc } from './service-procs.js';

const run = promisify(execFile);

/** Where Debian's package puts the real scripts (the /usr/sbin wrappers switch to the rabbitmq user). */
const RABBIT_BIN = '/usr/lib/rabbitmq/bin';

/** One RabbitMQ node started by a test. */
export interface RabbitNodeProc {
  /** Erlang node name, `<name>@localhost`. */
  node: string;
  /** AMQP port on 127.0.0.1. */
  port: number;
  url: string;
  proc: ServiceProc;
  /** Its HOME (the Erlang cookie) for rabbitmqctl. */
  home: string;
}

export interface TestRabbitCluster {
  nodes: RabbitNodeProc[];
  /** `IM_AMQP_URL`: every node's URL, comma-separated, in `nodes` order. */
  url: string;
  procs: ServiceProcs;
  /** `rabbitmqctl -n <node> <args>` (bounded). */
  ctl(node: RabbitNodeProc, ...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

/** True when this machine has the RabbitMQ server scripts a test cluster needs. */
export function rabbitServerAvailable(): boolean {
  return existsSync(path.join(RABBIT_BIN, 'rabbitmq-server')) && existsSync(path.join(RABBIT_BIN, 'rabbitmqctl'));
}

/**
 * `count` (default 2) RabbitMQ nodes of one cluster on this machine, beside any broker already
 * running: each with its own node name (`sb<hex><i>@localhost`), AMQP and distribution ports (free
 * ones), data and log dirs in a temp dir, no plugins, and one shared Erlang cookie; nodes after the
 * first `join_cluster` the first. Uses the machine's epmd. Resolves once all run as one cluster.
 */
export async function startRabbitCluster(opts: { count?: number; name?: string } = {}): Promise<TestRabbitCluster> {
  const count = opts.count ?? 2;
  const procs = new ServiceProcs(opts.name ?? 'rabbit');
  const tag = `sb${randomBytes(3).toString('hex')}`;
  const cookie = randomBytes(16).toString('hex').toUpperCase();
  const ctlRaw = async (n: { node: string; home: string }, args: string[], timeoutMs = 60_000): Promise<string> => {
    const { stdout } = await run(path.join(RABBIT_BIN, 'rabbitmqctl'), ['-q', '-n', n.node, ...args], {
      env: { ...process.env, HOME: n.home },
      timeout: timeoutMs,
    });
    return stdout;
  };
  try {
    const ports = await freePorts(count * 2);
    const nodes: RabbitNodeProc[] = [];
    for (let i = 0; i < count; i++) {
      const base = path.join(procs.dir, `node${i}`);
      mkdirSync(base, { recursive: true });
      writeFileSync(path.join(base, '.erlang.cookie'), cookie, { mode: 0o400 });
      writeFileSync(path.join(base, 'enabled_plugins'), '[].\n');
      const node = `${tag}${i}@localhost`;
      const port = ports[i] as number;
      const proc = procs.spawn(`rabbit-${i}`, path.join(RABBIT_BIN, 'rabbitmq-server'), [], {
        cwd: base,
        env: {
          HOME: base,
          RABBITMQ_NODENAME: node,
          RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
          RABBITMQ_NODE_PORT: String(port),
          RABBITMQ_DIST_PORT: String(ports[count + i]),
          RABBITMQ_BASE: base,
          RABBITMQ_MNESIA_BASE: path.join(base, 'mnesia'),
          RABBITMQ_LOG_BASE: path.join(base, 'log'),
          RABBITMQ_CONFIG_FILE: path.join(base, 'rabbitmq'),
          RABBITMQ_ADVANCED_CONFIG_FILE: path.join(base, 'advanced.config'),
          RABBITMQ_ENABLED_PLUGINS_FILE: path.join(base, 'enabled_plugins'),
          RABBITMQ_PID_FILE: path.join(base, 'pid'),
          ERL_EPMD_ADDRESS: '127.0.0.1',
        },
      });
      nodes.push({ node, port, url: `amqp://guest:guest@127.0.0.1:${port}`, proc, home: base });
    }
    // `await_startup` fails at once while the node is not yet registered with epmd: poll it.
    await Promise.all(nodes.map((n) => pollUntil(`rabbit node ${n.node} up`, async () => (await ctlRaw(n, ['await_startup'], 30_000), true), 90_000, 500)));
    const first = nodes[0] as RabbitNodeProc;
    for (const n of nodes.slice(1)) {
      await ctlRaw(n, ['stop_app']);
      await ctlRaw(n, ['join_cluster', first.node]);
      await ctlRaw(n, ['start_app']);
    }
    await ctlRaw(first, ['await_startup']);
    return {
      nodes,
      url: nodes.map((n) => n.url).join(','),
      procs,
      ctl: (n, ...args) => ctlRaw(n, args),
      stop: () => procs.killAll(),
    };
  } catch (err) {
    await procs.killAll({ keep: true });
    throw err;
  }
}
