import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  conversationRef,
  groupConversation,
  peerConversation,
  type GroupStore,
  type Bridge,
  type ConversationId,
  type ConversationSummary,
  type HistoryMessage,
  type HistoryStore,
  type NodeRegistry,
  type RouteStore,
} from '@switchboard/cluster';
import { LogThrottle, UnroutableError, type Logger, type UserId } from '@switchboard/core';
import { SERVER_UID, encodePacket, noticePacket } from '@switchboard/protocol';
import { DEFAULT_HISTORY_PAGE, MAX_HISTORY_PAGE } from '../defaults.js';
import { liveRoute } from '../live-route.js';
import * as S from '../schemas.js';
import { authenticateUser, type UserAuthenticator } from '../user-auth.js';

export interface HistoryRouteDeps {
  /** Null: IM_HISTORY=off, every route answers 404 `history_off`. */
  history: HistoryStore | null;
  /** Without it the routes answer 503 (e.g. IM_AUTH=jwt without IM_JWT_SECRET on dispatch). */
  auth: UserAuthenticator | undefined;
  routes: RouteStore;
  nodes: NodeRegistry;
  /** Where read receipts go out; without it none are sent. */
  bridge?: Bridge;
  /** Group membership: `group=` conversations, `GET /api/groups`. Absent: those answer 404 `groups_off`. */
  groups?: GroupStore | null;
  log: Logger;
}

/** The client feature a session announces to get NOTICE packets (read receipts). */
export const NOTICES_FEATURE = 'notices';

type Reply = FastifyReply;

/** Largest body of `POST /api/conversations/read` (`{peer, seq}` needs well under 1 KiB); above it: 413. */
const READ_BODY_LIMIT = 4096;

/**
 * A conversation the request names, as the user sees it: the other user, or a group the user is a
 * member of (`since`: the seq it joined at; it sees only later messages).
 */
type Target = { peer: UserId; conv: ConversationId } | { group: string; conv: ConversationId; since: number };

function peerTarget(user: UserId, peer: string): Target {
  return { peer: peer as UserId, conv: peerConversation(user, peer as UserId) };
}

/**
 * The conversation of `q` (exactly one of peer and group), or null with the answer sent: 400 for
 * neither or both, 404 groups_off without a group store, 403 not_a_member for a group the user is not
 * in (an unknown group answers the same, so a non-member learns nothing).
 */
async function resolveTarget(groups: GroupStore | null | undefined, reply: Reply, user: UserId, q: { peer?: string; group?: string }): Promise<Target | null> {
  if ((q.peer === undefined) === (q.group === undefined)) {
    await reply.code(400).send({ error: 'bad_request', message: 'give either peer or group' });
    return null;
  }
  if (q.peer !== undefined) return peerTarget(user, q.peer);
  const gid = q.group!;
  if (!groups) {
    await reply.code(404).send({ error: 'groups_off', message: 'this cluster has no groups' });
    return null;
  }
  const since = await groups.memberSince(gid, user);
  if (since === null) {
    await reply.code(403).send({ error: 'not_a_member', message: `no group ${JSON.stringify(gid)} with you as a member` });
    return null;
  }
  return { group: gid, conv: groupConversation(gid), since };
}

/** `raw` as an integer in [min, max], `dflt` when absent, or null with a 400 sent. */
function intParam<D extends number | undefined>(reply: Reply, name: string, raw: string | undefined, min: number, max: number, dflt: D): number | D | null {
  if (raw === undefined) return dflt;
  const n = /^[0-9]{1,16}$/.test(raw) ? Number(raw) : NaN;
  if (Number.isSafeInteger(n) && n >= min && n <= max) return n;
  void reply.code(400).send({ error: 'bad_request', message: `${name} must be an integer from ${min} to ${max}: ${JSON.stringify(raw.slice(0, 32))}` });
  return null;
}

const message = (m: HistoryMessage) => ({ seq: m.seq, fp: m.fp, from: m.from, to: m.to, dataContent: m.dataContent, typeu: m.typeu, sentAt: m.sentAt });

/** One line of `GET /api/conversations`; a group's `last` before the user joined is not shown. */
function conversationRow(user: UserId, s: ConversationSummary, groups: Map<string, { name: string; since: number }>) {
  const ref = conversationRef(s.id, user);
  const counts = { unread: s.unread, lastSeq: s.lastSeq, readSeq: s.readSeq };
  if ('peer' in ref) return { peer: ref.peer, last: s.last && message(s.last), ...counts };
  const g = groups.get(ref.group);
  if (!g) return null; // left the group since the list was read
  return { group: ref.group, name: g.name, last: s.last && s.last.seq > g.since ? message(s.last) : null, ...counts };
}

/** Most groups listed among a user's conversations. */
const MAX_LISTED_GROUPS = 200;

/**
 * The user API over conversation history (issue 14, docs/history.md): `GET /api/history`,
 * `GET /api/conversations`, `POST /api/conversations/read`. Authenticated as the user, who only ever
 * names the other side of a conversation: the conversation id is built from the authenticated user,
 * so no request reaches another user's conversations.
 */
export function registerHistoryRoutes(api: FastifyInstance, d: HistoryRouteDeps): void {
  const quiet = new LogThrottle();
  /** The store and the user, or null with the answer sent (404 history_off, 401, 503). */
  const gate = async (req: FastifyRequest, reply: Reply): Promise<{ store: HistoryStore; user: UserId } | null> => {
    if (!d.history) {
      await reply.code(404).send({ error: 'history_off', message: 'conversation history is off (IM_HISTORY=off)' });
      return null;
    }
    const user = await authenticateUser(d.auth, req, reply);
    return user === null ? null : { store: d.history, user };
  };

  api.get<{ Querystring: { peer?: string; group?: string; before?: string; limit?: string } }>('/api/history', { schema: S.historySchema }, async (req, reply) => {
    const g = await gate(req, reply);
    if (!g) return reply;
    const limit = intParam(reply, 'limit', req.query.limit, 1, MAX_HISTORY_PAGE, DEFAULT_HISTORY_PAGE);
    if (limit === null) return reply;
    const before = intParam(reply, 'before', req.query.before, 0, Number.MAX_SAFE_INTEGER, undefined);
    if (before === null) return reply;
    const t = await resolveTarget(d.groups, reply, g.user, req.query);
    if (!t) return reply;
    const page = await g.store.before(t.conv, before === undefined ? { limit } : { before, limit });
    const visible = 'since' in t ? page.filter((m) => m.seq > t.since) : page;
    return { messages: visible.map(message) };
  });

  api.get<{ Querystring: { limit?: string } }>('/api/conversations', { schema: S.conversationsSchema }, async (req, reply) => {
    const g = await gate(req, reply);
    if (!g) return reply;
    const limit = intParam(reply, 'limit', req.query.limit, 1, MAX_HISTORY_PAGE, DEFAULT_HISTORY_PAGE);
    if (limit === null) return reply;
    const groups = await userGroups(g.user);
    const also = [...groups.keys()].map(groupConversation);
    const rows = await g.store.conversations(g.user, { limit, also });
    return { conversations: rows.map((s) => conversationRow(g.user, s, groups)).filter((r) => r !== null) };
  });

  api.get('/api/groups', { schema: S.userGroupsSchema }, async (req, reply) => {
    const user = await authenticateUser(d.auth, req, reply);
    if (user === null) return reply;
    if (!d.groups) return reply.code(404).send({ error: 'groups_off', message: 'this cluster has no groups' });
    const groups = await d.groups.groupsOf(user);
    return { groups: groups.map((x) => ({ id: x.id, name: x.name })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) };
  });

  /** The user's groups (at most MAX_LISTED_GROUPS) with their names and the seq the user joined at. */
  async function userGroups(user: UserId): Promise<Map<string, { name: string; since: number }>> {
    const out = new Map<string, { name: string; since: number }>();
    if (!d.groups) return out;
    const store = d.groups;
    const list = (await store.groupsOf(user)).slice(0, MAX_LISTED_GROUPS);
    const sinces = await Promise.all(list.map((x) => store.memberSince(x.id, user)));
    list.forEach((x, i) => {
      const since = sinces[i];
      if (since !== null && since !== undefined) out.set(x.id, { name: x.name, since });
    });
    return out;
  }

  api.post<{ Body: { peer?: string; group?: string; seq: number } }>('/api/conversations/read', { schema: S.readSchema, bodyLimit: READ_BODY_LIMIT }, async (req, reply) => {
    const g = await gate(req, reply);
    if (!g) return reply;
    const t = await resolveTarget(d.groups, reply, g.user, req.body);
    if (!t) return reply;
    const readSeq = await g.store.markRead(g.user, t.conv, req.body.seq);
    if ('group' in t) return { group: t.group, readSeq }; // no receipts in groups: nobody to tell one by one
    if (readSeq > 0 && t.peer !== SERVER_UID && t.peer !== g.user) await sendReceipt(t.peer, g.user, readSeq);
    return { peer: t.peer, readSeq };
  });

  /** A read receipt to `peer`'s session, if it is online (best effort: no ack, nothing stored). */
  async function sendReceipt(peer: UserId, reader: UserId, seq: number): Promise<void> {
    if (!d.bridge) return;
    try {
      const route = await liveRoute(d.routes, d.nodes, peer);
      if (!route) return;
      const packet = encodePacket(noticePacket(peer, { kind: 'read', reader, seq }));
      await d.bridge.send(route.nodeId, { type: 'notify', origin: d.bridge.nodeId, to: peer, feature: NOTICES_FEATURE, packet });
    } catch (err) {
      if (err instanceof UnroutableError) return; // the peer's node just left: nobody to tell
      const skipped = quiet.take();
      if (skipped >= 0) d.log.warn({ err, skipped }, 'read receipt not sent');
    }
  }
}
