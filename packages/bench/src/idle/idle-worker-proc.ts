/** The client worker processes of `switchboard bench idle` as the parent sees them (their entry: `idle-worker.ts`). */
import { fork, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { sourceNodeArgs } from '../shared/sut.js';
import type { ParentMessage, WorkerCounters, WorkerMessage } from './idle-ipc.js';

const liveWorkers = new Set<ChildProcess>();
let exitHook = false;

/** One client worker process as the parent sees it. */
export class Worker {
  pid: number | null = null;
  isReady = false;
  counters: WorkerCounters | null = null;
  loggedIn: Extract<WorkerMessage, { type: 'logged-in' }> | null = null;
  final: Extract<WorkerMessage, { type: 'final' }> | null = null;
  problem: string | null = null;
  exit: { code: number | null; signal: string | null } | null = null;
  private readonly tail: string[] = [];

  private constructor(
    readonly index: number,
    readonly from: number,
    readonly to: number,
    readonly child: ChildProcess,
    onLogins: (pairs: Array<[number, number]>) => void,
  ) {
    liveWorkers.add(child);
    child.on('message', (m: WorkerMessage) => {
      switch (m.type) {
        case 'ready':
          this.isReady = true;
          this.pid = m.pid;
          return;
        case 'progress':
          this.counters = m.counters;
          onLogins(m.loginsPerSecond);
          return;
        case 'logged-in':
          this.counters = m.counters;
          this.loggedIn = m;
          onLogins(m.loginsPerSecond);
          return;
        case 'final':
          this.counters = m.counters;
          this.final = m;
          return;
        case 'error':
          this.problem = `error: ${m.message.split('\n')[0]}`;
          this.tail.push(m.message);
          return;
      }
    });
    if (child.stderr) {
      createInterface({ input: child.stderr }).on('line', (line) => {
        this.tail.push(line);
        if (this.tail.length > 40) this.tail.shift();
      });
    }
    child.once('exit', (code, signal) => {
      liveWorkers.delete(child);
      this.exit = { code, signal };
      if (this.final === null && this.problem === null) this.problem = `exited early (code ${code}, signal ${signal})`;
    });
    child.once('error', (err) => {
      this.problem ??= `could not start: ${err.message}`;
    });
  }

  get users(): number {
    return this.to - this.from;
  }

  get gone(): boolean {
    return this.exit !== null || (this.problem !== null && this.final === null);
  }

  /** Fork the worker with the node flags the bench itself runs with (tsx for the sources). */
  static start(index: number, from: number, to: number, onLogins: (pairs: Array<[number, number]>) => void): Worker {
    const here = import.meta.url;
    const fromSource = here.endsWith('.ts');
    const file = fileURLToPath(new URL(fromSource ? './idle-worker.ts' : './idle-worker.js', here));
    const child = fork(file, [], { execArgv: fromSource ? sourceNodeArgs() : [], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    if (!exitHook) {
      exitHook = true;
      process.once('exit', () => {
        for (const c of liveWorkers) c.kill('SIGKILL');
      });
    }
    return new Worker(index, from, to, child, onLogins);
  }

  send(m: ParentMessage): void {
    if (this.child.connected) this.child.send(m);
  }

  output(): string {
    return this.tail.join('\n');
  }

  kill(): void {
    if (this.exit === null) this.child.kill('SIGKILL');
  }
}

/** `f` of every worker's latest counters, summed (workers without counters yet count 0). */
export function sumCounters(workers: readonly Worker[], f: (c: WorkerCounters) => number): number {
  return workers.reduce((a, w) => a + (w.counters ? f(w.counters) : 0), 0);
}
