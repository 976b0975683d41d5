import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { readFileSync } from 'node:fs';
import { TimeoutError, UnavailableError } from '@switchboard/core';
import { DEFAULT_SPAWN_KILL_GRACE_MS, DEFAULT_SPAWN_READY_TIMEOUT_MS } from './defaults.js';

/** The `{"event":"ready", ...}` line every Switchboard process prints once it accepts traffic. */
export interface ReadyLine {
  event: 'ready';
  role: string;
  nodeId?: string;
  ports: Record<string, number>;
  [k: string]: unknown;
}

/** Log lines of a child at pino level warn (40) or above, after its ready line. */
export interface ProblemLine {
  level: number;
  msg: string;
  /** How many times this message was seen. */
  count: number;
}

/** One spawned process and what it logged. */
export interface ProcessReport {
  name: string;
  role: string;
  nodeId: string | null;
  pid: number | null;
  exit: { code: number | null; signal: string | null } | null;
  warnLines: number;
  errorLines: number;
  problems: Array<{ level: number; msg: string; count: number }>;
}

const live = new Set<ManagedProcess>();
let exitHook = false;

/**
 * A child process started by the bench (system under test or echo server): waits for its ready
 * line, keeps the last lines of output for error messages, counts warn/error log lines after
 * readiness, and is SIGKILLed if the bench exits without stopping it.
 */
export class ManagedProcess {
  ready: ReadyLine | null = null;
  exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  readonly tail: string[] = [];
  /** Distinct warn/error messages after the ready line, with counts. */
  readonly problems = new Map<string, ProblemLine>();
  warnLines = 0;
  errorLines = 0;
  /** Date.now() when the ready line was read. */
  readyAt = Infinity;
  private readonly exited: Promise<void>;

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        live.delete(this);
        resolve();
      });
      child.once('error', () => {
        if (child.pid === undefined) {
          this.exit = { code: null, signal: null };
          live.delete(this);
          resolve();
        }
      });
    });
    live.add(this);
    if (!exitHook) {
      exitHook = true;
      process.once('exit', () => {
        for (const p of live) p.child.kill('SIGKILL');
      });
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.exit === null;
  }

  /** Spawn `command args` and wait for a JSON line with `"event":"ready"` on stdout. */
  static async start(
    name: string,
    command: string,
    args: readonly string[],
    env: NodeJS.ProcessEnv,
    timeoutMs = DEFAULT_SPAWN_READY_TIMEOUT_MS,
  ): Promise<ManagedProcess> {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const mp = new ManagedProcess(name, child);
    const ready = new Promise<ReadyLine>((resolve, reject) => {
      const timer = setTimeout(() => reject(new TimeoutError(`${name}: no ready line within ${timeoutMs} ms\n${mp.output()}`)), timeoutMs);
      const onLine = (line: string) => {
        mp.keep(line);
        if (line.charCodeAt(0) !== 123 /* { */) return;
        let o: Record<string, unknown>;
        try {
          o = JSON.parse(line) as Record<string, unknown>;
        } catch {
          return; // output that merely starts with "{": kept for error messages above, nothing to read
        }
        if (o['event'] === 'ready' && mp.ready === null) {
          mp.ready = o as ReadyLine;
          mp.readyAt = Date.now();
          clearTimeout(timer);
          resolve(mp.ready);
          return;
        }
        // pino stamps `time` when the line is made; its output is buffered, so boot warnings may
        // be printed after the ready line: those made before it are not problems under load.
        const time = typeof o['time'] === 'number' ? o['time'] : Date.now();
        if (mp.ready !== null && time >= mp.readyAt && typeof o['level'] === 'number' && o['level'] >= 40) {
          mp.problem(o['level'], String(o['msg'] ?? line));
        }
      };
      createInterface({ input: child.stdout! }).on('line', onLine);
      createInterface({ input: child.stderr! }).on('line', (line) => {
        mp.keep(line);
        if (mp.ready !== null && line.trim() !== '') mp.problem(50, line.slice(0, 300));
      });
      void mp.exited.then(() => {
        clearTimeout(timer);
        reject(new UnavailableError(`${name} exited before it was ready (code ${mp.exit?.code}, signal ${mp.exit?.signal})\n${mp.output()}`));
      });
    });
    try {
      await ready;
    } catch (err) {
      mp.child.kill('SIGKILL');
      throw err;
    }
    return mp;
  }

  private keep(line: string): void {
    this.tail.push(line);
    if (this.tail.length > 200) this.tail.shift();
  }

  private problem(level: number, msg: string): void {
    if (level >= 50) this.errorLines++;
    else this.warnLines++;
    const p = this.problems.get(msg);
    if (p) p.count++;
    else if (this.problems.size < 50) this.problems.set(msg, { level, msg, count: 1 });
  }

  /** The kept output, for error messages. */
  output(): string {
    return this.tail.slice(-40).join('\n');
  }

  /** CPU seconds (user + system) used so far, from /proc (Linux); null elsewhere or after exit. */
  cpuSeconds(): number | null {
    return this.pid === undefined || !this.alive ? null : readCpuSeconds(this.pid);
  }

  /** SIGKILL now (a crash, for chaos). */
  kill(): void {
    if (this.alive) this.child.kill('SIGKILL');
  }

  /** SIGTERM (graceful stop), SIGKILL after `graceMs`; resolves once it exited. */
  async stop(graceMs = DEFAULT_SPAWN_KILL_GRACE_MS): Promise<void> {
    if (!this.alive) return;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(t);
  }

  waitExit(): Promise<void> {
    return this.exited;
  }
}

/**
 * Machine-wide CPU time from /proc/stat (Linux), in seconds over all cores: busy (everything but
 * idle and iowait), and the part spent in interrupts (irq + softirq: loopback networking runs
 * there, and no process' own CPU time includes it); null elsewhere.
 */
export function machineCpu(): { busy: number; irq: number; total: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already inside user)
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    return { busy: (total - idle) / 100, irq: ((f[5] ?? 0) + (f[6] ?? 0)) / 100, total: total / 100 };
  } catch {
    return null; // no /proc (not Linux): the report shows the machine's CPU as unknown
  }
}

/** CPU seconds (utime + stime) process `pid` used so far, from /proc/<pid>/stat; null when unreadable. */
export function readCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[11] = utime, fields[12] = stime (clock ticks; 100 per second on Linux)
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null; // the process is gone, or no /proc: its CPU is unknown
  }
}

/** Resident set size of process `pid` in bytes (`VmRSS` of /proc/<pid>/status); null when unreadable. */
export function readRssBytes(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null; // the process is gone, or no /proc: its RSS is unknown
  }
}

/** What a spawned process was and what it logged, for the report. */
export function processReport(p: ManagedProcess): ProcessReport {
  return {
    name: p.name,
    role: p.ready?.role ?? p.name,
    nodeId: p.ready?.nodeId ?? null,
    pid: p.pid ?? null,
    exit: p.exit,
    warnLines: p.warnLines,
    errorLines: p.errorLines,
    problems: [...p.problems.values()].sort((a, b) => b.count - a.count),
  };
}
