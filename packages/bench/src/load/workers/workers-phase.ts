/**
 * The Switchboard phase of `switchboard bench --workers N`: the users and the offered rate split
 * over N forked load workers, so the measurement's ceiling is the server and not one generator
 * process. The parent only coordinates and measures: it forks the workers, has them log their users
 * in, gives them one common start time, samples the gateways and the machine's CPU per second, marks
 * the CPU of every process over the measured window, and merges the workers' results exactly.
 */
import { UnavailableError } from '@switchboard/core';
import { workerRange } from '../../idle/idle-args.js';
import { epochNow } from '../../idle/idle-ipc.js';
import { machineCpu } from '../../shared/proc.js';
import { heldDelay, sleepUntil } from '../../shared/wait.js';
import * as D from '../../shared/defaults.js';
import type { BenchOptions } from '../args.js';
import { cpuReport, cpuSources, type CpuSource } from '../measure.js';
import type { GeneratorProcess, SwitchboardResult } from '../report.js';
import type { Window } from '../stats.js';
import { sampleNodes, sampleOtherCpu, windowCpu, type CpuMark, type PhaseEnv } from '../switchboard-phase.js';
import type { LoadWorkerJob } from './load-ipc.js';
import { LoadWorker } from './load-worker-proc.js';
import { mergeLogins, mergeParts } from './merge-parts.js';

/** A CPU mark of the window with the workers' CPU seconds too. */
type WorkersMark = CpuMark & { workers: Array<number | null> };

/** The jobs of `opts.workers` workers: contiguous user ranges, each with its share of an open loop's rate. */
export function workerJobs(opts: BenchOptions, dispatchUrl: string | null): LoadWorkerJob[] {
  const jobs: LoadWorkerJob[] = [];
  for (let w = 0; w < opts.workers; w++) {
    const { from, to } = workerRange(w, opts.workers, opts.users);
    const users = to - from;
    const load = opts.load.kind === 'open' ? { kind: 'open' as const, ratePerSec: (opts.load.ratePerSec * users) / opts.users } : opts.load;
    jobs.push({ n: w + 1, from, to, dispatchUrl, opts: { ...opts, users, load, workers: 1, jsonFile: null, quiet: true } });
  }
  return jobs;
}

/** Poll until every worker satisfies `done`, one fails, or `deadline`; throws on failure or timeout. */
async function waitAll(workers: readonly LoadWorker[], done: (w: LoadWorker) => boolean, what: string, deadlineMs: number, onTick?: () => void): Promise<void> {
  const deadline = performance.now() + deadlineMs;
  for (;;) {
    const failed = workers.find((w) => w.failed);
    if (failed) throw new UnavailableError(`${failed.name} failed ${what}: ${failed.problem}\n${failed.output()}`);
    if (workers.every(done)) return;
    if (performance.now() > deadline) {
      const late = workers.filter((w) => !done(w)).map((w) => w.name);
      throw new UnavailableError(`${late.join(', ')} did not finish ${what} within ${Math.round(deadlineMs / 1000)} s`);
    }
    onTick?.();
    await heldDelay(50);
  }
}

/** Fork the workers, log their users in, run the load from one start time, merge their results. */
export async function runWorkersPhase(opts: BenchOptions, env: PhaseEnv): Promise<SwitchboardResult> {
  const workers = workerJobs(opts, env.dispatchUrl).map((job) => LoadWorker.start(job));
  try {
    env.io.log(`forking ${workers.length} load workers…`);
    await waitAll(workers, (w) => w.pid !== null, 'to start', D.LOAD_WORKER_READY_TIMEOUT_MS);
    env.io.log(`logging in ${opts.users} users over ${workers.length} workers (${opts.connectConcurrency} at a time each)…`);
    for (const w of workers) w.send({ type: 'login', job: w.job });
    await waitAll(workers, (w) => w.login !== null, 'to log its users in', opts.loginTimeoutS * 1000 + D.LOAD_WORKER_RESULT_GRACE_MS);
    const login = mergeLogins(workers.map((w) => w.login!));
    env.io.log(`${login.loggedIn}/${opts.users} users logged in after ${Math.round(login.loginMs)} ms (${login.loginFailures} failed attempts)`);
    return await loadAndMerge(opts, env, workers);
  } finally {
    for (const w of workers) w.kill();
  }
}

/** The load from the common start, the parent's samples and marks, the workers' results merged. */
async function loadAndMerge(opts: BenchOptions, env: PhaseEnv, workers: LoadWorker[]): Promise<SwitchboardResult> {
  const startAt = epochNow() + D.LOAD_WORKER_START_LEAD_MS;
  const t0 = performance.now() + (startAt - epochNow());
  const window: Window = { start: t0, from: t0 + opts.warmupS * 1000, to: t0 + (opts.warmupS + opts.durationS) * 1000 };
  const sutProcs = cpuSources(opts, env.sut);
  const workerSources: CpuSource[] = workers.map((w) => ({ name: w.name, cpuSeconds: () => w.cpuSeconds() }));
  const nodes = env.dispatchUrl ? sampleNodes(env.dispatchUrl, t0) : null;
  const others = sampleOtherCpu([...sutProcs, ...workerSources], t0);
  const progress = setInterval(() => env.io.log(progressLine(workers, t0)), D.PROGRESS_INTERVAL_MS).unref();
  const marks: WorkersMark[] = [];
  const mark = () =>
    marks.push({ lg: process.cpuUsage(), sut: sutProcs.map((p) => p.cpuSeconds()), workers: workers.map((w) => w.cpuSeconds()), machine: machineCpu(), at: performance.now() });
  try {
    for (const w of workers) w.send({ type: 'start', startAt });
    env.io.log(
      `load: ${opts.load.kind === 'closed' ? `${opts.load.inflight} in flight per user` : `${opts.load.ratePerSec} msg/s`} over ${workers.length} workers, ${opts.warmupS} s warmup + ${opts.durationS} s measured`,
    );
    await sleepUntil(window.from, env.aborted);
    mark();
    await sleepUntil(window.to, env.aborted);
    mark();
    let abortSent = false;
    const forwardAbort = () => {
      if (env.aborted() && !abortSent) {
        abortSent = true;
        for (const w of workers) w.send({ type: 'abort' });
      }
    };
    forwardAbort();
    if (env.aborted()) window.to = Math.min(window.to, performance.now());
    env.io.log(`load over; the workers drain (up to ${opts.drainS} s) and collect offline queues (up to ${opts.collectS} s)…`);
    const resultDeadline = window.to - performance.now() + (opts.drainS + opts.collectS) * 1000 + D.LOAD_WORKER_RESULT_GRACE_MS;
    await waitAll(workers, (w) => w.part !== null, 'its load', resultDeadline, forwardAbort);
  } finally {
    clearInterval(progress);
    if (nodes) clearInterval(nodes.timer);
    clearInterval(others.timer);
  }
  const parts = workers.map((w) => w.part!);
  const { cpu, generator } = generatorCpu(sutProcs, workers, marks);
  return mergeParts(opts, parts, window, { nodeSamples: nodes?.samples ?? [], cpuSamples: others.samples, cpu, generator });
}

/** CPU of the window: the server's processes, and the generator = this process + every worker. */
function generatorCpu(sutProcs: CpuSource[], workers: readonly LoadWorker[], marks: WorkersMark[]): { cpu: SwitchboardResult['cpu']; generator: GeneratorProcess[] } {
  const [m0, m1] = marks;
  const base = windowCpu(sutProcs, marks);
  const s = m0 && m1 ? (m1.at - m0.at) / 1000 : 0;
  const generator: GeneratorProcess[] = [{ name: 'bench', pid: process.pid, users: 0, cores: base.loadGenerator, loopDelayP99Ms: NaN }];
  workers.forEach((w, i) => {
    const a = m0?.workers[i];
    const b = m1?.workers[i];
    // /proc of the worker from the parent's marks; the worker's own reading when /proc had none.
    const cores = a != null && b != null && s > 0 ? (b - a) / s : (w.part?.cores ?? null);
    generator.push({ name: w.name, pid: w.pid, users: w.job.to - w.job.from, cores, loopDelayP99Ms: w.part?.loopDelayMs.p99 ?? NaN });
  });
  const lg = generator.reduce((acc, g) => acc + (g.cores ?? NaN), 0);
  const c = cpuReport(lg, base.sut, m0?.machine ?? null, m1?.machine ?? null, s * 1000);
  return { cpu: c, generator };
}

/** The parent's progress line: the workers' latest counters summed. */
function progressLine(workers: readonly LoadWorker[], t0: number): string {
  const p = { online: 0, sent: 0, acked: 0, delivered: 0, pending: 0, resends: 0, disconnects: 0 };
  for (const w of workers) {
    if (!w.progress) continue;
    for (const k of Object.keys(p) as Array<keyof typeof p>) p[k] += w.progress[k];
  }
  return (
    `t=${((performance.now() - t0) / 1000).toFixed(1)}s online ${p.online} sent ${p.sent} acked ${p.acked} delivered ${p.delivered} ` +
    `pending ${p.pending} resends ${p.resends} disconnects ${p.disconnects} (${workers.length} workers)`
  );
}
