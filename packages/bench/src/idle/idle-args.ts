import { ConfigError } from '@switchboard/core';
import type { SenseMode } from '@switchboard/protocol';
import { numberFlags, parseFlags, parseHostPort, parseUrl, senseModeFlag, uidPrefixFlag } from '../shared/args.js';
import type { WsClient } from '../conn/types.js';
import * as D from '../shared/defaults.js';

/**
 * Where idle mode's users connect. Always straight to the gateways (no dispatch request per user:
 * the login rate is the gateway's, not dispatch's).
 */
export type IdleTarget =
  | { kind: 'spawn-standalone' }
  | { kind: 'spawn-cluster'; gateways: number }
  /** A gateway the bench did not start; its RSS and CPU come from `adminUrl`'s `/metrics` when given. */
  | { kind: 'direct'; wsUrl: string; tcp: { host: string; port: number } | null; adminUrl: string | null };

/** Everything `switchboard bench idle` was asked to do, validated. */
export interface IdleOptions {
  target: IdleTarget;
  /** Logged-in users held open, over all worker processes. */
  users: number;
  /** Share of users on TCP, 0–1 (default 0: the per-user figure is WebSocket's). */
  tcpShare: number;
  /**
   * The workers' WebSocket client: `raw` (the bench's own, `raw-ws.ts`; default for ws:// targets)
   * or `ws` (the library; default for wss://, which `raw` does not speak).
   */
  wsClient: WsClient;
  /** Client worker processes the users are split across (each one holds one socket per user). */
  procs: number;
  /** Logins in flight per worker process. */
  loginConcurrency: number;
  /** Logins started per second over all workers; null = as fast as `loginConcurrency` allows. */
  loginRatePerSec: number | null;
  /** Give up logging users in after this long, seconds. */
  loginTimeoutS: number;
  /** Seconds all users are held idle (keepalives only) after the last login. */
  idleS: number;
  /** Seconds between the gateway's start and its baseline RSS. */
  settleS: number;
  senseMode: SenseMode;
  uidPrefix: string;
  /** Extra environment for processes the bench spawns (`--sut-env K=V`). */
  sutEnv: Record<string, string>;
  /** Extra node flags for processes the bench spawns. */
  sutNodeArgs: string[];
  jsonFile: string | null;
  quiet: boolean;
}

export type ParsedIdleArgs = { help: true } | { help: false; options: IdleOptions };

export const IDLE_USAGE = `Usage: switchboard bench idle [target] [options]      (or: pnpm bench -- idle [options])

Idle mode: N users log in (as fast as allowed) from several client worker processes and are held
open sending only keepalives. Reports the gateway's RSS per logged-in user ((idle RSS - baseline
RSS) / users), logins per second (peak second, p50/p99 login latency), the gateway's CPU while
idle and the workers' RSS. Exit code 0 only when every user logged in and stayed online.

Target (exactly one; users connect straight to the gateways, never through dispatch):
  --spawn-standalone        start \`switchboard standalone\` on free ports (RSS and CPU from /proc)
  --spawn-cluster N         start dispatch + N gateways (needs Redis and RabbitMQ); users spread
                            round-robin over the gateways
  --ws URL                  a running gateway's WebSocket URL (e.g. ws://host:3000/websocket)
    --tcp HOST:PORT         with --ws: its TCP address (for --tcp-share > 0)
    --admin URL             with --ws: its admin base URL; RSS and CPU from GET URL/metrics
                            (process_resident_memory_bytes); without it they are reported unknown

Users and workers:
  --users N                 logged-in users in total (default ${D.DEFAULT_IDLE_USERS}, at most ${D.MAX_IDLE_USERS})
  --tcp-share F             share of users on TCP, 0..1 (default 0)
  --ws-client raw|ws        the workers' WebSocket client: raw = the bench's own lean client on
                            node:net (default; ws:// only), ws = the ws library (the default for a
                            wss:// target); each login costs the workers less CPU with raw
  --procs P                 client worker processes (default ceil(N / ${D.DEFAULT_IDLE_USERS_PER_PROC}), at least 2 above
                            ${D.IDLE_MULTI_PROC_THRESHOLD_USERS} users); at most ${D.MAX_USERS} users per worker (20000 open files)
  --login-concurrency K     logins in flight per worker (default ${D.DEFAULT_LOGIN_CONCURRENCY})
  --login-rate R            start R logins per second over all workers (default: as fast as possible)
  --login-timeout S         give up logging in after S s; failed attempts are retried until then
                            (default ${D.DEFAULT_IDLE_LOGIN_TIMEOUT_S})
  --idle S                  hold everyone idle for S s after the last login (default ${D.DEFAULT_IDLE_S})
  --settle S                wait S s after the gateway's start before the baseline RSS (default ${D.DEFAULT_IDLE_SETTLE_S})
  --sense-mode M            keepalive mode 3S|5S|10S|15S|30S|60S|120S (default ${D.DEFAULT_SENSE_MODE})
  --uid-prefix P            user ids are P0, P1, ... (default: random per run)

Spawned processes (--spawn-*):
  --sut-env K=V             extra environment (repeatable)
  --sut-node-args "ARGS"    extra node flags of the system under test

Output:
  --json FILE               write the full result as JSON
  --quiet                   no progress lines on stderr
  -h, --help                this text
`;

const SPEC = {
  ws: { type: 'string' },
  tcp: { type: 'string' },
  admin: { type: 'string' },
  'spawn-standalone': { type: 'boolean' },
  'spawn-cluster': { type: 'string' },
  users: { type: 'string' },
  'tcp-share': { type: 'string' },
  'ws-client': { type: 'string' },
  procs: { type: 'string' },
  'login-concurrency': { type: 'string' },
  'login-rate': { type: 'string' },
  'login-timeout': { type: 'string' },
  idle: { type: 'string' },
  settle: { type: 'string' },
  'sense-mode': { type: 'string' },
  'uid-prefix': { type: 'string' },
  'sut-env': { type: 'string', multiple: true },
  'sut-node-args': { type: 'string' },
  json: { type: 'string' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Default `--procs` for `users`: enough workers for their open-file limit, two above a thousand users. */
export function defaultIdleProcs(users: number): number {
  const n = Math.ceil(users / D.DEFAULT_IDLE_USERS_PER_PROC);
  return Math.max(1, n, users > D.IDLE_MULTI_PROC_THRESHOLD_USERS ? 2 : 1);
}

/** The users of worker `w` of `procs`: global indices [from, to), contiguous, sizes differing by at most one. */
export function workerRange(w: number, procs: number, users: number): { from: number; to: number } {
  return { from: Math.floor((w * users) / procs), to: Math.floor(((w + 1) * users) / procs) };
}

/**
 * Parse and validate `switchboard bench idle` arguments (after the word `idle`). Every problem is
 * reported together in one `ConfigError`. A lone leading `--` is ignored.
 */
export function parseIdleArgs(argv: readonly string[]): ParsedIdleArgs {
  const values = parseFlags(argv, SPEC);
  if (values.help) return { help: true };
  const problems: string[] = [];
  const num = numberFlags<keyof typeof SPEC>(values, problems);

  // Target
  const targets: IdleTarget[] = [];
  let tcpAddr: { host: string; port: number } | null = null;
  if (values.tcp !== undefined) {
    tcpAddr = parseHostPort(values.tcp);
    if (!tcpAddr) problems.push(`--tcp: HOST:PORT is required (got "${values.tcp}")`);
    if (values.ws === undefined) problems.push('--tcp: only together with --ws');
  }
  let adminUrl: string | null = null;
  if (values.admin !== undefined) {
    const u = parseUrl(values.admin, ['http:', 'https:']);
    if (!u) problems.push(`--admin: an http(s) URL is required (got "${values.admin}")`);
    else adminUrl = u.href.replace(/\/+$/, '');
    if (values.ws === undefined) problems.push('--admin: only together with --ws (spawned gateways are measured through /proc)');
  }
  if (values.ws !== undefined) {
    const u = parseUrl(values.ws, ['ws:', 'wss:']);
    if (!u) problems.push(`--ws: a ws:// or wss:// URL is required (got "${values.ws}")`);
    else targets.push({ kind: 'direct', wsUrl: values.ws, tcp: tcpAddr, adminUrl });
  }
  if (values['spawn-standalone']) targets.push({ kind: 'spawn-standalone' });
  if (values['spawn-cluster'] !== undefined) {
    targets.push({ kind: 'spawn-cluster', gateways: num('spawn-cluster', 1, { min: 1, max: 16, int: true }) });
  }
  if (targets.length === 0) problems.push('a target is required: --spawn-standalone, --spawn-cluster N or --ws URL');
  if (targets.length > 1) problems.push('--ws, --spawn-standalone and --spawn-cluster exclude each other: give one');
  const target: IdleTarget = targets[0] ?? { kind: 'spawn-standalone' };

  // Users and workers
  const users = num('users', D.DEFAULT_IDLE_USERS, { min: 1, max: D.MAX_IDLE_USERS, int: true });
  const tcpShare = num('tcp-share', 0, { min: 0, max: 1 });
  if (target.kind === 'direct' && target.tcp === null && tcpShare > 0) problems.push('--tcp-share: TCP users need --tcp HOST:PORT when the target is --ws');
  let wsClient: WsClient = target.kind === 'direct' && /^wss:/i.test(target.wsUrl) ? 'ws' : 'raw';
  const wc = values['ws-client'];
  if (wc !== undefined) {
    if (wc !== 'raw' && wc !== 'ws') problems.push(`--ws-client: raw or ws (got "${wc}")`);
    else if (wc === 'raw' && target.kind === 'direct' && /^wss:/i.test(target.wsUrl)) problems.push('--ws-client raw: speaks ws:// only; use --ws-client ws for a wss:// target');
    else wsClient = wc;
  }
  const procs = num('procs', defaultIdleProcs(users), { min: 1, max: D.MAX_IDLE_PROCS, int: true });
  if (procs > users) problems.push(`--procs: more worker processes (${procs}) than users (${users})`);
  else if (Math.ceil(users / procs) > D.MAX_USERS) {
    problems.push(`--procs: ${procs} workers would hold ${Math.ceil(users / procs)} users each; at most ${D.MAX_USERS} per worker (20000 open files): use --procs ${Math.ceil(users / D.MAX_USERS)} or more`);
  }
  const loginConcurrency = num('login-concurrency', D.DEFAULT_LOGIN_CONCURRENCY, { min: 1, max: 10_000, int: true });
  const loginRatePerSec = values['login-rate'] === undefined ? null : num('login-rate', 1, { min: 1, max: 1_000_000 });
  const loginTimeoutS = num('login-timeout', D.DEFAULT_IDLE_LOGIN_TIMEOUT_S, { min: 1, max: 86_400 });
  if (loginRatePerSec !== null && users / loginRatePerSec > loginTimeoutS) {
    problems.push(`--login-timeout: ${users} users at ${loginRatePerSec}/s need ${Math.ceil(users / loginRatePerSec)} s; raise --login-timeout`);
  }
  const idleS = num('idle', D.DEFAULT_IDLE_S, { min: 0.5, max: 86_400 });
  const settleS = num('settle', D.DEFAULT_IDLE_SETTLE_S, { min: 0, max: 3_600 });
  const senseMode = senseModeFlag(values['sense-mode'], problems);
  const uidPrefix = uidPrefixFlag(values['uid-prefix'], 'i', problems);

  // Spawned processes
  const sutEnv: Record<string, string> = {};
  for (const kv of values['sut-env'] ?? []) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(kv);
    if (!m) problems.push(`--sut-env: KEY=VALUE is required (got "${kv}")`);
    else sutEnv[m[1]!] = m[2]!;
  }
  const sutNodeArgs = (values['sut-node-args'] ?? '').split(/\s+/).filter((a) => a.length > 0);
  if (target.kind === 'direct' && (values['sut-env'] !== undefined || values['sut-node-args'] !== undefined)) {
    problems.push('--sut-env / --sut-node-args: only with --spawn-standalone or --spawn-cluster');
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    help: false,
    options: {
      target,
      users,
      tcpShare,
      wsClient,
      procs,
      loginConcurrency,
      loginRatePerSec,
      loginTimeoutS,
      idleS,
      settleS,
      senseMode,
      uidPrefix,
      sutEnv,
      sutNodeArgs,
      jsonFile: values.json ?? null,
      quiet: values.quiet ?? false,
    },
  };
}
