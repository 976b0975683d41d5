// Every command the README shows, run as written (through sh, with pnpm): the quick start, the
// cluster, each role on its own, the push API's curl, the terminal chat. The only changes are in the
// environment (free ports, this test's Redis, RabbitMQ and key prefix) and dispatch's port in URLs.
// A command added to the README fails the first test until it is handled here.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '@switchboard/core';
import { cleanupRedisPrefix, repoRoot, resolveAmqpUrl, resolveRedisUrl, uniquePrefix } from '@switchboard/testkit';

const README = readFileSync(path.join(repoRoot(), 'README.md'), 'utf8');
const PKG = JSON.parse(readFileSync(path.join(repoRoot(), 'package.json'), 'utf8')) as { packageManager: string; scripts: Record<string, string> };
const PORTS_ANY = { IM_WS_PORT: '0', IM_TCP_PORT: '0', IM_UDP_PORT: '0', IM_ADMIN_PORT: '0', IM_DISPATCH_PORT: '0' };

/** The commands of the README's `sh` blocks (comments dropped, continued lines joined) and its inline `pnpm …`/`npm …`. */
function readmeCommands(md: string): string[] {
  const out: string[] = [];
  for (const block of md.matchAll(/```sh\n([\s\S]*?)```/g)) {
    let pending = '';
    for (const raw of block[1]!.split('\n')) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      const joined = pending + line.replace(/\s+#\s.*$/, '');
      if (joined.endsWith('\\')) pending = joined.slice(0, -1).trimEnd() + ' ';
      else {
        out.push(joined.trim());
        pending = '';
      }
    }
  }
  for (const m of md.matchAll(/`((?:pnpm|npm) [^`…]+)`/g)) out.push(m[1]!.trim());
  return [...new Set(out)];
}

/** How each README command is covered: run by one of the groups below, or why it is not run here. */
const HANDLED: Record<string, string> = {
  'pnpm install && pnpm start': 'run: quick start (the install step is this checkout\'s own, done before any test)',
  'pnpm start': 'run: quick start (the same command, quoted in the text)',
  'IM_AUTH=none pnpm cluster -- --gateways 3': 'run: cluster',
  'curl -s localhost:8080/admin/nodes': 'run: cluster',
  "curl -s 'localhost:8080/api/dispatch?uid=alice'": 'run: cluster',
  'pnpm switchboard dispatch': 'run: roles',
  'IM_JWT_SECRET=change-me-16-chars pnpm switchboard gateway': 'run: roles',
  'pnpm switchboard gateway --help': 'run: roles',
  'curl -s -X POST localhost:8080/api/messages -H \'content-type: application/json\' -d \'{"to":"alice","dataContent":"Your order shipped","typeu":1,"qos":true}\'': 'run: quick start',
  'curl -s -X POST localhost:8080/api/messages -H "authorization: Bearer $IM_ADMIN_TOKEN" -H \'content-type: application/json\' -d \'{"from":"alice","to":"bob","dataContent":"hi from the back office"}\'':
    'not run: needs a server started with IM_ADMIN_TOKEN; packages/dispatch/test/unit/presence-api.test.ts sends the same request (403 without the token, 202 with it)',
  'pnpm switchboard chat --uid alice': 'run: quick start (with --dispatch pointing at its free port)',
  'pnpm cluster -- --gateways 3': 'run: cluster (the same command, quoted in the text)',
  'npm i -g pnpm@10.34.9': 'not run (a global install): the version is checked against packageManager',
  'pnpm test': 'not run: the suite this test is part of; checked to be a script',
  'pnpm test:unit': 'not run: part of the suite; checked to be a script',
  'pnpm test:int': 'not run: part of the suite; checked to be a script',
  'pnpm test:cluster': 'not run: part of the suite; checked to be a script',
  'pnpm typecheck': 'not run: its own CI step; checked to be a script',
  'docker compose up -d --build --scale gateway=3': 'not run: no Docker engine here; test/deploy/compose.test.ts runs the compose file without one',
  'docker compose --profile monitoring up -d --scale gateway=3': 'not run: no Docker engine here (test/deploy)',
  'docker compose down': 'not run: no Docker engine here (test/deploy)',
};

/** A command run through `sh -c` in its own process group, its output kept by line. */
class Shell {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;
  private waiters = new Set<() => void>();

  constructor(
    readonly command: string,
    env: Record<string, string>,
    stdin: 'ignore' | 'pipe' = 'ignore',
  ) {
    this.child = spawn('sh', ['-c', command], { cwd: repoRoot(), env: { ...process.env, ...env }, stdio: [stdin, 'pipe', 'pipe'], detached: true });
    live.add(this);
    for (const s of [this.child.stdout!, this.child.stderr!]) {
      createInterface({ input: s }).on('line', (l) => {
        this.lines.push(l);
        for (const w of this.waiters) w();
      });
    }
    this.exited = new Promise((r) =>
      this.child.once('close', (code) => {
        live.delete(this);
        r(code);
      }),
    );
  }

  output(): string {
    return `$ ${this.command}\n${this.lines.slice(-80).join('\n')}`;
  }

  /** The first line (parsed as JSON when it is an object) that `pred` accepts. */
  async waitForLine(pred: (line: string, json: Record<string, unknown> | undefined) => boolean, timeoutMs = 90_000): Promise<Record<string, unknown> | string> {
    const find = () => {
      for (const l of this.lines) {
        let j: Record<string, unknown> | undefined;
        try {
          const v = JSON.parse(l) as unknown;
          if (v && typeof v === 'object') j = v as Record<string, unknown>;
        } catch {
          // not JSON: pnpm's header, the chat's lines
        }
        if (pred(l, j)) return j ?? l;
      }
      return undefined;
    };
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = find();
        if (hit !== undefined) {
          done();
          resolve(hit);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no such line within ${timeoutMs} ms\n${this.output()}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      void this.exited.then(() => setTimeout(check, 50));
      check();
    });
  }

  /**
   * Ctrl+C: SIGINT to the whole process group (pnpm, sh, node and a cluster's children), SIGKILL
   * after `graceMs`. Resolves once every process of the group closed its output.
   */
  async stop(graceMs = 30_000): Promise<void> {
    if (!live.has(this)) return;
    signalGroup(this.child, 'SIGINT');
    const t = setTimeout(() => signalGroup(this.child, 'SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(t);
  }

  /** Stop as Ctrl+C does and expect a clean shutdown: no process forced out, nothing failed. */
  async expectCleanStop(): Promise<void> {
    await this.stop();
    // pnpm itself reports the signal it got ("ELIFECYCLE Command failed"): the node processes do not.
    const bad = this.lines.filter((l) => /exiting now|shutdown failed|deadline passed|exited \(code|Error/.test(l) && !l.includes('ELIFECYCLE'));
    expect(bad, this.output()).toEqual([]);
  }
}

const live = new Set<Shell>();
function signalGroup(child: ChildProcess, sig: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, sig);
  } catch {
    // the group is gone already
  }
}
process.once('exit', () => {
  for (const s of live) signalGroup(s.child, 'SIGKILL');
});

/** Run a short command to its end. */
async function runToEnd(command: string, env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  const sh = new Shell(command, env);
  const code = await sh.exited;
  return { code, out: sh.lines.join('\n') };
}

/** The README's command, with dispatch's port 8080 in its URLs replaced by `port`. */
const onPort = (command: string, port: number) => command.replaceAll('localhost:8080', `localhost:${port}`);

function command(text: string): string {
  expect(readmeCommands(README), `the README no longer shows: ${text}`).toContain(text);
  return text;
}

describe('README commands', () => {
  afterAll(async () => {
    await Promise.all([...live].map((s) => s.stop(5_000)));
  });

  it('every command the README shows is handled by this test', () => {
    const cmds = readmeCommands(README);
    expect(cmds.length).toBeGreaterThan(10);
    const unhandled = cmds.filter((c) => HANDLED[c] === undefined);
    expect(unhandled, 'README commands this test neither runs nor explains').toEqual([]);
    const gone = Object.keys(HANDLED).filter((c) => !cmds.includes(c));
    expect(gone, 'commands handled here that the README no longer shows').toEqual([]);
  });

  it('the commands not run here: the pnpm pin and the scripts exist', () => {
    expect(PKG.packageManager).toBe(`pnpm@${command('npm i -g pnpm@10.34.9').split('@')[1]}`);
    for (const c of ['pnpm test', 'pnpm test:unit', 'pnpm test:int', 'pnpm test:cluster', 'pnpm typecheck']) {
      expect(PKG.scripts[command(c).slice('pnpm '.length)], c).toBeDefined();
    }
  });

  it('quick start: pnpm start, the chat, a server message pushed with curl', async () => {
    const start = new Shell(command('pnpm install && pnpm start').replace(/^pnpm install && /, ''), { ...PORTS_ANY, IM_LOG_LEVEL: 'warn' });
    const ready = (await start.waitForLine((_l, j) => j?.['event'] === 'ready')) as { role: string; ports: { dispatch: number } };
    expect(ready.role).toBe('standalone');
    const port = ready.ports.dispatch;
    const chat = new Shell(`${command('pnpm switchboard chat --uid alice')} --dispatch http://127.0.0.1:${port}`, {}, 'pipe');
    await chat.waitForLine((l) => l.includes('* online') && l.includes('as alice'));
    const push = command(
      'curl -s -X POST localhost:8080/api/messages -H \'content-type: application/json\' -d \'{"to":"alice","dataContent":"Your order shipped","typeu":1,"qos":true}\'',
    );
    const r = await runToEnd(onPort(push, port));
    expect(r.code, r.out).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ status: 'relayed', fp: expect.any(String) });
    await chat.waitForLine((l) => l.includes('Your order shipped'));
    chat.child.stdin!.end('/quit\n');
    expect(await chat.exited, chat.output()).toBe(0);
    await start.expectCleanStop();
  });

  it('cluster: IM_AUTH=none pnpm cluster -- --gateways 3, then the curls', async () => {
    const redisUrl = await resolveRedisUrl();
    const prefix = uniquePrefix('readme');
    const env = { IM_REDIS_URL: redisUrl, IM_AMQP_URL: await resolveAmqpUrl(), IM_KEY_PREFIX: prefix, IM_DISPATCH_PORT: '0', IM_LOG_LEVEL: 'warn' };
    try {
      const cluster = new Shell(command('IM_AUTH=none pnpm cluster -- --gateways 3'), env);
      const ready = (await cluster.waitForLine((_l, j) => j?.['event'] === 'ready' && j['role'] === 'cluster', 150_000)) as {
        ports: { dispatch: number };
        gateways: unknown[];
      };
      expect(ready.gateways).toHaveLength(3);
      const port = ready.ports.dispatch;
      const nodes = await waitFor(
        async () => {
          const r = await runToEnd(onPort(command('curl -s localhost:8080/admin/nodes'), port));
          const list = (JSON.parse(r.out || '{}') as { nodes?: unknown[] }).nodes ?? [];
          return list.length === 3 ? list : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 250, what: '3 gateways in /admin/nodes' },
      );
      expect(nodes).toHaveLength(3);
      const d = await waitFor(
        async () => {
          const r = await runToEnd(onPort(command("curl -s 'localhost:8080/api/dispatch?uid=alice'"), port));
          const body = JSON.parse(r.out || '{}') as { ws?: string };
          return body.ws ? body : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 250, what: 'a dispatch answer' },
      );
      expect(d.ws).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/websocket$/);
      await cluster.expectCleanStop();
    } finally {
      await cleanupRedisPrefix(redisUrl, prefix).catch(() => {});
    }
  });

  it('each role on its own: pnpm switchboard dispatch, pnpm switchboard gateway, --help', async () => {
    const help = await runToEnd(command('pnpm switchboard gateway --help'));
    expect(help.code, help.out).toBe(0);
    expect(help.out).toMatch(/^Usage: switchboard gateway$/m);
    const redisUrl = await resolveRedisUrl();
    const prefix = uniquePrefix('readme-roles');
    const env = { ...PORTS_ANY, IM_REDIS_URL: redisUrl, IM_AMQP_URL: await resolveAmqpUrl(), IM_KEY_PREFIX: prefix, IM_LOG_LEVEL: 'warn' };
    try {
      const dispatch = new Shell(command('pnpm switchboard dispatch'), env);
      const gateway = new Shell(command('IM_JWT_SECRET=change-me-16-chars pnpm switchboard gateway'), env);
      const dr = (await dispatch.waitForLine((_l, j) => j?.['event'] === 'ready')) as { role: string; ports: { dispatch: number } };
      const gr = (await gateway.waitForLine((_l, j) => j?.['event'] === 'ready')) as { role: string; nodeId: string };
      expect(dr.role).toBe('dispatch');
      expect(gr.role).toBe('gateway');
      const answer = await waitFor(
        async () => {
          const res = await fetch(`http://127.0.0.1:${dr.ports.dispatch}/api/dispatch?uid=alice`);
          return res.status === 200 ? ((await res.json()) as { node: string }) : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 250, what: 'dispatch handing out the gateway' },
      );
      expect(answer.node).toBe(gr.nodeId);
      await gateway.expectCleanStop();
      await dispatch.expectCleanStop();
    } finally {
      await cleanupRedisPrefix(redisUrl, prefix).catch(() => {});
    }
  });
});
