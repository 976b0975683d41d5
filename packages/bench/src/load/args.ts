import { ConfigError } from '@switchboard/core';
import type { SenseMode } from '@switchboard/protocol';
import { numberFlags, parseFlags, parseHostPort, parseUrl, senseModeFlag, uidPrefixFlag, type ParsedFlags } from '../shared/args.js';
import * as D from '../shared/defaults.js';
import type { LoadMode, Pairing } from './types.js';

/** Where the simulated users connect. */
export type BenchTarget =
  | { kind: 'dispatch'; url: string }
  | { kind: 'direct'; wsUrl: string; tcp: { host: string; port: number } | null }
  | { kind: 'spawn-standalone' }
  | { kind: 'spawn-cluster'; gateways: number };

/** Everything `switchboard bench` was asked to do, validated. */
export interface BenchOptions {
  target: BenchTarget;
  users: number;
  /** Share of users on TCP, 0–1. */
  tcpShare: number;
  /** `dataContent` bytes per message. */
  sizeBytes: number;
  load: LoadMode;
  /** How receivers are chosen relative to the sender's gateway node. */
  pairing: Pairing;
  /** `--peers K`: each user writes to K contacts only; 0: to any other user. */
  peers: number;
  durationS: number;
  warmupS: number;
  senseMode: SenseMode;
  /** Prefix of every simulated user id (unique per run so earlier runs' offline queues do not interfere). */
  uidPrefix: string;
  connectConcurrency: number;
  loginTimeoutS: number;
  qos: { tickMs: number; graceMs: number; retries: number };
  drainS: number;
  collectS: number;
  echoBaseline: boolean;
  /**
   * Load generator processes: 1 = the bench process itself; N ≥ 2 = N forked workers, each with its
   * share of the users (whose messages stay among them) and of the offered rate.
   */
  workers: number;
  chaos: {
    killNodeAtS: number | null;
    drainNodeAtS: number | null;
    restartRabbitmqAtS: number | null;
    /** JSON file `{ "<nodeId>": pid }` for --kill-node-at against a cluster the bench did not start. */
    clusterPidsFile: string | null;
    /** Shell command that restarts RabbitMQ. */
    rabbitmqRestartCmd: string;
  };
  /** Extra environment for processes the bench spawns (`--sut-env K=V`). */
  sutEnv: Record<string, string>;
  /** Extra node flags for processes the bench spawns, e.g. `--cpu-prof`. */
  sutNodeArgs: string[];
  /** Processes of a system under test the bench did not start (`--sut-pid`): their CPU is reported and not counted as noise. */
  sutPids: number[];
  jsonFile: string | null;
  quiet: boolean;
  /** Print the per-second timeline in the table (it is always in the JSON). */
  timeline: boolean;
}

export type ParsedBenchArgs = { help: true } | { help: false; options: BenchOptions };

/** The flags of how long a run lasts and how its users behave (`switchboard bench` and its group mode). */
export const SESSION_USAGE = `  --duration S              measured window, seconds (default ${D.DEFAULT_DURATION_S})
  --warmup S                load before the measured window, seconds (default ${D.DEFAULT_WARMUP_S})
  --sense-mode M            heartbeat mode 3S|5S|10S|15S|30S|60S|120S (default ${D.DEFAULT_SENSE_MODE})
  --uid-prefix P            user ids are P0, P1, ... (default: random per run)
  --connect-concurrency N   logins in progress at once (default ${D.DEFAULT_CONNECT_CONCURRENCY})
  --login-timeout S         give up logging in after S seconds (default ${D.DEFAULT_LOGIN_TIMEOUT_S})
  --qos-tick-ms MS          sender resend check interval (default ${D.DEFAULT_QOS_TICK_MS})
  --qos-grace-ms MS         no resend within this long of the first send (default ${D.DEFAULT_QOS_GRACE_MS})
  --qos-retries N           resends before the sender reports a message lost (default ${D.DEFAULT_QOS_RETRIES})
  --drain S                 after the load, wait up to S s for acks and deliveries (default ${D.DEFAULT_DRAIN_S})
  --collect S               then log receivers of missing messages back in and wait S s for their
                            offline queues (default ${D.DEFAULT_COLLECT_S})`;

/** The flags of the processes a run spawns (`switchboard bench` and its group mode). */
export const SPAWNED_USAGE = `Spawned processes (--spawn-*):
  --sut-env K=V             extra environment (repeatable), e.g. --sut-env IM_RATE_LIMIT_PER_SEC=5000
  --sut-node-args "ARGS"    extra node flags, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"

Processes of the system under test the bench did not start (another server under --ws; Redis and
RabbitMQ of a --spawn-cluster):
  --sut-pid PID             CPU reported like a spawned process's, not as "other" (repeatable)

Output:
  --json FILE               write the full result as JSON
  --quiet                   no progress lines on stderr
  --timeline                also print the per-second timeline (always in the JSON)
  -h, --help                this text`;

export const BENCH_USAGE = `Usage: switchboard bench [target] [options]      (or: pnpm bench -- [options])
       switchboard bench idle [target] [options] (logged-in users held idle: gateway RSS per user,
                                                  logins per second; see: switchboard bench idle --help)
       switchboard bench group [target] [options] (QoS group messages to groups of members: deliveries/s,
                                                  send->deliver, lost, broker messages per group message;
                                                  see: switchboard bench group --help)

A MobileIMSDK-speaking load generator: N users log in, send QoS C2C messages between random pairs,
ack, dedupe, resend and reconnect like MobileIMSDK clients, and report sent/acked/delivered/lost,
duplicates, send->ack and send->deliver latency, throughput and the cross-node share.

Target (exactly one):
  --dispatch URL            every user asks GET URL/api/dispatch?uid= and connects where told
  --ws URL                  every WebSocket user straight to this URL (e.g. ws://host:3000/websocket)
    --tcp HOST:PORT         with --ws: TCP users straight to this address
  --spawn-standalone        start \`switchboard standalone\` on free ports and target its dispatch
  --spawn-cluster N         start dispatch + N gateways (needs Redis and RabbitMQ) and target dispatch;
                            they run on a fresh key prefix, whose keys are deleted from Redis afterwards

Load:
  --users N                 simulated users (default ${D.DEFAULT_USERS}, at most ${D.MAX_USERS})
  --tcp-share F             share of users on TCP, 0..1 (default ${D.DEFAULT_TCP_SHARE}; 0 with --ws and no --tcp)
  --size BYTES              dataContent bytes per message, ${D.MIN_SIZE_BYTES}..${D.MAX_SIZE_BYTES} (default ${D.DEFAULT_SIZE_BYTES})
  --inflight K              closed loop: unacked messages per user (default ${D.DEFAULT_INFLIGHT})
  --rate MSG_PER_SEC        open loop: offered messages per second over all users (instead of --inflight)
  --pairing P               random|same-node|cross-node (default random): each message goes to a random
                            other user, one on the sender's gateway node, or one on another node
                            (same-node/cross-node need --spawn-cluster N or --dispatch URL)
  --peers K                 each user writes to K contacts only, drawn by --pairing at its first message
                            (default 0: every message to a new random peer, so nearly every message opens
                            a conversation); e.g. 20 for a chat-like load on the server's history
  --workers N               load generator processes (default ${D.DEFAULT_LOAD_WORKERS}: the bench itself). N >= 2 forks N
                            workers with users/N users each and rate/N of an open loop; a worker's users send
                            to each other only, latencies and counts are merged exactly. The report says
                            whether the generator, the server or the machine was saturated
${SESSION_USAGE}

Baseline:
  --echo-baseline           also drive a raw ws (and TCP) echo server in a child process with the same
                            users, in-flight/rate and size, and print the throughput ratio

Chaos (seconds from the start of the load, warmup included):
  --kill-node-at S          SIGKILL the gateway holding most users (needs --spawn-cluster or --cluster-pids)
  --drain-node-at S         drain that gateway through dispatch (POST /admin/nodes/:id/drain)
  --restart-rabbitmq-at S   run --rabbitmq-restart-cmd (default: "rabbitmqctl stop_app && rabbitmqctl start_app")
  --cluster-pids FILE       JSON {"<nodeId>": pid, ...} of a cluster the bench did not start
  --rabbitmq-restart-cmd C  shell command used by --restart-rabbitmq-at

${SPAWNED_USAGE}
`;

/** The flags of `switchboard bench` (group mode takes a part of them and its own). */
export const SPEC = {
  dispatch: { type: 'string' },
  ws: { type: 'string' },
  tcp: { type: 'string' },
  'spawn-standalone': { type: 'boolean' },
  'spawn-cluster': { type: 'string' },
  users: { type: 'string' },
  'tcp-share': { type: 'string' },
  size: { type: 'string' },
  inflight: { type: 'string' },
  rate: { type: 'string' },
  pairing: { type: 'string' },
  peers: { type: 'string' },
  workers: { type: 'string' },
  duration: { type: 'string' },
  warmup: { type: 'string' },
  'sense-mode': { type: 'string' },
  'uid-prefix': { type: 'string' },
  'connect-concurrency': { type: 'string' },
  'login-timeout': { type: 'string' },
  'qos-tick-ms': { type: 'string' },
  'qos-grace-ms': { type: 'string' },
  'qos-retries': { type: 'string' },
  drain: { type: 'string' },
  collect: { type: 'string' },
  'echo-baseline': { type: 'boolean' },
  'kill-node-at': { type: 'string' },
  'drain-node-at': { type: 'string' },
  'restart-rabbitmq-at': { type: 'string' },
  'cluster-pids': { type: 'string' },
  'rabbitmq-restart-cmd': { type: 'string' },
  'sut-env': { type: 'string', multiple: true },
  'sut-node-args': { type: 'string' },
  'sut-pid': { type: 'string', multiple: true },
  json: { type: 'string' },
  quiet: { type: 'boolean' },
  timeline: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** What every phase of `parseBenchArgs` reads: the flags, the list problems go to, the number reader. */
export interface Flags {
  values: ParsedFlags<typeof SPEC>;
  problems: string[];
  num: (flag: keyof typeof SPEC, dflt: number, opts: { min: number; max: number; int?: boolean }) => number;
}

/**
 * Parse and validate `switchboard bench` arguments. Every problem is reported together in one
 * `ConfigError` (its `problems` name the flags). A lone `--` (as `pnpm bench -- ...` passes it) is ignored.
 */
export function parseBenchArgs(argv: readonly string[]): ParsedBenchArgs {
  const values = parseFlags(argv, SPEC);
  if (values.help) return { help: true };
  const problems: string[] = [];
  const f: Flags = { values, problems, num: numberFlags<keyof typeof SPEC>(values, problems) };
  // The phases run in the order of the usage text, and their problems are listed in that order.
  const target = parseTarget(f);
  const load = parseLoad(f, target);
  const session = parseSession(f);
  const chaos = parseChaos(f, target, session.warmupS + session.durationS);
  const spawned = parseSpawned(f, target);
  const workers = parseWorkers(f, load.users, chaos);
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    help: false,
    options: {
      target,
      users: load.users,
      tcpShare: load.tcpShare,
      sizeBytes: load.sizeBytes,
      load: load.load,
      pairing: load.pairing,
      peers: load.peers,
      durationS: session.durationS,
      warmupS: session.warmupS,
      senseMode: session.senseMode,
      uidPrefix: session.uidPrefix,
      connectConcurrency: session.connectConcurrency,
      loginTimeoutS: session.loginTimeoutS,
      qos: session.qos,
      drainS: session.drainS,
      collectS: session.collectS,
      echoBaseline: values['echo-baseline'] ?? false,
      workers,
      chaos,
      sutEnv: spawned.sutEnv,
      sutNodeArgs: spawned.sutNodeArgs,
      sutPids: spawned.sutPids,
      jsonFile: values.json ?? null,
      quiet: values.quiet ?? false,
      timeline: values.timeline ?? false,
    },
  };
}

/** `--dispatch` / `--ws` [`--tcp`] / `--spawn-standalone` / `--spawn-cluster`: exactly one. */
export function parseTarget({ values, problems, num }: Flags): BenchTarget {
  const targets: BenchTarget[] = [];
  if (values.dispatch !== undefined) {
    const u = parseUrl(values.dispatch, ['http:', 'https:']);
    if (!u) problems.push(`--dispatch: an http(s) URL is required (got "${values.dispatch}")`);
    else targets.push({ kind: 'dispatch', url: u.href.replace(/\/+$/, '') });
  }
  let tcpAddr: { host: string; port: number } | null = null;
  if (values.tcp !== undefined) {
    tcpAddr = parseHostPort(values.tcp);
    if (!tcpAddr) problems.push(`--tcp: HOST:PORT is required (got "${values.tcp}")`);
    if (values.ws === undefined) problems.push('--tcp: only together with --ws (through dispatch, users learn the TCP address)');
  }
  if (values.ws !== undefined) {
    const u = parseUrl(values.ws, ['ws:', 'wss:']);
    if (!u) problems.push(`--ws: a ws:// or wss:// URL is required (got "${values.ws}")`);
    else targets.push({ kind: 'direct', wsUrl: values.ws, tcp: tcpAddr });
  }
  if (values['spawn-standalone']) targets.push({ kind: 'spawn-standalone' });
  if (values['spawn-cluster'] !== undefined) {
    const n = num('spawn-cluster', 1, { min: 1, max: 16, int: true });
    targets.push({ kind: 'spawn-cluster', gateways: n });
  }
  if (targets.length === 0) problems.push('a target is required: --dispatch URL, --ws URL, --spawn-standalone or --spawn-cluster N');
  if (targets.length > 1) problems.push('--dispatch, --ws, --spawn-standalone and --spawn-cluster exclude each other: give one');
  return targets[0] ?? { kind: 'spawn-standalone' };
}

/** The users and what they send: `--users`, `--tcp-share`, `--size`, `--inflight` / `--rate`, `--pairing`, `--peers`. */
function parseLoad({ values, problems, num }: Flags, target: BenchTarget): Pick<BenchOptions, 'users' | 'tcpShare' | 'sizeBytes' | 'load' | 'pairing' | 'peers'> {
  const users = num('users', D.DEFAULT_USERS, { min: 2, max: D.MAX_USERS, int: true });
  const directNoTcp = target.kind === 'direct' && target.tcp === null;
  const tcpShare = num('tcp-share', directNoTcp ? 0 : D.DEFAULT_TCP_SHARE, { min: 0, max: 1 });
  if (directNoTcp && tcpShare > 0) problems.push('--tcp-share: TCP users need --tcp HOST:PORT when the target is --ws');
  const sizeBytes = num('size', D.DEFAULT_SIZE_BYTES, { min: D.MIN_SIZE_BYTES, max: D.MAX_SIZE_BYTES, int: true });
  let load: LoadMode;
  if (values.rate !== undefined) {
    if (values.inflight !== undefined) problems.push('--rate and --inflight exclude each other (open loop or closed loop)');
    load = { kind: 'open', ratePerSec: num('rate', 1, { min: 1, max: 1_000_000 }) };
  } else {
    load = { kind: 'closed', inflight: num('inflight', D.DEFAULT_INFLIGHT, { min: 1, max: 1_000, int: true }) };
  }
  let pairing: Pairing = 'random';
  if (values.pairing !== undefined) {
    if (values.pairing === 'random' || values.pairing === 'same-node' || values.pairing === 'cross-node') pairing = values.pairing;
    else problems.push(`--pairing: one of random, same-node, cross-node (got "${values.pairing}")`);
  }
  if (pairing !== 'random') {
    if (target.kind !== 'spawn-cluster' && target.kind !== 'dispatch') {
      problems.push(`--pairing ${pairing}: needs --spawn-cluster N or --dispatch URL (the bench must know each user's node)`);
    } else if (pairing === 'cross-node' && target.kind === 'spawn-cluster' && target.gateways < 2) {
      problems.push('--pairing cross-node: needs --spawn-cluster N with N >= 2');
    }
  }
  const peers = num('peers', 0, { min: 0, max: users - 1, int: true });
  return { users, tcpShare, sizeBytes, load, pairing, peers };
}

export type SessionOptions = Pick<
  BenchOptions,
  'durationS' | 'warmupS' | 'senseMode' | 'uidPrefix' | 'connectConcurrency' | 'loginTimeoutS' | 'qos' | 'drainS' | 'collectS'
>;

/** How long and how the users behave: duration, warmup, sense mode, uid prefix, logins, QoS resends, drain. */
export function parseSession({ values, problems, num }: Flags): SessionOptions {
  const durationS = num('duration', D.DEFAULT_DURATION_S, { min: 0.1, max: 86_400 });
  const warmupS = num('warmup', D.DEFAULT_WARMUP_S, { min: 0, max: 3_600 });
  const senseMode = senseModeFlag(values['sense-mode'], problems);
  const uidPrefix = uidPrefixFlag(values['uid-prefix'], 'b', problems);
  const connectConcurrency = num('connect-concurrency', D.DEFAULT_CONNECT_CONCURRENCY, { min: 1, max: 10_000, int: true });
  const loginTimeoutS = num('login-timeout', D.DEFAULT_LOGIN_TIMEOUT_S, { min: 1, max: 3_600 });
  const qos = {
    tickMs: num('qos-tick-ms', D.DEFAULT_QOS_TICK_MS, { min: 10, max: 600_000, int: true }),
    graceMs: num('qos-grace-ms', D.DEFAULT_QOS_GRACE_MS, { min: 0, max: 600_000, int: true }),
    retries: num('qos-retries', D.DEFAULT_QOS_RETRIES, { min: 0, max: 100, int: true }),
  };
  const drainS = num('drain', D.DEFAULT_DRAIN_S, { min: 0, max: 3_600 });
  const collectS = num('collect', D.DEFAULT_COLLECT_S, { min: 0, max: 3_600 });
  return { durationS, warmupS, senseMode, uidPrefix, connectConcurrency, loginTimeoutS, qos, drainS, collectS };
}

/**
 * `--workers N`: at least 2 users per worker (each worker's users talk among themselves). Chaos and
 * the echo baseline run in the bench process itself and are not combined with workers.
 */
function parseWorkers({ values, problems, num }: Flags, users: number, chaos: BenchOptions['chaos']): number {
  const workers = num('workers', D.DEFAULT_LOAD_WORKERS, { min: 1, max: D.MAX_LOAD_WORKERS, int: true });
  if (workers === 1) return workers;
  if (users < 2 * workers) problems.push(`--workers ${workers}: needs at least 2 users per worker (--users ${users})`);
  if (values['echo-baseline']) problems.push('--workers: not with --echo-baseline (the echo phase runs in the bench process alone)');
  if (chaos.killNodeAtS !== null || chaos.drainNodeAtS !== null || chaos.restartRabbitmqAtS !== null) {
    problems.push('--workers: not with --kill-node-at, --drain-node-at or --restart-rabbitmq-at (chaos runs with the bench process alone)');
  }
  return workers;
}

/** `--kill-node-at` / `--drain-node-at` / `--restart-rabbitmq-at` (inside the `totalS` of load) and what they need. */
function parseChaos({ values, problems, num }: Flags, target: BenchTarget, totalS: number): BenchOptions['chaos'] {
  const at = (flag: 'kill-node-at' | 'drain-node-at' | 'restart-rabbitmq-at'): number | null => {
    const v = values[flag] === undefined ? null : num(flag, 0, { min: 0, max: 86_400 });
    if (v !== null && v >= totalS) problems.push(`--${flag}: must fall inside the load (warmup + duration = ${totalS} s)`);
    return v;
  };
  const killNodeAtS = at('kill-node-at');
  const drainNodeAtS = at('drain-node-at');
  const restartRabbitmqAtS = at('restart-rabbitmq-at');
  const clusterPidsFile = values['cluster-pids'] ?? null;
  const viaDispatch = target.kind === 'dispatch' || target.kind === 'spawn-standalone' || target.kind === 'spawn-cluster';
  if (killNodeAtS !== null && target.kind !== 'spawn-cluster' && !(target.kind === 'dispatch' && clusterPidsFile)) {
    problems.push('--kill-node-at: needs --spawn-cluster N, or --dispatch URL with --cluster-pids FILE (the bench must know the pids)');
  }
  if (clusterPidsFile !== null && target.kind !== 'dispatch') problems.push('--cluster-pids: only with --dispatch');
  if (drainNodeAtS !== null && !viaDispatch) problems.push('--drain-node-at: needs a dispatch target (--dispatch or --spawn-*)');
  if (restartRabbitmqAtS !== null && !(target.kind === 'dispatch' || target.kind === 'spawn-cluster')) {
    problems.push('--restart-rabbitmq-at: needs a cluster (--dispatch URL or --spawn-cluster N)');
  }
  const rabbitmqRestartCmd = values['rabbitmq-restart-cmd'] ?? 'rabbitmqctl stop_app && rabbitmqctl start_app';
  return { killNodeAtS, drainNodeAtS, restartRabbitmqAtS, clusterPidsFile, rabbitmqRestartCmd };
}

/** The processes of the system under test: `--sut-env`, `--sut-node-args` (spawned ones), `--sut-pid` (others). */
export function parseSpawned({ values, problems }: Flags, target: BenchTarget): Pick<BenchOptions, 'sutEnv' | 'sutNodeArgs' | 'sutPids'> {
  const sutEnv: Record<string, string> = {};
  for (const kv of values['sut-env'] ?? []) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(kv);
    if (!m) problems.push(`--sut-env: KEY=VALUE is required (got "${kv}")`);
    else sutEnv[m[1]!] = m[2]!;
  }
  const sutNodeArgs = (values['sut-node-args'] ?? '').split(/\s+/).filter((a) => a.length > 0);
  const spawns = target.kind === 'spawn-standalone' || target.kind === 'spawn-cluster';
  if (!spawns && (values['sut-env'] !== undefined || values['sut-node-args'] !== undefined)) {
    problems.push('--sut-env / --sut-node-args: only with --spawn-standalone or --spawn-cluster');
  }
  const sutPids: number[] = [];
  for (const v of values['sut-pid'] ?? []) {
    const pid = Number(v);
    if (!Number.isInteger(pid) || pid <= 0) problems.push(`--sut-pid: a process id is required (got "${v}")`);
    else sutPids.push(pid);
  }
  return { sutEnv, sutNodeArgs, sutPids };
}
