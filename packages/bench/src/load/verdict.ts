/**
 * Two verdicts of a load run, pure functions of what it measured: which side bound the measurement
 * (generator, server or the whole machine), and the per-second maximum send→ack latency with the
 * seconds in which it exceeded the stall threshold.
 */
import { SATURATED_MACHINE_SHARE, SATURATED_PROCESS_CORES, STALL_THRESHOLD_MS } from '../shared/defaults.js';

/** One process and the cores it used in the measured window (null when unknown). */
export interface ProcessCores {
  name: string;
  cores: number | null;
}

/** Which side of the measurement ran out of CPU. */
export interface Saturation {
  /** A process at or above this many cores counts as saturated. */
  thresholdCores: number;
  /** The busiest generator process (the bench, or a worker) and whether it was saturated. */
  generator: { saturated: boolean; busiest: ProcessCores | null };
  /** The busiest process of the system under test and whether it was saturated. */
  server: { saturated: boolean; busiest: ProcessCores | null };
  /** The whole machine: busy cores of `cpus`, saturated at SATURATED_MACHINE_SHARE of them. */
  machine: { saturated: boolean; busyCores: number | null; cpus: number };
  /** One line: "generator saturated: worker 2 at 98 % of a core; …", or "nothing saturated: …". */
  verdict: string;
}

const known = (p: ProcessCores): p is ProcessCores & { cores: number } => p.cores !== null && Number.isFinite(p.cores);

function busiest(ps: readonly ProcessCores[]): ProcessCores | null {
  let top: ProcessCores | null = null;
  for (const p of ps) if (known(p) && (top === null || p.cores > top.cores!)) top = p;
  return top;
}

const pctOfCore = (p: ProcessCores): string => `${p.name} at ${Math.round((p.cores ?? NaN) * 100)} % of a core`;

/**
 * The saturation verdict of a measured window from the cores each process used: the generator's
 * processes (the bench itself, and each worker with `--workers N`), the server's (spawned processes and
 * `--sut-pid`s) and the machine's busy cores. A process at `thresholdCores` or more is saturated (a
 * Node.js process does its work on one event loop: one core is its ceiling; a multi-threaded server
 * such as MobileIMSDK's JVM can go past it); the machine is saturated at `machineShare` of its cores.
 * Every saturated side is named, the generator first; when none is, the busiest of each is given.
 */
export function saturationVerdict(input: {
  generator: readonly ProcessCores[];
  server: readonly ProcessCores[];
  machineCores: number | null;
  cpus: number;
  /** Cores other processes used (named in the machine's verdict: a neighbour can saturate it). */
  otherCores?: number | null;
  thresholdCores?: number;
  machineShare?: number;
}): Saturation {
  const thresholdCores = input.thresholdCores ?? SATURATED_PROCESS_CORES;
  const share = input.machineShare ?? SATURATED_MACHINE_SHARE;
  const gen = busiest(input.generator);
  const srv = busiest(input.server);
  const genSat = gen !== null && gen.cores! >= thresholdCores;
  const srvSat = srv !== null && srv.cores! >= thresholdCores;
  const m = input.machineCores !== null && Number.isFinite(input.machineCores) ? input.machineCores : null;
  const machineSat = m !== null && input.cpus > 0 && m >= share * input.cpus;
  const parts: string[] = [];
  if (genSat) parts.push(`generator saturated: ${pctOfCore(gen)}`);
  if (srvSat) parts.push(`server saturated: ${pctOfCore(srv)}`);
  const others = input.otherCores != null && Number.isFinite(input.otherCores) ? `, other processes ${input.otherCores.toFixed(2)}` : '';
  if (machineSat) parts.push(`machine saturated: ${m.toFixed(2)} of ${input.cpus} cores busy${others}`);
  if (parts.length === 0) {
    parts.push(
      `nothing saturated: busiest generator process ${gen ? pctOfCore(gen) : 'unknown'}, ` +
        `busiest server process ${srv ? pctOfCore(srv) : 'unknown'}` +
        (m !== null ? `, machine ${m.toFixed(2)} of ${input.cpus} cores${others}` : ''),
    );
  }
  return {
    thresholdCores,
    generator: { saturated: genSat, busiest: gen },
    server: { saturated: srvSat, busiest: srv },
    machine: { saturated: machineSat, busyCores: m, cpus: input.cpus },
    verdict: parts.join('; '),
  };
}

/** The per-second maximum send→ack latency over the measured window's whole seconds, and its stalls. */
export interface StallSummary {
  /** A second whose maximum exceeds this is a stall, ms. */
  thresholdMs: number;
  /** Whole seconds of the measured window (t counted from the start of the load, warmup included). */
  seconds: number;
  /** Seconds whose maximum send→ack exceeded `thresholdMs`, or in which no ack arrived at all. */
  stalls: number;
  /** Their t values. */
  stallSeconds: number[];
  /** Median and largest of the per-second maxima, ms (null without a second with acks). */
  medianMaxMs: number | null;
  worstMaxMs: number | null;
  /** The second of the largest maximum. */
  worstSecond: number | null;
}

/**
 * Stalls of a run from its timeline: each whole second of the measured window ([warmupS,
 * warmupS + windowS), t = 0 at the start of the load) whose largest send→ack latency (of the acks
 * that arrived in it) exceeds `thresholdMs` counts, and so does a measured second without any ack
 * (nothing came back for a whole second: the largest wait was at least that long).
 */
export function stallSummary(
  timeline: ReadonlyArray<{ t: number; acked: number; ackMaxMs: number | null }>,
  warmupS: number,
  windowS: number,
  thresholdMs = STALL_THRESHOLD_MS,
): StallSummary {
  const first = Math.ceil(warmupS - 1e-9);
  const end = Math.floor(warmupS + windowS + 1e-9);
  const byT = new Map(timeline.map((e) => [e.t, e]));
  const maxima: Array<[number, number]> = [];
  const stallSeconds: number[] = [];
  for (let t = first; t < end; t++) {
    const e = byT.get(t);
    const max = e && e.acked > 0 && e.ackMaxMs !== null && Number.isFinite(e.ackMaxMs) ? e.ackMaxMs : null;
    if (max === null) {
      stallSeconds.push(t);
      continue;
    }
    maxima.push([t, max]);
    if (max > thresholdMs) stallSeconds.push(t);
  }
  const sorted = maxima.map(([, v]) => v).sort((a, b) => a - b);
  let worst: [number, number] | null = null;
  for (const x of maxima) if (worst === null || x[1] > worst[1]) worst = x;
  return {
    thresholdMs,
    seconds: Math.max(0, end - first),
    stalls: stallSeconds.length,
    stallSeconds,
    medianMaxMs: sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)]! : null,
    worstMaxMs: worst ? worst[1] : null,
    worstSecond: worst ? worst[0] : null,
  };
}

/**
 * The verdict fields of a load result: the stalls from its timeline, and the saturation from the
 * generator's processes, the server's (`sut`: cores by process name) and the machine's busy cores.
 */
export function resultVerdicts(r: {
  warmupS: number;
  windowS: number;
  timeline: ReadonlyArray<{ t: number; acked: number; ackMaxMs: number | null }>;
  generator: readonly ProcessCores[];
  sut: Readonly<Record<string, number | null>>;
  machineCores: number | null;
  otherCores: number | null;
  cpus: number;
}): { ackMaxPerSecond: StallSummary; saturation: Saturation } {
  return {
    ackMaxPerSecond: stallSummary(r.timeline, r.warmupS, r.windowS),
    saturation: saturationVerdict({
      generator: r.generator,
      server: Object.entries(r.sut).map(([name, cores]) => ({ name, cores })),
      machineCores: r.machineCores,
      otherCores: r.otherCores,
      cpus: r.cpus,
    }),
  };
}
