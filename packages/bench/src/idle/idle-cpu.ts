/**
 * CPU marks of `switchboard bench idle`: the gateways (from their probes), the workers, everything
 * spawned, this process and the whole machine; "others" = machine − what the run itself used.
 */
import { machineCpu, readCpuSeconds } from '../shared/proc.js';
import type { Sut } from '../shared/sut.js';
import { sample, type Probe } from './idle-probes.js';
import type { PhaseCpu } from './idle-report.js';
import type { Worker } from './idle-worker-proc.js';

/** CPU cores between two CPU-seconds readings `ms` apart; null when either is unknown. */
export const coresBetween = (a: number | null | undefined, b: number | null | undefined, ms: number): number | null =>
  a != null && b != null && ms > 0 ? (b - a) / (ms / 1000) : null;

export const sumOrNull = (xs: Array<number | null>): number | null => (xs.some((x) => x === null) ? null : xs.reduce<number>((a, b) => a + b!, 0));

/** One reading of everything's CPU seconds (and the gateways' RSS) at `at` (performance.now()). */
export interface Mark {
  at: number;
  gw: Array<number | null>;
  rss: Array<number | null>;
  workers: Array<number | null>;
  sut: number | null;
  self: number;
  machine: number | null;
}

/** Takes the marks of one run and turns two of them into the cores each part used in between. */
export class CpuMeter {
  constructor(
    private readonly probes: readonly Probe[],
    private readonly workers: readonly Worker[],
    private readonly sut: Sut | null,
  ) {}

  async mark(): Promise<Mark> {
    const s = await Promise.all(this.probes.map((p) => sample(p, false)));
    const self = process.cpuUsage();
    return {
      at: performance.now(),
      gw: s.map((x) => x.cpuSeconds),
      rss: s.map((x) => x.rssBytes),
      workers: this.workers.map((w) => (w.pid ? readCpuSeconds(w.pid) : null)),
      sut: this.sut ? sumOrNull(this.sut.processes.map((p) => p.cpuSeconds())) : null,
      self: (self.user + self.system) / 1e6,
      machine: machineCpu()?.busy ?? null,
    };
  }

  between(a: Mark, b: Mark): PhaseCpu {
    const ms = b.at - a.at;
    const gateways = sumOrNull(this.probes.map((_, g) => coresBetween(a.gw[g], b.gw[g], ms)));
    const wk = sumOrNull(this.workers.map((_, i) => coresBetween(a.workers[i], b.workers[i], ms)));
    const bench = coresBetween(a.self, b.self, ms);
    const spawned = this.sut ? coresBetween(a.sut, b.sut, ms) : 0;
    const machine = coresBetween(a.machine, b.machine, ms);
    const ours = sumOrNull([wk, bench, spawned]);
    return { gateways, workers: wk, bench, machine, others: machine !== null && ours !== null ? Math.max(0, machine - ours) : null };
  }
}
