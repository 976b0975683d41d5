import type { FastifyInstance, FastifyReply } from 'fastify';
import {
  DEFAULT_GROUP_MAX_MEMBERS,
  DEFAULT_GROUP_PREFIX,
  groupConversation,
  memberIdProblem,
  type GroupStore, type HistoryStore, type MembershipOutcome,
} from '@switchboard/cluster';
import type { Logger, UserId } from '@switchboard/core';
import { logAdminAction } from '../http-metrics.js';
import * as S from '../schemas-groups.js';

/** What the group routes read of DispatchOptions. */
export interface GroupRouteDeps {
  /** Without it every group route answers 503. */
  groups?: GroupStore;
  /** Where new members' `since` comes from: the group conversation's lastSeq. Without it, 0. */
  history?: HistoryStore | null;
  /** `IM_GROUP_PREFIX`: member ids may not start with it. @default DEFAULT_GROUP_PREFIX */
  groupPrefix?: string;
  /** `IM_GROUP_MAX_MEMBERS` (the store enforces it): sizes the body limit and the 409 message. @default DEFAULT_GROUP_MAX_MEMBERS */
  groupMaxMembers?: number;
  /** Where each change is logged (`admin group.*`). */
  log: Logger;
}

/**
 * Largest request body of the routes that take a member list: the cap's worth of the longest ids
 * (128 UTF-16 units, each up to 6 bytes as a JSON escape), at least fastify's default 1 MiB.
 */
export function groupBodyLimit(maxMembers: number): number {
  return Math.max(1 << 20, maxMembers * 800);
}

type Reply = FastifyReply;
const notFound = (reply: Reply, message: string) => reply.code(404).send({ error: 'not_found', message });

/**
 * The group admin API (issue 15, docs/groups.md "Managing groups"): create or replace, add members,
 * remove one, delete, read. Registered behind the admin guard. Over the member cap is 409
 * `too_many_members` (whether from one request or with the members already in), since it depends on
 * the group's state; malformed input is 400, a body over `groupBodyLimit` 413.
 */
export function registerGroupRoutes(admin: FastifyInstance, d: GroupRouteDeps): void {
  const prefix = d.groupPrefix ?? DEFAULT_GROUP_PREFIX;
  const maxMembers = d.groupMaxMembers ?? DEFAULT_GROUP_MAX_MEMBERS;
  const bodyLimit = groupBodyLimit(maxMembers);
  /** The store, or a 503 sent. */
  const store = (reply: Reply): GroupStore | null => {
    if (d.groups) return d.groups;
    void reply.code(503).send({ error: 'unavailable', message: 'dispatch has no group store' });
    return null;
  };
  /** The members deduplicated, or a 400 sent. */
  const memberList = (reply: Reply, members: readonly string[]): UserId[] | null => {
    for (const [i, m] of members.entries()) {
      const problem = memberIdProblem(m, prefix);
      if (problem !== null) {
        void reply.code(400).send({ error: 'bad_request', message: `members[${i}] ${JSON.stringify(m)}: ${problem}` });
        return null;
      }
    }
    return [...new Set(members)] as UserId[];
  };
  const since = async (gid: string): Promise<number> => (d.history ? d.history.lastSeq(groupConversation(gid)) : 0);
  /**
   * New members start reading at their join: their read marker moves to `seq`, so what was said before
   * they joined is not counted unread (members already in keep theirs).
   */
  const markJoined = async (gid: string, members: readonly UserId[], seq: number, before: Map<UserId, number> | null): Promise<void> => {
    const history = d.history;
    if (!history || seq === 0) return;
    const conv = groupConversation(gid);
    const joined = members.filter((m) => !before?.has(m));
    for (let i = 0; i < joined.length; i += 100) await Promise.all(joined.slice(i, i + 100).map((m) => history.markRead(m, conv, seq)));
  };
  const refused = (reply: Reply, gid: string, outcome: Exclude<MembershipOutcome, 'ok'>) =>
    outcome === 'no_such_group'
      ? notFound(reply, `no group ${gid}`)
      : reply.code(409).send({ error: 'too_many_members', message: `group ${gid} would have more than ${maxMembers} members` });

  admin.put<{ Params: { gid: string }; Body: { name: string; members: string[] } }>('/admin/groups/:gid', { schema: S.putGroupSchema, bodyLimit }, async (req, reply) => {
    const groups = store(reply);
    const members = groups && memberList(reply, req.body.members);
    if (!groups || !members) return reply;
    const { gid } = req.params;
    const [before, seq] = await Promise.all([groups.members(gid), since(gid)]);
    const outcome = await groups.put(gid, { name: req.body.name, members }, seq);
    logAdminAction(d.log, req, 'group.put', { group: gid, members: members.length, result: outcome });
    if (outcome !== 'ok') return refused(reply, gid, outcome);
    await markJoined(gid, members, seq, before);
    return { id: gid, name: req.body.name, members: [...members].sort() };
  });

  admin.post<{ Params: { gid: string }; Body: { members: string[] } }>('/admin/groups/:gid/members', { schema: S.addMembersSchema, bodyLimit }, async (req, reply) => {
    const groups = store(reply);
    const members = groups && memberList(reply, req.body.members);
    if (!groups || !members) return reply;
    const { gid } = req.params;
    const [before, seq] = await Promise.all([groups.members(gid), since(gid)]);
    const outcome = await groups.addMembers(gid, members, seq);
    logAdminAction(d.log, req, 'group.add', { group: gid, members: members.length <= 20 ? members : members.length, result: outcome });
    if (outcome !== 'ok') return refused(reply, gid, outcome);
    await markJoined(gid, members, seq, before);
    const g = await groups.get(gid);
    return g ? { ...g, members: g.members.sort() } : notFound(reply, `group ${gid} was just deleted`);
  });

  admin.delete<{ Params: { gid: string; uid: string } }>('/admin/groups/:gid/members/:uid', { schema: S.removeMemberSchema }, async (req, reply) => {
    const groups = store(reply);
    if (!groups) return reply;
    const { gid, uid } = req.params;
    const removed = await groups.removeMember(gid, uid as UserId);
    logAdminAction(d.log, req, 'group.remove', { group: gid, userId: uid, result: removed ? 'ok' : 'not_a_member' });
    if (!removed) return notFound(reply, `${uid} is not a member of ${gid}`);
    return reply.code(204).send();
  });

  admin.delete<{ Params: { gid: string } }>('/admin/groups/:gid', { schema: S.deleteGroupSchema }, async (req, reply) => {
    const groups = store(reply);
    if (!groups) return reply;
    const deleted = await groups.delete(req.params.gid);
    logAdminAction(d.log, req, 'group.delete', { group: req.params.gid, result: deleted ? 'ok' : 'no_such_group' });
    if (!deleted) return notFound(reply, `no group ${req.params.gid}`);
    return reply.code(204).send();
  });

  admin.get<{ Params: { gid: string } }>('/admin/groups/:gid', { schema: S.getGroupSchema }, async (req, reply) => {
    const groups = store(reply);
    if (!groups) return reply;
    const g = await groups.get(req.params.gid);
    return g ? { ...g, members: g.members.sort() } : notFound(reply, `no group ${req.params.gid}`);
  });
}
