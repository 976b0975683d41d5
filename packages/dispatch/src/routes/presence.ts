import type { FastifyInstance } from 'fastify';
import { liveRoute, presenceOf, type NodeRegistry, type PresenceStore, type RouteStore } from '@switchboard/cluster';
import type { Logger, NodeId, UserId } from '@switchboard/core';
import { MAX_USER_ID_LENGTH, MAX_WATCH_UIDS } from '@switchboard/protocol';
import { onlineUsersSchema, presenceSchema } from '../schemas-presence.js';
import { authenticateUser, type UserAuthenticator } from '../user-auth.js';

export interface PresenceRouteDeps {
  routes: RouteStore;
  nodes: NodeRegistry;
  /** Last-seen times; without it offline users carry no `lastSeen`. */
  presence: PresenceStore | null;
  auth: UserAuthenticator | undefined;
  log: Logger;
}

/** The user ids of `?uids=`, distinct, or a reason for 400. */
export function parseUids(raw: string | undefined): UserId[] | string {
  const list = [...new Set((raw ?? '').split(',').filter((u) => u.length > 0))];
  if (list.length === 0) return 'give uids: one or more comma-separated user ids';
  if (list.length > MAX_WATCH_UIDS) return `at most ${MAX_WATCH_UIDS} uids, got ${list.length}`;
  if (list.some((u) => u.length > MAX_USER_ID_LENGTH)) return `a user id has at most ${MAX_USER_ID_LENGTH} characters`;
  return list as UserId[];
}

/**
 * `GET /api/presence?uids=a,b` (docs/presence.md): online from the route registry (a live route),
 * last seen from the PresenceStore. Any authenticated user may ask about anyone, as a chat app's
 * contact list does; the answer holds nothing but online state and a time.
 */
export function registerPresenceRoutes(api: FastifyInstance, d: PresenceRouteDeps): void {
  api.get<{ Querystring: { uids?: string } }>('/api/presence', { schema: presenceSchema }, async (req, reply) => {
    const user = await authenticateUser(d.auth, req, reply);
    if (user === null) return reply;
    const uids = parseUids(req.query.uids);
    if (typeof uids === 'string') return reply.code(400).send({ error: 'bad_request', message: uids });
    // One registry read per node per request, however many of the (≤ 500) users it holds.
    const alive = new Map<string, Promise<boolean>>();
    const isAlive = (id: NodeId): Promise<boolean> => {
      let p = alive.get(id);
      if (!p) alive.set(id, (p = d.nodes.get(id).then((r) => r !== null)));
      return p;
    };
    const online = await Promise.all(uids.map(async (u) => (await liveRoute(d.routes, isAlive, u)) !== null));
    return { users: await presenceOf(uids, online, d.presence) };
  });
}

/** Default and largest page of `GET /admin/users?online=true`. */
export const DEFAULT_ONLINE_USERS_PAGE = 100;
export const MAX_ONLINE_USERS_PAGE = 1_000;
/** Most node-index scans one page request makes (empty SCAN steps included), so a request stays short. */
const MAX_SCANS_PER_PAGE = 200;

type Position = { node: string; cursor: string; skip: number };

const encodeCursor = (p: Position): string => Buffer.from(JSON.stringify([p.node, p.cursor, p.skip]), 'utf8').toString('base64url');

function decodeCursor(raw: string): Position | null {
  try {
    const v: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    if (Array.isArray(v) && typeof v[0] === 'string' && typeof v[1] === 'string' && Number.isSafeInteger(v[2]) && (v[2] as number) >= 0) {
      return { node: v[0], cursor: v[1], skip: v[2] as number };
    }
  } catch {
    // not a cursor of ours: 400 below
  }
  return null;
}

export interface OnlineUsersDeps {
  routes: RouteStore;
  /** Live gateways (dispatch's cached list). */
  liveNodes: () => Promise<Array<{ id: string }>>;
}

/**
 * `GET /admin/users?online=true&limit=&cursor=`: the users with a route on a live gateway, node by
 * node (node ids in order, each node's routes by `RouteStore.scanNode`). The cursor names the node,
 * its scan cursor and how many of that scan step were already listed. Registered behind the admin guard.
 */
export function registerOnlineUsersRoute(admin: FastifyInstance, d: OnlineUsersDeps): void {
  admin.get<{ Querystring: { online: 'true'; limit?: string; cursor?: string } }>('/admin/users', { schema: onlineUsersSchema }, async (req, reply) => {
    const limit = req.query.limit === undefined ? DEFAULT_ONLINE_USERS_PAGE : /^[0-9]{1,4}$/.test(req.query.limit) ? Number(req.query.limit) : NaN;
    if (!(limit >= 1 && limit <= MAX_ONLINE_USERS_PAGE)) return reply.code(400).send({ error: 'bad_request', message: `limit must be an integer from 1 to ${MAX_ONLINE_USERS_PAGE}` });
    const start = req.query.cursor === undefined ? null : decodeCursor(req.query.cursor);
    if (req.query.cursor !== undefined && start === null) return reply.code(400).send({ error: 'bad_request', message: 'cursor is not one this API gave out' });
    const nodes = (await d.liveNodes()).map((n) => n.id).sort();
    let i = start === null ? 0 : nodes.findIndex((id) => id >= start.node);
    if (i < 0) i = nodes.length;
    // The cursor's node may be gone: then its successor, from its first page.
    let pos = start !== null && nodes[i] === start.node ? { cursor: start.cursor, skip: start.skip } : { cursor: '0', skip: 0 };
    const users: Array<{ userId: string; nodeId: string; since: number }> = [];
    for (let scans = 0; i < nodes.length && users.length < limit && scans < MAX_SCANS_PER_PAGE; scans++) {
      const node = nodes[i]!;
      const page = await d.routes.scanNode(node as NodeId, pos.cursor, limit);
      const rest = page.routes.slice(pos.skip);
      const room = limit - users.length;
      for (const r of rest.slice(0, room)) users.push({ userId: r.userId, nodeId: r.nodeId, since: r.since });
      if (rest.length > room) return { users, cursor: encodeCursor({ node, cursor: pos.cursor, skip: pos.skip + room }) };
      if (page.next === '0') i++;
      pos = { cursor: page.next, skip: 0 };
    }
    return { users, cursor: i < nodes.length ? encodeCursor({ node: nodes[i]!, cursor: pos.cursor, skip: 0 }) : null };
  });
}
