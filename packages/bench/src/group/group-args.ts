import { ConfigError } from '@switchboard/core';
import { numberFlags, parseFlags } from '../shared/args.js';
import * as D from '../shared/defaults.js';
import { SESSION_USAGE, SPAWNED_USAGE, SPEC, parseSession, parseSpawned, parseTarget, type BenchOptions, type Flags } from '../load/args.js';
import type { LoadMode } from '../load/types.js';

/** How members are spread over the gateways. */
export type Placement = 'dispatch' | 'round-robin';

/** What group mode adds to the load mode's options. */
export interface GroupSetup {
  /** Groups created; user i is a member of group floor(i / members). */
  groups: number;
  /** Members per group. */
  members: number;
  /** `dispatch`: each member where `GET /api/dispatch` sends it; `round-robin`: member k of a group on gateway k mod N. */
  placement: Placement;
  /** The gateways' `IM_GROUP_PREFIX`: a group's address is the prefix and its id. */
  prefix: string;
  /** Bearer token of dispatch's admin API (null: none sent; a loopback dispatch without IM_ADMIN_TOKEN needs none). */
  adminToken: string | null;
}

/**
 * Everything `switchboard bench group` was asked to do, validated: the load mode's options (users =
 * groups × members, no pairing, echo baseline or chaos) and the groups.
 */
export interface GroupOptions extends BenchOptions {
  group: GroupSetup;
}

/** The id of group `g` of a run: unique per run through the users' prefix. */
export function groupId(uidPrefix: string, g: number): string {
  return `${uidPrefix}g${g}`;
}

export type ParsedGroupArgs = { help: true } | { help: false; options: GroupOptions };

export const GROUP_USAGE = `Usage: switchboard bench group [target] [options]      (or: pnpm bench -- group [options])

Group mode (issue 15): creates G groups of M members through dispatch's admin API
(PUT /admin/groups/:gid), logs every member in (WebSocket/TCP mix as the load mode), and has random
online members send QoS group messages to <prefix><gid>; every member acks, dedupes by fp and resends
like a MobileIMSDK client. Reports group messages/s accepted (acked to the sender), member
deliveries/s, send->ack and send->deliver (the sender's send to each member's receipt), lost (a
member online at the send that never got the message), application and wire duplicates, broker
messages per group message (the gateways' /metrics: switchboard_group_fanout_messages_total and the
bridge counters, against the other gateways with online members the bench counted) and CPU per process.

Target (exactly one; group mode needs dispatch for its admin API):
  --dispatch URL            a running system's dispatch (the admin API answers on the same port)
  --spawn-standalone        start \`switchboard standalone\` on free ports (one gateway, no broker)
  --spawn-cluster N         start dispatch + N gateways (needs Redis and RabbitMQ)

Groups:
  --groups G                groups (default ${D.DEFAULT_GROUPS}); each user is a member of one; users = G x M, at most ${D.MAX_USERS}
  --members M               members per group, 2..${D.MAX_GROUP_MEMBERS} (default ${D.DEFAULT_GROUP_MEMBERS}); a spawned system gets
                            IM_GROUP_MAX_MEMBERS=M above its default ${D.SUT_DEFAULT_GROUP_MAX_MEMBERS}
  --placement P             dispatch|round-robin (default dispatch): members connect where dispatch sends
                            them (least loaded), or member k of each group to gateway k mod N (the
                            gateways of GET /admin/nodes, by id) for an exact spread
  --group-prefix P          the gateways' IM_GROUP_PREFIX (default: --sut-env IM_GROUP_PREFIX, else ${D.DEFAULT_GROUP_PREFIX})
  --admin-token T           Bearer token for dispatch's admin API (default: --sut-env IM_ADMIN_TOKEN,
                            else $IM_ADMIN_TOKEN; none: loopback without a token)

Load:
  --rate MSG_PER_SEC        open loop: group messages per second offered over all groups, each from a
                            random online member to its group (default ${D.DEFAULT_GROUP_RATE})
  --inflight K              closed loop instead: unacked group messages per member
  --tcp-share F             share of users on TCP, 0..1 (default ${D.DEFAULT_TCP_SHARE})
  --size BYTES              dataContent bytes per message, ${D.MIN_SIZE_BYTES}..${D.MAX_SIZE_BYTES} (default ${D.DEFAULT_SIZE_BYTES})
${SESSION_USAGE}

${SPAWNED_USAGE}
`;

const LOAD_ONLY = ['users', 'pairing', 'peers', 'workers', 'echo-baseline', 'kill-node-at', 'drain-node-at', 'restart-rabbitmq-at', 'cluster-pids', 'rabbitmq-restart-cmd'] as const;

/** The load mode's flags without those that have no meaning here, and the group flags. */
const GROUP_SPEC = {
  ...(Object.fromEntries(Object.entries(SPEC).filter(([k]) => !(LOAD_ONLY as readonly string[]).includes(k))) as Omit<typeof SPEC, (typeof LOAD_ONLY)[number]>),
  groups: { type: 'string' },
  members: { type: 'string' },
  placement: { type: 'string' },
  'group-prefix': { type: 'string' },
  'admin-token': { type: 'string' },
} as const;

/**
 * Parse and validate `switchboard bench group` arguments (after the word `group`). Every problem is
 * reported together in one `ConfigError`. `env` supplies the default admin token (`IM_ADMIN_TOKEN`).
 */
export function parseGroupArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ParsedGroupArgs {
  const values = parseFlags(argv, GROUP_SPEC);
  if (values.help) return { help: true };
  const problems: string[] = [];
  const num = numberFlags<keyof typeof GROUP_SPEC | keyof typeof SPEC>(values, problems);
  const f: Flags = { values, problems, num };
  const target = parseTarget(f);
  if (target.kind === 'direct') {
    problems.push("--ws: group mode creates its groups through dispatch's admin API: give --dispatch URL, --spawn-standalone or --spawn-cluster N");
  }
  const groups = num('groups', D.DEFAULT_GROUPS, { min: 1, max: D.MAX_USERS, int: true });
  const members = num('members', D.DEFAULT_GROUP_MEMBERS, { min: 2, max: D.MAX_GROUP_MEMBERS, int: true });
  if (groups * members > D.MAX_USERS) problems.push(`--groups x --members: ${groups * members} users; at most ${D.MAX_USERS} (one socket each in one process)`);
  const load = parseGroupLoad(f);
  const session = parseSession(f);
  const spawned = parseSpawned(f, target);
  const setup = parseSetup(values, problems, spawned.sutEnv, env);
  if (setup.prefix.startsWith(session.uidPrefix) || session.uidPrefix.startsWith(setup.prefix)) {
    problems.push(`--uid-prefix: user ids may not start with the group prefix "${setup.prefix}" (nor it with them)`);
  }
  const spawns = target.kind === 'spawn-standalone' || target.kind === 'spawn-cluster';
  if (spawns && members > D.SUT_DEFAULT_GROUP_MAX_MEMBERS && spawned.sutEnv['IM_GROUP_MAX_MEMBERS'] === undefined) {
    spawned.sutEnv['IM_GROUP_MAX_MEMBERS'] = String(members);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    help: false,
    options: {
      target,
      users: groups * members,
      ...load,
      pairing: 'random',
      peers: 0,
      ...session,
      echoBaseline: false,
      workers: 1,
      chaos: { killNodeAtS: null, drainNodeAtS: null, restartRabbitmqAtS: null, clusterPidsFile: null, rabbitmqRestartCmd: '' },
      ...spawned,
      jsonFile: values.json ?? null,
      quiet: values.quiet ?? false,
      timeline: values.timeline ?? false,
      group: { groups, members, ...setup },
    },
  };
}

/** `--rate` / `--inflight`, `--tcp-share`, `--size`. */
function parseGroupLoad({ values, problems, num }: Flags): Pick<BenchOptions, 'tcpShare' | 'sizeBytes' | 'load'> {
  const tcpShare = num('tcp-share', D.DEFAULT_TCP_SHARE, { min: 0, max: 1 });
  const sizeBytes = num('size', D.DEFAULT_SIZE_BYTES, { min: D.MIN_SIZE_BYTES, max: D.MAX_SIZE_BYTES, int: true });
  let load: LoadMode;
  if (values.inflight !== undefined) {
    if (values.rate !== undefined) problems.push('--rate and --inflight exclude each other (open loop or closed loop)');
    load = { kind: 'closed', inflight: num('inflight', 1, { min: 1, max: 1_000, int: true }) };
  } else {
    load = { kind: 'open', ratePerSec: num('rate', D.DEFAULT_GROUP_RATE, { min: 0.1, max: 1_000_000 }) };
  }
  return { tcpShare, sizeBytes, load };
}

/** `--placement`, `--group-prefix`, `--admin-token` (with their defaults from `--sut-env` and the environment). */
function parseSetup(
  values: { placement?: string; 'group-prefix'?: string; 'admin-token'?: string },
  problems: string[],
  sutEnv: Record<string, string>,
  env: NodeJS.ProcessEnv,
): Omit<GroupSetup, 'groups' | 'members'> {
  let placement: Placement = 'dispatch';
  if (values.placement !== undefined) {
    if (values.placement === 'dispatch' || values.placement === 'round-robin') placement = values.placement;
    else problems.push(`--placement: dispatch or round-robin (got "${values.placement}")`);
  }
  const prefix = values['group-prefix'] ?? sutEnv['IM_GROUP_PREFIX'] ?? D.DEFAULT_GROUP_PREFIX;
  if (!/^\S{1,16}$/.test(prefix)) problems.push(`--group-prefix: 1–16 characters without spaces (got "${prefix}")`);
  const token = values['admin-token'] ?? sutEnv['IM_ADMIN_TOKEN'] ?? env['IM_ADMIN_TOKEN'] ?? '';
  return { placement, prefix, adminToken: token === '' ? null : token };
}
