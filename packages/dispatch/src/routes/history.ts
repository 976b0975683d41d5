import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  conversationRef,
  peerConversation,
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
  log: Logger;
}

/** The client feature a session announces to get NOTICE packets (read receipts). */
export const NOTICES_FEATURE = 'notices';

type Reply = FastifyReply;

/** Largest body of `POST /api/conversations/read` (`{peer, seq}` needs well under 1 KiB); above it: 413. */
const READ_BODY_LIMIT = 4096;

/**
 * A conversation the request names, as the user sees it. Only `peer` today; groups (a later issue)
 * add `{ group }` here, resolved after a membership check, and a branch in `conversationRow`.
 */
type Target = { peer: UserId; conv: ConversationId };

function peerTarget(user: UserId, peer: string): Target {
  return { peer: peer as UserId, conv: peerConversation(user, peer as UserId) };
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

/** One line of `GET /api/conversations`, or null for a conversation this API does not list yet (groups). */
function conversationRow(user: UserId, s: ConversationSummary) {
  const ref = conversationRef(s.id, user);
  if (!('peer' in ref)) return null;
  return { peer: ref.peer, last: s.last && message(s.last), unread: s.unread, lastSeq: s.lastSeq, readSeq: s.readSeq };
}

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

  api.get<{ Querystring: { peer: string; before?: string; limit?: string } }>('/api/history', { schema: S.historySchema }, async (req, reply) => {
    const g = await gate(req, reply);
    if (!g) return reply;
    const limit = intParam(reply, 'limit', req.query.limit, 1, MAX_HISTORY_PAGE, DEFAULT_HISTORY_PAGE);
    if (limit === null) return reply;
    const before = intParam(reply, 'before', req.query.before, 0, Number.MAX_SAFE_INTEGER, undefined);
    if (before === null) return reply;
    const t = peerTarget(g.user, req.query.peer);
    const page = await g.store.before(t.conv, before === undefined ? { limit } : { before, limit });
    return { messages: page.map(message) };
  });

  api.get<{ Querystring: { limit?: string } }>('/api/conversations', { schema: S.conversationsSchema }, async (req, reply) => {
    const g = await gate(req, reply);
    if (!g) return reply;
    const limit = intParam(reply, 'limit', req.query.limit, 1, MAX_HISTORY_PAGE, DEFAULT_HISTORY_PAGE);
    if (limit === null) return reply;
    const rows = await g.store.conversations(g.user, { limit });
    return { conversations: rows.map((s) => conversationRow(g.user, s)).filter((r) => r !== null) };
  });

  api.post<{ Body: { peer: string; seq: number } }>('/api/conversations/read', { schema: S.readSchema, bodyLimit: READ_BODY_LIMIT }, async (req, reply) => {
    const g = await gate(req, reply);
    if (!g) return reply;
    const t = peerTarget(g.user, req.body.peer);
    const readSeq = await g.store.markRead(g.user, t.conv, req.body.seq);
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
