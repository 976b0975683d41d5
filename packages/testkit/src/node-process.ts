import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { TimeoutError } from '@switchboard/core';
import {
  DEFAULT_KILL_GRACE_MS,
  DEFAULT_OUTPUT_LINES,
  DEFAULT_PARENT_WATCH_INTERVAL_MS,
  DEFAULT_READY_TIMEOUT_MS,
} from './defaults.js';

/** The `{"event":"ready", ...}` line a Switchboard process prints once it accepts traffic (role, node id, ports...). */
export interface ReadyInfo {
  event: 'ready';
  [key: string]: unknown;
}

/** How a child ended. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Which output stream a line came from. */
export type OutputStream = 'stdout' | 'stderr';

/** A line of output; `json` is the parsed line when it is a JSON object (pino logs, the ready line). */
export interface OutputLine {
  stream: OutputStream;
  text: string;
  json: Record<string, unknown> | undefined;
}

/** Options of `spawnNode`. */
export interface SpawnNodeOptions {
  /** Arguments after the script, e.g. `['gateway']`. @default [] */
  args?: readonly string[];
  /** Variables added to the inherited environment; `undefined` removes one. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Replace the inherited environment instead of extending it. @default false */
  cleanEnv?: boolean;
  /** Working directory. @default the repository root */
  cwd?: string;
  /** Deadline for the ready line, in ms. @default DEFAULT_READY_TIMEOUT_MS (30000) */
  readyTimeoutMs?: number;
  /** Script to run. @default `<repo>/packages/cli/src/main.ts` (the `switchboard` CLI) */
  script?: string;
  /** Extra node flags placed before the script (after `--conditions=source --import tsx`). */
  nodeArgs?: readonly string[];
  /** Label in error messages. @default script basename + args */
  name?: string;
  /** Lines of stdout + stderr kept for failure messages. @default DEFAULT_OUTPUT_LINES (200) */
  maxLines?: number;
  /** Register the child here as soon as it is spawned, so `killAll()` reaches it even before it is ready. */
  group?: ProcessGroup;
  /**
   * Make the child end itself (SIGTERM, then SIGKILL 5 s later) when this process dies without killing it,
   * e.g. when the test runner is SIGKILLed. @default true
   */
  watchParent?: boolean;
}

/** A `NodeProcess` that printed its ready line. */
export type ReadyNodeProcess = NodeProcess & { readonly ready: ReadyInfo };

const liveProcesses = new Set<NodeProcess>();
let exitHookInstalled = false;

/** Last resort: SIGKILL every child still alive when this process exits (synchronous, so it works in 'exit'). */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const p of liveProcesses) p.child.kill('SIGKILL');
  });
}

let cachedRepoRoot: string | undefined;

/** The repository root: the nearest ancestor of this package holding `pnpm-workspace.yaml`. */
export function repoRoot(): string {
  if (cachedRepoRoot !== undefined) return cachedRepoRoot;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'pnpm-workspace.yaml'))) return (cachedRepoRoot = dir);
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`repoRoot: no pnpm-workspace.yaml above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** Absolute path of the `switchboard` CLI entry that `spawnNode` runs by default. */
export function cliEntry(): string {
  return path.join(repoRoot(), 'packages', 'cli', 'src', 'main.ts');
}

/** tsx's loader as a file URL, resolved from this package so any `cwd` works. */
function tsxLoaderUrl(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}

/** Preloaded into every child: end the child when its parent (the test process) disappears. */
function parentWatchdogUrl(intervalMs: number): string {
  const code = [
    'const ppid = process.ppid;',
    'if (ppid > 1) {',
    '  const t = setInterval(() => {',
    '    try { process.kill(ppid, 0); } catch (e) {',
    "      if (e && e.code !== 'ESRCH') return;",
    '      clearInterval(t);',
    "      process.kill(process.pid, 'SIGTERM');",
    "      setTimeout(() => process.kill(process.pid, 'SIGKILL'), 5000).unref();",
    '    }',
    `  }, ${intervalMs});`,
    '  t.unref();',
    '}',
  ].join('\n');
  return 'data:text/javascript,' + encodeURIComponent(code);
}

/**
 * One spawned Node child (a Switchboard role or a test script) with its recent output.
 * Construct it through `spawnNode` (waits for readiness) or `startNode` (does not).
 */
export class NodeProcess {
  readonly child: ChildProcess;
  readonly name: string;
  /** The parsed ready line, once printed. */
  ready: ReadyInfo | null = null;
  /** How the child ended, once it has (after its output streams closed). */
  exitInfo: ExitInfo | null = null;

  private readonly tail: OutputLine[] = [];
  private readonly maxLines: number;
  private readonly listeners = new Set<(line: OutputLine) => void>();
  private readonly exited: Promise<ExitInfo>;
  private spawnError: Error | null = null;

  constructor(child: ChildProcess, name: string, maxLines: number) {
    this.child = child;
    this.name = name;
    this.maxLines = maxLines;
    this.exited = new Promise<ExitInfo>((resolve) => {
      child.once('error', (err) => {
        // Spawn failure: no 'close' follows when the process never started.
        this.spawnError = err;
        if (child.pid === undefined) {
          this.exitInfo = { code: null, signal: null };
          liveProcesses.delete(this);
          resolve(this.exitInfo);
        }
      });
      child.once('close', (code, signal) => {
        this.exitInfo = { code, signal };
        liveProcesses.delete(this);
        resolve(this.exitInfo);
      });
    });
    if (child.stdout) this.attach(child.stdout, 'stdout');
    if (child.stderr) this.attach(child.stderr, 'stderr');
    liveProcesses.add(this);
    installExitHook();
  }

  /** The child's pid (undefined when spawning failed). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** True while the child has not exited. */
  get alive(): boolean {
    return this.exitInfo === null;
  }

  /** The kept lines of stdout + stderr, oldest first. */
  lines(): readonly OutputLine[] {
    return this.tail;
  }

  /** The kept output as one string, each line prefixed with its stream, for failure messages. */
  output(): string {
    return this.tail.map((l) => `[${l.stream}] ${l.text}`).join('\n');
  }

  /** Call `fn` for every future line. Returns an unsubscribe function. */
  onLine(fn: (line: OutputLine) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * Wait for a line matching `predicate`. Kept lines count unless `fromNow` (so a line printed before the
   * call is found). Rejects on timeout or when the child exits first, with the recent output.
   */
  waitForLine(
    predicate: (line: OutputLine) => boolean,
    opts: { timeoutMs?: number; fromNow?: boolean } = {},
  ): Promise<OutputLine> {
    if (!opts.fromNow) {
      const found = this.tail.find(predicate);
      if (found) return Promise.resolve(found);
    }
    if (!this.alive) return Promise.reject(new Error(this.failure('exited before printing the awaited line')));
    const timeoutMs = opts.timeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
    return new Promise<OutputLine>((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        off();
        this.child.off('close', onClose);
      };
      const off = this.onLine((line) => {
        if (!predicate(line)) return;
        cleanup();
        resolve(line);
      });
      const onClose = (): void => {
        cleanup();
        reject(new Error(this.failure('exited before printing the awaited line')));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new TimeoutError(this.failure(`no matching line within ${timeoutMs} ms`)));
      }, timeoutMs);
      this.child.once('close', onClose);
    });
  }

  /** Send a signal (default SIGTERM). Returns false when the child already exited. */
  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    if (!this.alive) return false;
    return this.child.kill(signal);
  }

  /** Resolve when the child has exited; with `timeoutMs`, reject (TimeoutError) if it has not by then. */
  waitForExit(timeoutMs?: number): Promise<ExitInfo> {
    if (timeoutMs === undefined) return this.exited;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(this.failure(`still running after ${timeoutMs} ms`))), timeoutMs);
    });
    return Promise.race([this.exited, deadline]).finally(() => clearTimeout(timer));
  }

  /** SIGTERM, then SIGKILL if the child is still alive after `graceMs`. Resolves with how it exited. */
  async stop(graceMs: number = DEFAULT_KILL_GRACE_MS): Promise<ExitInfo> {
    if (!this.alive) return this.exited;
    this.kill('SIGTERM');
    try {
      return await this.waitForExit(graceMs);
    } catch {
      // Did not stop within the grace period: force it (expected for hung or SIGTERM-ignoring children).
      this.kill('SIGKILL');
      return this.exited;
    }
  }

  /** Wait for the ready line, racing against early exit and the deadline. Kills the child on failure. */
  async whenReady(timeoutMs: number = DEFAULT_READY_TIMEOUT_MS): Promise<ReadyInfo> {
    try {
      const line = await this.waitForLine((l) => l.stream === 'stdout' && l.json?.['event'] === 'ready', { timeoutMs });
      this.ready = line.json as ReadyInfo;
      return this.ready;
    } catch (err) {
      if (this.alive) {
        this.kill('SIGKILL');
        await this.exited;
      }
      const why = this.exitInfo && !(err instanceof TimeoutError) ? `exited (${describeExit(this.exitInfo)}) before ready` : `not ready after ${timeoutMs} ms (killed)`;
      throw new Error(this.failure(why), { cause: err });
    }
  }

  /** An error message naming the child, the problem and its recent output. */
  failure(what: string): string {
    const spawn = this.spawnError ? `\nspawn error: ${this.spawnError.message}` : '';
    const exit = this.exitInfo ? ` [${describeExit(this.exitInfo)}]` : '';
    return `${this.name} (pid ${this.pid ?? '-'}): ${what}${exit}${spawn}\n--- last ${this.tail.length} lines of output ---\n${this.output()}`;
  }

  private attach(stream: Readable, name: OutputStream): void {
    stream.setEncoding('utf8');
    let partial = '';
    stream.on('data', (chunk: string) => {
      partial += chunk;
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        const text = partial.slice(0, nl).replace(/\r$/, '');
        partial = partial.slice(nl + 1);
        this.push(name, text);
      }
    });
    stream.on('end', () => {
      if (partial.length > 0) this.push(name, partial);
      partial = '';
    });
  }

  private push(stream: OutputStream, text: string): void {
    const line: OutputLine = { stream, text, json: parseJsonObject(text) };
    this.tail.push(line);
    if (this.tail.length > this.maxLines) this.tail.shift();
    for (const fn of [...this.listeners]) fn(line);
  }
}

/**
 * Spawn `node --conditions=source --import tsx <script> ...args` without waiting for readiness.
 * The child is tracked: a `ProcessGroup` (when given) and a process-exit hook kill it.
 */
export function startNode(opts: SpawnNodeOptions = {}): NodeProcess {
  const script = opts.script ?? cliEntry();
  const args = opts.args ?? [];
  const env: Record<string, string> = {};
  if (!opts.cleanEnv) {
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  }
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const nodeArgs = ['--conditions=source', '--import', tsxLoaderUrl()];
  if (opts.watchParent ?? true) nodeArgs.push('--import', parentWatchdogUrl(DEFAULT_PARENT_WATCH_INTERVAL_MS));
  nodeArgs.push(...(opts.nodeArgs ?? []));
  const child = spawn(process.execPath, [...nodeArgs, script, ...args], {
    cwd: opts.cwd ?? repoRoot(),
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const name = opts.name ?? [path.basename(script), ...args].join(' ');
  const proc = new NodeProcess(child, name, opts.maxLines ?? DEFAULT_OUTPUT_LINES);
  opts.group?.add(proc);
  return proc;
}

/**
 * Spawn a Switchboard process (by default the CLI: `args: ['gateway']`, ...) and wait until it prints
 * its `{"event":"ready"}` JSON line on stdout. Rejects, after killing the child, when it exits first or
 * the deadline passes; the error message carries the last lines of its stdout and stderr.
 */
export async function spawnNode(opts: SpawnNodeOptions = {}): Promise<ReadyNodeProcess> {
  const proc = startNode(opts);
  await proc.whenReady(opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
  return proc as ReadyNodeProcess;
}

/**
 * Children of one test file, ended together:
 * `const group = new ProcessGroup(); afterAll(() => group.killAll());`
 */
export class ProcessGroup {
  private readonly procs = new Set<NodeProcess>();

  /** Track a child (done by `spawn` and by `spawnNode({ group })`). */
  add(proc: NodeProcess): void {
    this.procs.add(proc);
  }

  /** `spawnNode` with this group attached. */
  spawn(opts: SpawnNodeOptions = {}): Promise<ReadyNodeProcess> {
    return spawnNode({ ...opts, group: this });
  }

  /** Tracked children still alive. */
  get alive(): NodeProcess[] {
    return [...this.procs].filter((p) => p.alive);
  }

  /** SIGTERM every tracked child, SIGKILL those alive after `graceMs`, and wait until all have exited. */
  async killAll(graceMs: number = DEFAULT_KILL_GRACE_MS): Promise<void> {
    const procs = [...this.procs];
    this.procs.clear();
    await Promise.all(procs.map((p) => p.stop(graceMs)));
  }
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  const t = text.trim();
  if (!t.startsWith('{')) return undefined;
  try {
    const v: unknown = JSON.parse(t);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined; // an ordinary log line that happens to start with '{'
  }
}

function describeExit(e: ExitInfo): string {
  return e.signal ? `signal ${e.signal}` : `exit code ${e.code}`;
}
