// The CLI's failures as an operator meets them: every server command takes --help; an unknown flag,
// a busy port, Redis or RabbitMQ down at boot each print one line on stderr (what failed, which
// variable, what to do) and no stack trace; exit 2 for usage and configuration, 1 at runtime.
import { createServer, type Server } from 'node:net';
import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, resolveRedisUrl, startNode, type NodeProcess } from '@switchboard/testkit';

const PORTS_ANY = { IM_WS_PORT: '0', IM_TCP_PORT: '0', IM_UDP_PORT: '0', IM_ADMIN_PORT: '0', IM_DISPATCH_PORT: '0' };
const SECRET = 'cli-errors-secret-0123';

async function run(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number | null; stdout: string; stderr: string[]; proc: NodeProcess }> {
  const proc = startNode({ args, env: { IM_LOG_LEVEL: 'warn', ...env } });
  const exit = await proc.waitForExit(60_000);
  const pick = (s: 'stdout' | 'stderr') => proc.lines().filter((l) => l.stream === s).map((l) => l.text);
  return { code: exit.code, stdout: pick('stdout').join('\n'), stderr: pick('stderr').filter((l) => l.trim() !== ''), proc };
}

/** One line on stderr, starting "switchboard: ", matching every pattern, no stack trace. */
function oneLine(r: { stderr: string[]; proc: NodeProcess }, ...patterns: RegExp[]): string {
  expect(r.stderr, r.proc.output()).toHaveLength(1);
  const line = r.stderr[0]!;
  expect(line.startsWith('switchboard: '), line).toBe(true);
  expect(line).not.toMatch(/\bat .*\(.*:\d+:\d+\)/);
  for (const p of patterns) expect(line).toMatch(p);
  return line;
}

/** A loopback TCP port and UDP port held busy by this process. */
async function busyPorts(): Promise<{ tcp: number; udp: number; close(): Promise<void> }> {
  const server: Server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const sock: Socket = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return {
    tcp: (server.address() as { port: number }).port,
    udp: sock.address().port,
    close: async () => {
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => sock.close(r));
    },
  };
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('switchboard <role> --help and usage mistakes', () => {
  it.each(['standalone', 'gateway', 'dispatch', 'cluster'])('%s --help prints its usage and exits 0; an unknown flag exits 2 with one line', async (role) => {
    const help = await run([role, '--help']);
    expect(help.code, help.proc.output()).toBe(0);
    expect(help.stdout).toMatch(new RegExp(`^Usage: switchboard ${role}`));
    expect(help.stderr).toEqual([]);
    const bad = await run([role, '--bogus']);
    expect(bad.code).toBe(2);
    oneLine(bad, /Unknown option '--bogus'/, new RegExp(`see: switchboard ${role} --help`));
  });

  it('the top-level --help lists the commands; pnpm\'s "--" is accepted', async () => {
    const r = await run(['--', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: switchboard <command>/);
    for (const command of ['standalone', 'gateway', 'dispatch', 'cluster', 'bench', 'chat', 'token']) expect(r.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    const c = await run(['cluster', '--', '--gateways', 'x']);
    expect(c.code).toBe(2);
    oneLine(c, /--gateways must be a whole number from 1 to 64, got "x"/);
  });
});

describe('the package bin', () => {
  it('pnpm exec switchboard runs from a checkout without a build (sources through tsx, workspace packages by their "source" export)', async () => {
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync('pnpm', ['exec', 'switchboard', 'dispatch', '--help'], { cwd: repoRoot(), encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Usage: switchboard dispatch$/m);
  });
});

describe('switchboard standalone - a busy port names its variable', () => {
  let busy: Awaited<ReturnType<typeof busyPorts>>;
  beforeAll(async () => {
    busy = await busyPorts();
  });
  afterAll(async () => busy.close());

  it.each([
    ['IM_WS_PORT', 'WebSocket clients'],
    ['IM_TCP_PORT', 'TCP clients'],
    ['IM_UDP_PORT', 'UDP clients'],
    ['IM_ADMIN_PORT', 'the gateway admin API'],
    ['IM_DISPATCH_PORT', 'dispatch'],
  ])('%s', async (variable, what) => {
    const port = variable === 'IM_UDP_PORT' ? busy.udp : busy.tcp;
    const r = await run(['standalone'], { ...PORTS_ANY, [variable]: String(port) });
    expect(r.code).toBe(1);
    oneLine(r, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} for ${what}: the port is in use \\(EADDRINUSE\\); set ${variable} to a free port`));
    expect(r.stdout).not.toContain('"event":"ready"');
  });
});

describe('backends down at boot', () => {
  it('Redis: gateway and dispatch name the URL and IM_REDIS_URL', async () => {
    const port = await closedPort();
    for (const role of ['gateway', 'dispatch']) {
      const r = await run([role], { ...PORTS_ANY, IM_JWT_SECRET: SECRET, IM_REDIS_URL: `redis://:hunter2@127.0.0.1:${port}` });
      expect(r.code, role).toBe(1);
      const line = oneLine(r, new RegExp(`Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port} \\(IM_REDIS_URL\\) is unreachable: connect ECONNREFUSED`), /start Redis or set IM_REDIS_URL/);
      expect(line).not.toContain('hunter2');
      expect(line).not.toContain('MaxRetriesPerRequest');
    }
  });

  it('RabbitMQ: a gateway names the URL and IM_AMQP_URL (events on or off)', async () => {
    const redisUrl = await resolveRedisUrl();
    const port = await closedPort();
    for (const events of ['amqp', 'off']) {
      const r = await run(['gateway'], { ...PORTS_ANY, IM_JWT_SECRET: SECRET, IM_REDIS_URL: redisUrl, IM_EVENTS: events, IM_AMQP_URL: `amqp://sb:hunter2@127.0.0.1:${port}` });
      expect(r.code, events).toBe(1);
      const line = oneLine(r, new RegExp(`RabbitMQ at amqp://sb:\\*\\*\\*@127\\.0\\.0\\.1:${port} \\(IM_AMQP_URL\\) is unreachable: .*ECONNREFUSED`), /start RabbitMQ or set IM_AMQP_URL/);
      expect(line).not.toContain('hunter2');
    }
  });
});
