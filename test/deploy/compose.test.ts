import { execFile, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@switchboard/core';
import {
  NodeProcess,
  ProcessGroup,
  TestClient,
  cleanupRedisPrefix,
  resolveAmqpUrl,
  resolveRedisUrl,
  uniquePrefix,
  type ReadyNodeProcess,
} from '@switchboard/testkit';
import {
  cliSources,
  composeConfig,
  copyBuildContext,
  copySources,
  dockerCompose,
  execForm,
  parseDockerfile,
  portsOf,
  readYaml,
  volumesOf,
  repoPath,
  type ComposeConfig,
  type ComposeService,
} from './deploy-files.js';

// Issue 6, "proof without Docker": docker-compose.yml is validated offline by Debian's docker-compose (v1), and
// its services run as local processes with their exact command and environment. They run from the image's file
// tree, produced by the build stage's own RUN lines (pnpm fetch, frozen install, tsc build, `pnpm deploy --prod`)
// on a copy of the build context: production dependencies only, dist/ only, no tsx, no dev dependencies.
// What changes from the compose file: Redis and RabbitMQ URLs point at the local servers, a unique
// IM_KEY_PREFIX isolates the test, dispatch's fixed port 8080 becomes 0, each process gets its own IM_READY_FILE,
// and `/app` is the built tree. The real thing, containers built and run by podman, is test/deploy/containers.

const MONITORING = ['monitoring'];
const dockerfile = parseDockerfile(readFileSync(repoPath('deploy/Dockerfile'), 'utf8'));
const buildStage = dockerfile.stages[0]!.name;
const runtimeStage = dockerfile.stages.at(-1)!.name;
/** Variables config.ts validates (the only IM_* names a role reads). */
const knownImVars = new Set([...readFileSync(repoPath('packages/cli/src/config.ts'), 'utf8').matchAll(/^\s+(IM_[A-Z_]+):/gm)].map((m) => m[1]!));
/** Commands the CLI's USAGE lists (wherever in packages/cli/src it is defined). */
const cliCommands = cliSources()
  .flatMap((text) => [...(/Usage: switchboard[\s\S]*?`/.exec(text)?.[0] ?? '').matchAll(/^ {2}([a-z]+)\s/gm)])
  .map((m) => m[1]!);

/** What a role connects to: the `cfg.redisUrl` / `cfg.amqpUrl` its run function in packages/cli/src/roles.ts uses. */
function roleBackends(role: string): Array<keyof typeof BACKENDS> {
  const src = readFileSync(repoPath('packages/cli/src/roles.ts'), 'utf8');
  const name = `run${role[0]!.toUpperCase()}${role.slice(1)}`;
  const at = src.indexOf(`export async function ${name}(`);
  if (at < 0) throw new Error(`packages/cli/src/roles.ts has no ${name}`);
  const next = src.indexOf('\nexport ', at + 1);
  const body = src.slice(at, next < 0 ? undefined : next);
  return (Object.keys(BACKENDS) as Array<keyof typeof BACKENDS>).filter((k) => body.includes(`cfg.${BACKENDS[k].cfg}`));
}
const BACKENDS = {
  redis: { cfg: 'redisUrl', envVar: 'IM_REDIS_URL', service: 'redis', target: 6379, scheme: 'redis:' },
  amqp: { cfg: 'amqpUrl', envVar: 'IM_AMQP_URL', service: 'rabbitmq', target: 5672, scheme: 'amqp:' },
} as const;

const isSwitchboardImage = (s: ComposeService) => s.build?.dockerfile === 'deploy/Dockerfile';
const seconds = (d: string): number => {
  const m = /^(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(d);
  if (!m || d === '') throw new Error(`unparsable duration ${d}`);
  return Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0);
};
const env = (s: ComposeService): Record<string, string> =>
  Object.fromEntries(Object.entries(s.environment ?? {}).filter((e): e is [string, string] => e[1] !== null));

describe('docker-compose.yml - offline validation (docker-compose v1)', () => {
  let cfg: ComposeConfig;
  beforeAll(() => {
    cfg = composeConfig(MONITORING);
  });

  it('config -q - the file is valid, with and without the monitoring profile', () => {
    for (const args of [['config', '-q'], ['--profile', 'monitoring', 'config', '-q']]) {
      const res = dockerCompose(args);
      expect(res.status, `docker-compose ${args.join(' ')}:\n${res.stderr}`).toBe(0);
    }
  });

  it('redis - AOF persistence on a named volume, noeviction, healthcheck', () => {
    const redis = cfg.services['redis']!;
    expect(redis.command).toEqual(expect.arrayContaining(['--appendonly', 'yes']));
    expect(redis.command!.join(' ')).toMatch(/--maxmemory-policy noeviction/);
    expect(volumesOf(redis)).toEqual([{ source: 'redis-data', target: '/data', readOnly: false }]);
    expect(cfg.volumes).toHaveProperty('redis-data');
    expect(redis.healthcheck?.test).toBeDefined();
  });

  it('rabbitmq - a pinned 4.x management image, a broker user the host-networked roles may use, healthcheck', () => {
    const mq = cfg.services['rabbitmq']!;
    expect(mq.image).toMatch(/^rabbitmq:4\.\d+(\.\d+)?-management$/);
    expect(mq.healthcheck?.test).toBeDefined();
    // `guest` may only log in from loopback; through the published port the gateways are not loopback to the broker.
    expect(env(mq)['RABBITMQ_DEFAULT_USER']).not.toBe('guest');
  });

  it('images - the base images can be swapped by variables (deploy/local-images.sh), the defaults are the real ones', () => {
    const swapped = composeConfig([], { SWITCHBOARD_REDIS_IMAGE: 'r:1', SWITCHBOARD_RABBITMQ_IMAGE: 'q:2', SWITCHBOARD_NODE_IMAGE: 'n:3', SWITCHBOARD_IMAGE: 's:4' });
    expect(swapped.services['redis']!.image).toBe('r:1');
    expect(swapped.services['rabbitmq']!.image).toBe('q:2');
    for (const n of ['dispatch', 'gateway']) {
      expect(swapped.services[n]!.image).toBe('s:4');
      expect(swapped.services[n]!.build!.args).toEqual({ NODE_IMAGE: 'n:3' });
      // Without the variable, the Dockerfile's own default base image.
      expect(cfg.services[n]!.build!.args!['NODE_IMAGE']).toBe(dockerfile.stages[0]!.from);
    }
    expect(cfg.services['redis']!.image).toMatch(/^redis:7\.\d+-alpine$/);
  });

  it('dispatch - host network, listening on SWITCHBOARD_BIND_HOST (loopback by default) like the gateways, port 8080', () => {
    const d = cfg.services['dispatch']!;
    expect(d.command).toEqual(['switchboard', 'dispatch']);
    expect(d.network_mode).toBe('host');
    expect(portsOf(d)).toEqual([]);
    expect(env(d)).toMatchObject({ IM_DISPATCH_PORT: '8080', IM_BIND_HOST: '127.0.0.1' });
    expect(env(d)['IM_BIND_HOST']).toBe(env(cfg.services['gateway']!)['IM_BIND_HOST']);
    const open = composeConfig([], { SWITCHBOARD_BIND_HOST: '0.0.0.0', SWITCHBOARD_DISPATCH_PORT: '18080' });
    expect(env(open.services['dispatch']!)).toMatchObject({ IM_BIND_HOST: '0.0.0.0', IM_DISPATCH_PORT: '18080' });
    expect(env(open.services['gateway']!)['IM_BIND_HOST']).toBe('0.0.0.0');
  });

  it('gateway - scalable: host networking, every port 0, a public host, no fixed name or published port', () => {
    const g = cfg.services['gateway']!;
    const e = env(g);
    expect(g.command).toEqual(['switchboard', 'gateway']);
    expect(g.network_mode).toBe('host');
    expect(portsOf(g)).toEqual([]);
    expect(g).not.toHaveProperty('container_name');
    expect(e).toMatchObject({ IM_WS_PORT: '0', IM_TCP_PORT: '0', IM_UDP_PORT: '0', IM_ADMIN_PORT: '0', IM_PUBLIC_HOST: '127.0.0.1' });
    expect(e['IM_NODE_ID']).toBeUndefined(); // every replica a node of its own
    expect(g.restart).toBe('unless-stopped');
  });

  it('gateway - Docker\'s SIGKILL comes after the drain deadline, whatever SWITCHBOARD_DRAIN_SECONDS is', () => {
    for (const drain of [undefined, '1', '40', '90', '600']) {
      const c = composeConfig([], drain === undefined ? {} : { SWITCHBOARD_DRAIN_SECONDS: drain });
      const g = c.services['gateway']!;
      const drainMs = Number(env(g)['IM_DRAIN_TIMEOUT_MS']);
      expect(drainMs, `drain ${drain}`).toBe(Number(drain ?? 30) * 1000);
      // The gateway exits by drainMs + 5 s at the latest (its own shutdown deadline, packages/cli/src/main.ts).
      expect(seconds(g.stop_grace_period!), `drain ${drain}`).toBeGreaterThanOrEqual(drainMs / 1000 + 5);
      // Dispatch and the gateways get the same value.
      expect(env(c.services['dispatch']!)['IM_DRAIN_TIMEOUT_MS']).toBe(String(drainMs));
      // docker-compose v1 sends the grace as whole seconds (`stop -t 90`, StopTimeout): a fraction is refused.
      expect(Number.isInteger(seconds(g.stop_grace_period!))).toBe(true);
    }
  });

  it('every switchboard service gets the URLs its role connects to, reachable from its network, and waits for them', () => {
    const own = Object.entries(cfg.services).filter(([, s]) => isSwitchboardImage(s));
    expect(own.length).toBeGreaterThan(0);
    for (const [name, s] of own) {
      const role = s.command![1]!;
      const needs = roleBackends(role);
      expect(needs.length, `${name}: ${role} connects to nothing?`).toBeGreaterThan(0);
      for (const need of needs) {
        const { envVar, service, target, scheme } = BACKENDS[need];
        const url = new URL(env(s)[envVar] ?? '');
        expect(url.protocol, `${name} ${envVar}`).toBe(scheme);
        // Reachable from where the service runs: on the host network at the loopback port the backend is
        // published on; on the compose network by service name and container port.
        if (s.network_mode === 'host') {
          const pub = portsOf(cfg.services[service]!).find((p) => p.target === target);
          expect(pub, `${service} publishes ${target} for the host-networked ${name}`).toBeDefined();
          expect(url.hostname, `${name} ${envVar}`).toBe('127.0.0.1');
          expect(['127.0.0.1', null]).toContain(pub!.hostIp);
          expect(Number(url.port), `${name} ${envVar}`).toBe(pub!.published);
        } else {
          expect(`${url.hostname}:${url.port}`, `${name} ${envVar}`).toBe(`${service}:${target}`);
        }
        if (need === 'amqp') {
          const mq = env(cfg.services['rabbitmq']!);
          expect([decodeURIComponent(url.username), decodeURIComponent(url.password)], `${name}: the broker's own user`).toEqual([
            mq['RABBITMQ_DEFAULT_USER'],
            mq['RABBITMQ_DEFAULT_PASS'],
          ]);
        }
        expect(s.depends_on?.[service]?.condition, `${name} waits for ${service}`).toBe('service_healthy');
      }
    }
    // Moved ports move the URLs with them.
    const moved = composeConfig([], { SWITCHBOARD_REDIS_PORT: '16379', SWITCHBOARD_AMQP_PORT: '15673', RABBITMQ_USER: 'u', RABBITMQ_PASSWORD: 'p' });
    for (const n of ['dispatch', 'gateway']) {
      expect(env(moved.services[n]!)).toMatchObject({ IM_REDIS_URL: 'redis://127.0.0.1:16379', IM_AMQP_URL: 'amqp://u:p@127.0.0.1:15673' });
    }
  });

  it('switchboard services - one image from deploy/Dockerfile, known commands, only variables config.ts knows', () => {
    const own = Object.entries(cfg.services).filter(([, s]) => isSwitchboardImage(s));
    expect(own.map(([n]) => n).sort()).toEqual(['dispatch', 'gateway']);
    for (const [name, s] of own) {
      expect(s.build!.context, name).toBe(repoPath());
      expect(s.image, name).toBe(own[0]![1].image);
      const [bin, ...args] = s.command!;
      expect(bin, name).toBe('switchboard');
      expect(cliCommands, name).toContain(args[0]);
      for (const k of Object.keys(env(s)).filter((k) => k.startsWith('IM_'))) {
        expect(knownImVars.has(k), `${name}: ${k} is not a variable of packages/cli/src/config.ts`).toBe(true);
      }
    }
  });

  it('depends_on - everything waits for service_healthy, and each awaited service has a healthcheck', () => {
    const order: string[] = [];
    for (const [name, s] of Object.entries(cfg.services)) {
      for (const [dep, cond] of Object.entries(s.depends_on ?? {})) {
        order.push(`${dep} → ${name}`);
        expect(cond.condition, `${name} depends on ${dep}`).toBe('service_healthy');
        const target = cfg.services[dep]!;
        // Services of the switchboard image inherit the image's HEALTHCHECK unless they define their own.
        expect(target.healthcheck?.test !== undefined || (isSwitchboardImage(target) && !target.healthcheck?.disable), `${dep} has no healthcheck`).toBe(true);
      }
    }
    expect(order).toEqual(
      expect.arrayContaining(['redis → dispatch', 'rabbitmq → dispatch', 'redis → gateway', 'rabbitmq → gateway', 'dispatch → prometheus', 'prometheus → grafana']),
    );
  });

  it('monitoring - prometheus + grafana only under the profile; gateways discovered from dispatch\'s /admin/sd', () => {
    for (const n of ['prometheus', 'grafana']) expect(cfg.services[n]!.profiles, n).toEqual(['monitoring']);
    for (const n of ['redis', 'rabbitmq', 'dispatch', 'gateway']) expect(cfg.services[n]!.profiles, n).toBeUndefined();
    expect(cfg.services).not.toHaveProperty('prometheus-sd'); // dispatch serves the discovery itself

    const prom = readYaml(repoPath('deploy/prometheus/prometheus.yml')) as {
      scrape_configs: Array<{ job_name: string; static_configs?: Array<{ targets: string[] }>; http_sd_configs?: Array<{ url: string }> }>;
    };
    const job = (n: string) => prom.scrape_configs.find((j) => j.job_name === n)!;
    // Prometheus runs on the host network, where dispatch listens on its bind host and port.
    expect(cfg.services['prometheus']!.network_mode).toBe('host');
    const d = env(cfg.services['dispatch']!);
    const dispatchAt = `${d['IM_BIND_HOST']}:${d['IM_DISPATCH_PORT']}`;
    expect(job('switchboard-dispatch').static_configs![0]!.targets).toEqual([dispatchAt]);
    expect(job('switchboard-gateway').http_sd_configs![0]!.url).toBe(`http://${dispatchAt}/admin/sd`);
    const promYml = volumesOf(cfg.services['prometheus']!).find((v) => v.target === '/etc/prometheus/prometheus.yml')!;
    expect(promYml.source).toBe(repoPath('deploy/prometheus/prometheus.yml'));

    // Grafana: provisioning and dashboards mounted from deploy/grafana, datasource pointing at Prometheus.
    const graf = cfg.services['grafana']!;
    const mount = (target: string) => volumesOf(graf).find((v) => v.target === target)!.source;
    expect(mount('/etc/grafana/provisioning')).toBe(repoPath('deploy/grafana/provisioning'));
    expect(mount('/etc/grafana/dashboards')).toBe(repoPath('deploy/grafana/dashboards'));
    const dsFile = readYaml(repoPath('deploy/grafana/provisioning/datasources/prometheus.yml')) as { datasources: Array<{ uid: string; url: string }> };
    const listen = cfg.services['prometheus']!.command!.find((a) => a.startsWith('--web.listen-address='))!.split('=')[1];
    expect(dsFile.datasources[0]!.url).toBe(`http://${listen}`);
    const provider = readYaml(repoPath('deploy/grafana/provisioning/dashboards/switchboard.yml')) as { providers: Array<{ options: { path: string } }> };
    expect(provider.providers[0]!.options.path).toBe('/etc/grafana/dashboards');
    const dash = JSON.parse(readFileSync(repoPath('deploy/grafana/dashboards/switchboard.json'), 'utf8')) as Dashboard;
    for (const p of dash.panels.filter((p) => p.type !== 'row')) expect(p.datasource?.uid, p.title).toBe(dsFile.datasources[0]!.uid);
    expect(env(graf)['GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH']).toBe('/etc/grafana/dashboards/switchboard.json');
  });

  it('dashboard - a panel for every metric the Operations issue names', () => {
    const dash = JSON.parse(readFileSync(repoPath('deploy/grafana/dashboards/switchboard.json'), 'utf8')) as Dashboard;
    const exprs = dash.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)).join('\n');
    for (const m of ISSUE_5_METRICS) expect(exprs, m).toMatch(new RegExp(`\\b${m}(_bucket)?\\b`));
  });
});

interface Dashboard {
  panels: Array<{ type: string; title: string; datasource?: { uid: string }; targets?: Array<{ expr: string }> }>;
}

const ISSUE_5_METRICS = [
  'switchboard_connections',
  'switchboard_logins_total',
  'switchboard_messages_total',
  'switchboard_acks_relayed_total',
  'switchboard_custody_pending',
  'switchboard_offline_stored_total',
  'switchboard_offline_delivered_total',
  'switchboard_delivery_latency_seconds',
  'switchboard_bridge_publish_seconds',
  'switchboard_kicks_total',
  'switchboard_slow_consumer_closes_total',
];

// ---------------------------------------------------------------------------------------------------------------

/** A child's watchdog: end when the test process disappears (the testkit's spawner does the same). */
const WATCHDOG =
  'data:text/javascript,' +
  encodeURIComponent(
    "const p=process.ppid;const t=setInterval(()=>{try{process.kill(p,0)}catch{clearInterval(t);process.kill(process.pid,'SIGTERM');setTimeout(()=>process.kill(process.pid,'SIGKILL'),5000).unref()}},500);t.unref();",
  );

interface ImageTree {
  /** Plays the image's /app. */
  app: string;
  /** The runtime stage's ENV. */
  env: Record<string, string>;
}

function sh(cmd: string, cwd: string): void {
  const res = spawnSync('sh', ['-c', cmd], { cwd, env: { ...process.env, CI: 'true' }, encoding: 'utf8', timeout: 300_000 });
  if (res.status !== 0) throw new Error(`\`${cmd}\` failed in ${cwd} (exit ${res.status}):\n${(res.stdout + res.stderr).slice(-4000)}`);
}

/**
 * The image's file tree without Docker: the build context (as .dockerignore filters it) in a temporary directory,
 * the build stage's RUN lines run there (with /out inside the temporary directory), then the runtime stage's
 * COPY from the build context. The one RUN left out installs pnpm globally; the pinned version must already be here.
 */
function buildImageTree(work: string): ImageTree {
  const src = path.join(work, 'src');
  const out = path.join(work, 'app');
  copyBuildContext(src);
  for (const run of dockerfile.of(buildStage, 'RUN')) {
    const cmd = run.args;
    const pin = /npm install -g pnpm@(\S+)/.exec(cmd);
    if (pin) {
      const have = spawnSync('pnpm', ['--version'], { encoding: 'utf8' }).stdout?.trim();
      if (have !== pin[1]) throw new Error(`the image installs pnpm ${pin[1]}; this machine has ${have ?? 'none'} (npm i -g pnpm@${pin[1]})`);
      continue;
    }
    sh(cmd.replace(/(^|[\s=])\/out(?=[/\s]|$)/g, `$1${out}`), src);
  }
  for (const c of dockerfile.of(runtimeStage, 'COPY')) {
    const { from, sources, dest } = copySources(c.args);
    if (from !== null) continue; // the /out tree is `out` itself
    const target = path.join(out, path.posix.relative('/app', dest));
    mkdirSync(target, { recursive: true });
    for (const s of sources) copyFileSync(path.join(src, s), path.join(target, path.basename(s)));
  }
  const envs: Record<string, string> = {};
  for (const e of dockerfile.of(runtimeStage, 'ENV')) for (const m of e.args.matchAll(/(\w+)=(\S+)/g)) envs[m[1]!] = m[2]!;
  return { app: out, env: envs };
}

/** A compose service's command as a local `node` invocation against the image tree. */
function localArgs(tree: ImageTree, command: string[]): string[] {
  const [bin, ...rest] = command;
  const mapped = rest.map((a) => (a.startsWith('/app/') ? path.join(tree.app, a.slice('/app/'.length)) : a));
  if (bin === 'switchboard') return [path.join(tree.app, 'bin', 'switchboard.mjs'), ...mapped]; // the image's wrapper: exec node /app/bin/switchboard.mjs
  if (bin === 'node') return mapped;
  throw new Error(`cannot run ${command.join(' ')} locally`);
}

/** The environment a container of `svc` gets: the image's ENV under the service's environment, plus overrides. */
function containerEnv(tree: ImageTree, svc: ComposeService, overrides: Record<string, string>): Record<string, string> {
  return { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: tmpdir(), ...tree.env, ...env(svc), ...overrides };
}

/** A process's own IM_READY_FILE: the image sets one path, which several local processes must not share. */
function readyFile(tree: ImageTree, name: string): string {
  return path.join(path.dirname(tree.app), `${name}.ready.json`);
}

function startService(group: ProcessGroup, tree: ImageTree, name: string, svc: ComposeService, overrides: Record<string, string>): NodeProcess {
  const child = spawn(process.execPath, ['--import', WATCHDOG, ...localArgs(tree, svc.command!)], {
    cwd: tree.app,
    env: containerEnv(tree, svc, { IM_READY_FILE: readyFile(tree, name), ...overrides }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc = new NodeProcess(child, name, 300);
  group.add(proc);
  return proc;
}

/** Run a compose/Dockerfile health check command (`CMD` exec form) locally; resolves with its exit code and output. */
function runCheck(tree: ImageTree, test: string[], envs: Record<string, string>): Promise<{ code: number; out: string }> {
  const words = test[0] === 'CMD' ? test.slice(1) : test;
  return new Promise((resolve) => {
    execFile(process.execPath, localArgs(tree, words), { cwd: tree.app, env: envs, timeout: 10_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, out: stdout + stderr });
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

interface DispatchAnswer {
  node: string;
  ws: string;
  tcp: { host: string; port: number };
}

describe('docker-compose.yml services as local processes, from the image tree', () => {
  const group = new ProcessGroup();
  const clients: TestClient[] = [];
  let work = '';
  let tree: ImageTree;
  let cfg: ComposeConfig;
  let prefix = '';
  let redisUrl = '';
  let dispatch: ReadyNodeProcess;
  let dispatchUrl = '';
  const gateways: ReadyNodeProcess[] = [];
  const readyOf = (p: ReadyNodeProcess) => p.ready as unknown as { nodeId: string; ports: Record<string, number> };
  /** Where a process started by startService writes its ready line (the image's IM_READY_FILE, one per process here). */
  const readyFileOf = (p: NodeProcess) => readyFile(tree, p.name);

  beforeAll(async () => {
    cfg = composeConfig(MONITORING);
    const [redis, amqp] = await Promise.all([resolveRedisUrl(), resolveAmqpUrl()]);
    redisUrl = redis;
    prefix = uniquePrefix('compose');
    work = mkdtempSync(path.join(tmpdir(), 'switchboard-image-'));
    tree = buildImageTree(work);

    const local = { IM_REDIS_URL: redis, IM_AMQP_URL: amqp, IM_KEY_PREFIX: prefix };
    const d = startService(group, tree, 'dispatch', cfg.services['dispatch']!, { ...local, IM_DISPATCH_PORT: '0' });
    await d.whenReady();
    dispatch = d as ReadyNodeProcess;
    dispatchUrl = `http://127.0.0.1:${readyOf(dispatch).ports['dispatch']}`;
    const gws = [1, 2].map((i) => startService(group, tree, `gateway-${i}`, cfg.services['gateway']!, local));
    for (const g of gws) {
      await g.whenReady();
      gateways.push(g as ReadyNodeProcess);
    }
    await waitFor(async () => ((await nodes()).length === 2 ? true : null), { timeoutMs: 15_000, what: 'dispatch lists both gateways' });
  }, 240_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await group.killAll();
    if (prefix) await cleanupRedisPrefix(redisUrl, prefix).catch(() => {});
    if (work) rmSync(work, { recursive: true, force: true });
  });

  async function nodes(): Promise<Array<{ id: string; host: string; state: string; ports: { ws: number; tcp: number; admin: number } }>> {
    const res = await fetch(`${dispatchUrl}/admin/nodes`);
    if (!res.ok) throw new Error(`/admin/nodes answered ${res.status}`);
    return ((await res.json()) as { nodes: Array<{ id: string; host: string; state: string; ports: { ws: number; tcp: number; admin: number } }> }).nodes;
  }

  async function dispatchFor(uid: string): Promise<DispatchAnswer> {
    const res = await fetch(`${dispatchUrl}/api/dispatch?uid=${encodeURIComponent(uid)}`);
    if (!res.ok) throw new Error(`dispatch answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as DispatchAnswer;
  }

  it('image tree - production dependencies only: no tsx loader in use, no dev dependencies, dist everywhere', () => {
    const mods = path.join(tree.app, 'node_modules');
    expect(existsSync(path.join(tree.app, 'dist', 'main.js'))).toBe(true);
    for (const dev of ['vitest', 'typescript', '@types/node', '@switchboard/testkit']) expect(existsSync(path.join(mods, dev)), dev).toBe(false);
    for (const p of ['core', 'protocol', 'cluster', 'gateway', 'dispatch']) {
      expect(existsSync(path.join(mods, '@switchboard', p, 'dist', 'index.js')), `@switchboard/${p} dist`).toBe(true);
    }
    // The roles run the compiled code: nothing in their command line loads tsx or the `source` condition.
    for (const p of [dispatch, ...gateways]) {
      const cmdline = readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').split('\0').join(' ');
      expect(cmdline).not.toMatch(/tsx|--conditions/);
    }
  });

  it('dispatch - hands out each gateway at the address it bound (IM_PUBLIC_HOST + its free ports)', async () => {
    const list = await nodes();
    expect(list.map((n) => n.id).sort()).toEqual(gateways.map((g) => readyOf(g).nodeId).sort());
    for (const n of list) {
      const g = gateways.find((x) => readyOf(x).nodeId === n.id)!;
      expect(n.host).toBe(env(cfg.services['gateway']!)['IM_PUBLIC_HOST']);
      expect(n.ports).toMatchObject({ ws: readyOf(g).ports['ws'], tcp: readyOf(g).ports['tcp'], admin: readyOf(g).ports['admin'] });
    }
  });

  it('cross-node QoS - two clients dispatched to different gateways: delivered once, acked end to end', async () => {
    // Ask until dispatch has used both gateways. Not a fixed number of quick asks: on a loaded machine a
    // gateway whose reports stall past the node TTL drops out of the live list for a few seconds.
    const byNode = new Map<string, { uid: string; d: DispatchAnswer }>();
    let i = 0;
    await waitFor(
      async () => {
        const uid = `compose-user-${i++}`;
        const d = await dispatchFor(uid);
        if (!byNode.has(d.node)) byNode.set(d.node, { uid, d });
        return byNode.size === 2 ? true : null;
      },
      { timeoutMs: 30_000, intervalMs: 50, what: 'dispatch hands out both gateways' },
    );
    const [ea, eb] = [...byNode.values()];
    // a over WebSocket, b over TCP, each where dispatch sent it.
    const a = new TestClient({ url: ea!.d.ws });
    const b = new TestClient({ transport: 'tcp', host: eb!.d.tcp.host, port: eb!.d.tcp.port, autoAck: false });
    clients.push(a, b);
    await Promise.all([a.connect(), b.connect()]);
    expect((await a.login(ea!.uid)).code).toBe(0);
    expect((await b.login(eb!.uid)).code).toBe(0);

    const fp = (await a.send(eb!.uid, 'across the compose cluster'))!;
    const m = await b.waitForMessage((p) => p.fp === fp);
    expect(m.from).toBe(ea!.uid);
    await new Promise((r) => setTimeout(r, 300));
    expect(a.acks, 'acked before the receiver acked').not.toContain(fp);
    await b.ack(m);
    await a.waitForAck(fp);

    b.autoAck = true;
    const fp2 = (await b.send(ea!.uid, 'and back'))!;
    expect((await a.waitForMessage((p) => p.fp === fp2)).dataContent).toBe('and back');
    await b.waitForAck(fp2);
    await new Promise((r) => setTimeout(r, 200));
    expect(b.messages.filter((p) => p.fp === fp)).toHaveLength(1);
    expect(a.acks.filter((x) => x === fp)).toHaveLength(1);
    expect(b.acks.filter((x) => x === fp2)).toHaveLength(1);

    const user = (await (await fetch(`${dispatchUrl}/admin/users/${eb!.uid}`)).json()) as { online: boolean; route: { nodeId: string } | null };
    expect(user.online).toBe(true);
    expect(user.route?.nodeId).toBe(eb!.d.node);
  });

  it('health checks - the image HEALTHCHECK reads the ready file each role writes (admin port 0 included)', async () => {
    const hc = execForm(dockerfile.of(runtimeStage, 'HEALTHCHECK')[0]!.args);
    for (const [name, p] of [['dispatch', dispatch], ['gateway', gateways[0]!], ['gateway', gateways[1]!]] as const) {
      const file = readyFileOf(p);
      expect(JSON.parse(readFileSync(file, 'utf8')), `${name}: the ready line`).toEqual(p.ready);
      const r = await runCheck(tree, hc, containerEnv(tree, cfg.services[name]!, { IM_READY_FILE: file }));
      expect(r.code, `${name}: ${r.out}`).toBe(0);
      expect(r.out).toMatch(/^healthy: /);
      expect(r.out).toContain(`:${readyOf(p).ports[name === 'dispatch' ? 'dispatch' : 'admin']}`);
    }
    // Unhealthy without the file (a role still starting), and when the port in it does not answer.
    const missing = await runCheck(tree, hc, containerEnv(tree, cfg.services['gateway']!, { IM_READY_FILE: path.join(work, 'nobody.ready.json') }));
    expect(missing.code, missing.out).toBe(1);
    expect(missing.out).toMatch(/^unhealthy: not ready yet/);
    const dead = path.join(work, 'dead.ready.json');
    writeFileSync(dead, JSON.stringify({ event: 'ready', role: 'gateway', ports: { admin: await freePort() } }));
    const r = await runCheck(tree, hc, containerEnv(tree, cfg.services['gateway']!, { IM_READY_FILE: dead }));
    expect(r.code, r.out).toBe(1);
  });

  it('health checks - the image default command (standalone) with its HEALTHCHECK; the ready file goes at exit', async () => {
    const cmd = execForm(dockerfile.of(runtimeStage, 'CMD')[0]!.args);
    const [admin, disp, ws, tcp] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const ports = { IM_ADMIN_PORT: String(admin), IM_DISPATCH_PORT: String(disp), IM_WS_PORT: String(ws), IM_TCP_PORT: String(tcp), IM_UDP_PORT: '0' };
    const proc = startService(group, tree, 'standalone', { command: cmd }, { ...ports, IM_LOG_LEVEL: 'warn' });
    const ready = (await proc.whenReady()) as unknown as { role: string; ports: Record<string, number> };
    expect(ready.role).toBe('standalone');
    const hc = execForm(dockerfile.of(runtimeStage, 'HEALTHCHECK')[0]!.args);
    const file = path.join(work, 'standalone.ready.json');
    const r = await runCheck(tree, hc, containerEnv(tree, {}, { ...ports, IM_READY_FILE: file }));
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain(`127.0.0.1:${admin}`);
    expect(r.out).toContain(`127.0.0.1:${disp}`);
    await proc.stop();
    expect(existsSync(file), 'removed at exit').toBe(false);
  });

  it('/admin/sd - one Prometheus target per gateway, where every dashboard metric is served', async () => {
    const res = await fetch(`${dispatchUrl}/admin/sd`);
    expect(res.status).toBe(200);
    const groups = (await res.json()) as Array<{ targets: string[]; labels: Record<string, string> }>;
    expect(groups.map((g) => g.labels['node']).sort()).toEqual(gateways.map((g) => readyOf(g).nodeId).sort());
    for (const g of groups) {
      const gw = gateways.find((x) => readyOf(x).nodeId === g.labels['node'])!;
      expect(g.targets).toEqual([`${env(cfg.services['gateway']!)['IM_PUBLIC_HOST']}:${readyOf(gw).ports['admin']}`]);
    }
    const text = await Promise.all(groups.map(async (g) => (await fetch(`http://${g.targets[0]}/metrics`)).text()));
    for (const t of text) for (const m of ISSUE_5_METRICS) expect(t, m).toContain(`# TYPE ${m} `);
    const sum = (name: string) =>
      text.flatMap((t) => [...t.matchAll(new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\d+(?:\\.\\d+)?)$`, 'gm'))]).reduce((s, m) => s + Number(m[1]), 0);
    expect(sum('switchboard_messages_total{kind="c2c_remote"}')).toBeGreaterThanOrEqual(1);
    expect(sum('switchboard_acks_relayed_total')).toBeGreaterThanOrEqual(1);
    expect(await (await fetch(`${dispatchUrl}/metrics`)).text()).toContain('# TYPE switchboard_dispatches_total ');
  });

  it('drain - SIGTERM (docker stop) drains a gateway: its clients are told to reconnect, exit 0 within stop_grace_period', async () => {
    const g = gateways[1]!;
    const c = new TestClient({ url: `ws://127.0.0.1:${readyOf(g).ports['ws']}/websocket` });
    clients.push(c);
    await c.connect();
    expect((await c.login('compose-drain')).code).toBe(0);
    const grace = seconds(cfg.services['gateway']!.stop_grace_period!) * 1000;
    const t0 = Date.now();
    g.kill('SIGTERM');
    const exit = await g.waitForExit(grace);
    expect(exit, g.output()).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(grace);
    expect(existsSync(readyFileOf(g)), 'the ready file goes with the process').toBe(false);
    const closed = await c.waitForClose();
    expect(closed.code, 'a reconnect close code (4000–4499)').toBeGreaterThanOrEqual(4000);
    expect(closed.code).toBeLessThan(4500);
    await waitFor(async () => ((await nodes()).length === 1 ? true : null), { timeoutMs: 10_000, what: 'dispatch forgets the drained gateway' });
  });
});
