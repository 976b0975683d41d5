/** The load worker processes of `switchboard bench --workers N` as the parent sees them (their entry: `load-worker.ts`). */
import { fork, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { readCpuSeconds } from '../../shared/proc.js';
import { sourceNodeArgs } from '../../shared/sut.js';
import type { LoginOutcome } from '../switchboard-phase.js';
import type { LoadParentMessage, LoadPart, LoadProgress, LoadWorkerJob, LoadWorkerMessage } from './load-ipc.js';

const live = new Set<ChildProcess>();
let exitHook = false;

/** One load worker: its job, the latest it said, and how it ended. */
export class LoadWorker {
  pid: number | null = null;
  login: LoginOutcome | null = null;
  progress: LoadProgress | null = null;
  part: LoadPart | null = null;
  problem: string | null = null;
  exit: { code: number | null; signal: string | null } | null = null;
  private readonly tail: string[] = [];

  private constructor(
    readonly job: LoadWorkerJob,
    private readonly child: ChildProcess,
  ) {
    live.add(child);
    child.on('message', (m: LoadWorkerMessage) => this.onMessage(m));
    if (child.stderr) {
      createInterface({ input: child.stderr }).on('line', (line) => {
        this.tail.push(line);
        if (this.tail.length > 40) this.tail.shift();
      });
    }
    child.once('exit', (code, signal) => {
      live.delete(child);
      this.exit = { code, signal };
      if (this.part === null && this.problem === null) this.problem = `exited early (code ${code}, signal ${signal})`;
    });
    child.once('error', (err) => {
      this.problem ??= `could not start: ${err.message}`;
    });
  }

  /** `worker <n>`, as the report names it. */
  get name(): string {
    return `worker ${this.job.n}`;
  }

  /** Gone without a result (crashed, failed, killed). */
  get failed(): boolean {
    return this.problem !== null && this.part === null;
  }

  /** Fork the worker with the node flags the bench itself runs with (tsx for the sources). */
  static start(job: LoadWorkerJob): LoadWorker {
    const here = import.meta.url;
    const fromSource = here.endsWith('.ts');
    const file = fileURLToPath(new URL(fromSource ? './load-worker.ts' : './load-worker.js', here));
    const child = fork(file, [], { execArgv: fromSource ? sourceNodeArgs() : [], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    if (!exitHook) {
      exitHook = true;
      process.once('exit', () => {
        for (const c of live) c.kill('SIGKILL');
      });
    }
    return new LoadWorker(job, child);
  }

  private onMessage(m: LoadWorkerMessage): void {
    switch (m.type) {
      case 'ready':
        this.pid = m.pid;
        return;
      case 'logged-in':
        this.login = m.login;
        return;
      case 'progress':
        this.progress = m.progress;
        return;
      case 'result':
        this.part = m.part;
        return;
      case 'error':
        this.problem = `error: ${m.message.split('\n')[0]}`;
        this.tail.push(m.message);
        return;
    }
  }

  send(m: LoadParentMessage): void {
    if (this.child.connected) this.child.send(m);
  }

  /** CPU seconds of the worker so far (from /proc), null when unknown. */
  cpuSeconds(): number | null {
    return this.pid ? readCpuSeconds(this.pid) : null;
  }

  /** Its last lines of stderr and its error message, for a failure report. */
  output(): string {
    return this.tail.join('\n');
  }

  kill(): void {
    if (this.exit === null) this.child.kill('SIGKILL');
  }
}
