import { UnavailableError } from '@switchboard/core';
import { dispatchUser, listNodes, type AdminNode, type DispatchAnswer } from '../shared/dispatch-client.js';
import { pool, waitUntil, heldDelay } from '../shared/wait.js';
import { LoadDriver } from '../load/load.js';
import type { SimUser, Placement as UserPlacement } from '../load/sim-user.js';
import {
  createFleet,
  logIn,
  runLoad,
  sendersSettled,
  startLoadTimers,
  type Fleet,
  type LoadTimers,
  type PhaseEnv,
} from '../load/switchboard-phase.js';
import { groupId, type GroupOptions } from './group-args.js';
import { GroupLedger } from './group-ledger.js';
import { brokerSummary, readGatewayCounters, type BrokerSummary } from './group-metrics.js';
import { groupResult, type GroupDrain, type GroupResult } from './group-result.js';
import { GroupUser, type GroupWorld } from './group-user.js';

/** A gateway as group mode reads it: its node id, its admin base URL (for `/metrics`), its client endpoints. */
export interface GatewayInfo {
  node: string;
  admin: string | null;
  ws: string;
  tcp: { host: string; port: number };
}

/**
 * The group phase of a run (the groups exist already): log every member in, load (random online
 * members send to their group), drain, log members who miss messages in again (a gateway with
 * history catches them up), and count; the gateways' counters are read before the load and after
 * the drain.
 */
export async function runGroupPhase(opts: GroupOptions, env: PhaseEnv): Promise<GroupResult> {
  const { members, groups, prefix } = opts.group;
  const world: GroupWorld = {
    ledger: new GroupLedger(members),
    members,
    address: (g) => prefix + groupId(opts.uidPrefix, g),
    addressMismatches: 0,
  };
  const gateways = await gatewaysOf(opts, env);
  const place = opts.group.placement === 'round-robin' ? roundRobin(gateways, members) : undefined;
  const fleet = createFleet(opts, env, (i, uid, transport, ctx) => new GroupUser(i, uid, transport, ctx, world), place);
  const login = await logIn(opts, env.io, fleet);
  const before = await readGatewayCounters(gateways);
  const t0 = performance.now();
  const { window } = fleet;
  window.start = t0;
  window.from = t0 + opts.warmupS * 1000;
  window.to = window.from + opts.durationS * 1000;
  const driver = new LoadDriver(fleet.users, opts.load, window, (u) => (u as GroupUser).group);
  fleet.driver = driver;
  const timers = startLoadTimers(opts, env, fleet, t0);
  const online = onlineSpread(fleet.users, members, groups).total;
  env.io.log(`${groups} group(s) of ${members} members; online per gateway: ${Object.entries(online).map(([n, c]) => `${n} ${c}`).join(', ')}`);
  const measures = await runLoad(opts, env, fleet, driver, timers.sutProcs);
  const spread = onlineSpread(fleet.users, members, groups);
  const drain = await drainAndCollect(opts, env, fleet, world.ledger, timers);
  const broker: BrokerSummary = brokerSummary(before, await readGatewayCounters(gateways), world.ledger.meanRemoteNodes);
  fleet.stopping = true;
  timers.stopProgress();
  for (const u of fleet.users) u.stop();
  return groupResult(opts, fleet, driver, { world, login, spread, drain, broker, timers, measures });
}

/**
 * The gateways dispatch lists (GET /admin/nodes), active ones by id, with a WebSocket URL shaped like
 * dispatch's answers (its path). For a spawned cluster, waits up to 15 s until every gateway is listed.
 */
async function gatewaysOf(opts: GroupOptions, env: PhaseEnv): Promise<GatewayInfo[]> {
  const dispatchUrl = env.dispatchUrl!;
  const want = opts.target.kind === 'spawn-cluster' ? opts.target.gateways : 1;
  const deadline = performance.now() + 15_000;
  let nodes: AdminNode[] = [];
  let probe: DispatchAnswer | null = null;
  for (;;) {
    nodes = (await listNodes(dispatchUrl, opts.group.adminToken)).filter((n) => n.state === 'active');
    // Dispatch's own liveness view may lag the list (503 "no live gateway" just after a start): asked again until the deadline.
    if (nodes.length >= want) probe = await dispatchUser(dispatchUrl, `${opts.uidPrefix}probe`).catch(() => null);
    if (probe || performance.now() > deadline) break;
    await heldDelay(250);
  }
  if (nodes.length === 0) throw new UnavailableError('dispatch lists no active gateway');
  probe ??= await dispatchUser(dispatchUrl, `${opts.uidPrefix}probe`);
  return nodes
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((n) => {
      const ws = new URL(probe.ws);
      ws.hostname = n.host;
      ws.port = String(n.ports.ws);
      return { node: n.id, admin: n.ports.admin ? `http://${n.host}:${n.ports.admin}` : null, ws: ws.href, tcp: { host: n.host, port: n.ports.tcp } };
    });
}

/** `--placement round-robin`: member k of every group connects to gateway k mod N (no dispatch request per user). */
function roundRobin(gateways: readonly GatewayInfo[], members: number): (u: SimUser) => Promise<UserPlacement> {
  return async (u) => {
    const g = gateways[(u.index % members) % gateways.length]!;
    return {
      endpoint: u.transport === 'ws' ? { kind: 'ws', url: g.ws } : { kind: 'tcp', host: g.tcp.host, port: g.tcp.port },
      node: g.node,
      reconnect: null,
    };
  };
}

/** Online members per gateway, over all groups and for each of the first 20 groups. */
function onlineSpread(users: readonly SimUser[], members: number, groups: number): GroupResult['spread'] {
  const total: Record<string, number> = {};
  const perGroup: Array<Record<string, number>> = [];
  for (let g = 0; g < Math.min(groups, 20); g++) perGroup.push({});
  for (const u of users) {
    if (!u.online) continue;
    total[u.node] = (total[u.node] ?? 0) + 1;
    const g = perGroup[Math.floor(u.index / members)];
    if (g) g[u.node] = (g[u.node] ?? 0) + 1;
  }
  return { total, perGroup };
}

/**
 * Wait (`--drain`) until no sender waits for an ack and every member got what it was owed; then log
 * the members still missing messages in again (`--collect`: with history their gateway catches them
 * up) and wait for those messages.
 */
async function drainAndCollect(opts: GroupOptions, env: PhaseEnv, { users }: Fleet, ledger: GroupLedger, timers: LoadTimers): Promise<GroupDrain> {
  const drainStart = performance.now();
  env.io.log(`load over; waiting up to ${opts.drainS} s for acks and member deliveries…`);
  await waitUntil(() => sendersSettled(users) && ledger.outstanding === 0, drainStart + opts.drainS * 1000);
  const waitedMs = performance.now() - drainStart;
  timers.stopAfterDrain();
  const collectStart = performance.now();
  const missing = ledger.missing();
  let collectedUsers = 0;
  if (missing.length > 0 && opts.collectS > 0 && !env.aborted()) {
    const receivers = [...new Set(missing.map((m) => m.user))];
    collectedUsers = receivers.length;
    env.io.log(`${missing.length} member deliveries missing: logging their ${receivers.length} members in again (catch-up)…`);
    const deadline = collectStart + opts.collectS * 1000;
    await pool(receivers, opts.connectConcurrency, (i) => users[i]!.relogin(deadline));
    await waitUntil(() => ledger.outstanding === 0, deadline, 200);
  }
  const collectedMessages = missing.filter((m) => ledger.gotIt(m.seq, m.user)).length;
  return { waitedMs: Math.round(waitedMs), collectedUsers, collectedMessages, collectMs: Math.round(performance.now() - collectStart) };
}
