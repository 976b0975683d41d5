import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Spawning the backing servers a scale test starts itself (redis-server, sentinels, rabbitmq-server):
 * each in its own process group (so `kill` reaches what it forks), its output in a log file under one
 * temp dir, and all of them killed by `killAll()`, and at the latest when this process exits.
 */

/** A free TCP port on 127.0.0.1 (the OS picks it; another process may still take it before use). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** `n` distinct free ports. */
export async function freePorts(n: number): Promise<number[]> {
  const out = new Set<number>();
  while (out.size < n) out.add(await freePort());
  return [...out];
}

/** One spawned server. */
export interface ServiceProc {
  name: string;
  child: ChildProcess;
  /** Its combined stdout/stderr. */
  logFile: string;
  /** Resolves once the process exited. */
  exited: Promise<void>;
}

const live = new Set<ServiceProc>();
let exitHook = false;

function killGroup(p: ServiceProc, signal: NodeJS.Signals): void {
  if (p.child.pid === undefined || p.child.exitCode !== null || p.child.signalCode !== null) return;
  try {
    process.kill(-p.child.pid, signal);
  } catch {
    try {
      p.child.kill(signal);
    } catch {
      // gone already
    }
  }
}

/** Servers started by one test file, in one temp dir; `killAll()` in afterAll. */
export class ServiceProcs {
  readonly dir: string;
  private readonly procs: ServiceProc[] = [];

  constructor(name: string) {
    this.dir = mkdtempSync(path.join(os.tmpdir(), `sb-${name}-`));
    if (!exitHook) {
      exitHook = true;
      process.once('exit', () => {
        for (const p of live) killGroup(p, 'SIGKILL');
      });
    }
  }

  /** Spawn `cmd args` detached (own process group), output to `<dir>/<name>.log`. */
  spawn(name: string, cmd: string, args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): ServiceProc {
    const logFile = path.join(this.dir, `${name}.log`);
    const out = createWriteStream(logFile);
    const child = spawn(cmd, args, {
      cwd: opts.cwd ?? this.dir,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    const exited = new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', () => resolve());
    });
    const p: ServiceProc = { name, child, logFile, exited };
    void exited.then(() => live.delete(p));
    this.procs.push(p);
    live.add(p);
    return p;
  }

  /** SIGKILL one server's process group and wait (bounded) for it to exit. */
  async kill(p: ServiceProc, signal: NodeJS.Signals = 'SIGKILL', timeoutMs = 5_000): Promise<void> {
    killGroup(p, signal);
    await Promise.race([p.exited, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
  }

  /** Kill every server started here and remove the temp dir (unless `keep`). Never rejects. */
  async killAll(opts: { keep?: boolean } = {}): Promise<void> {
    await Promise.all(this.procs.map((p) => this.kill(p).catch(() => undefined)));
    if (!opts.keep) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Poll `probe` until it returns true (errors count as false); rejects with `what` after `timeoutMs`. */
export async function pollUntil(what: string, probe: () => Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await probe()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last instanceof Error ? ` (last error: ${last.message})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
