import { InvalidArgumentError, type UserId } from '@switchboard/core';
import { MAX_USER_ID_LENGTH, SERVER_UID, UNSET_UID } from '@switchboard/protocol';

/** A group as the admin API shows it. */
export interface GroupInfo {
  id: string;
  name: string;
  /** Members in no particular order. */
  members: UserId[];
}

/** Defaults (`IM_GROUP_MAX_MEMBERS`, `IM_GROUP_PREFIX`). */
export const DEFAULT_GROUP_MAX_MEMBERS = 2000;
export const DEFAULT_GROUP_PREFIX = 'g:';
/** Group ids: 1–64 of letters, digits, `_`, `-`, `.` (no `:`, so a group sender address `g:<gid>:<uid>` splits unambiguously). */
export const GROUP_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
/** Longest group name, characters (Unicode code points, as JSON Schema's maxLength counts them). */
export const MAX_GROUP_NAME_LENGTH = 200;

/** Result of a membership change that may exceed the member cap. */
export type MembershipOutcome = 'ok' | 'no_such_group' | 'too_many_members';

/** Options of every GroupStore. */
export interface GroupStoreOptions {
  /** Most members of one group (`IM_GROUP_MAX_MEMBERS`). @default DEFAULT_GROUP_MAX_MEMBERS (2000) */
  maxMembers?: number;
}

/**
 * Group membership (issue 15). Each member carries the history seq it joined at (`since`): it
 * receives and reads the group's messages with seq > since. Changes apply from the next message.
 * Implementations: memory (standalone) and Redis (one hash per group, one set of groups per user),
 * one contract suite (test/contract/group-store.contract.ts).
 *
 * Semantics every implementation keeps:
 * - A group exists from its first `put` until `delete`, even with no members (removing the last
 *   member does not delete it).
 * - Member lists are sets: duplicates in an argument count once. A change is all or nothing: when it
 *   would leave the group with more than `maxMembers` members it answers `too_many_members` and
 *   changes nothing. The cap holds under concurrency (two racing `addMembers` cannot both slip under
 *   it). Members already in never count against a change: re-adding them is `ok` even in a group
 *   over a cap that was lowered since.
 * - Arguments of `put` and `addMembers`: a gid not matching GROUP_ID_PATTERN, a name that is empty or
 *   longer than MAX_GROUP_NAME_LENGTH, a member id that `memberIdProblem` refuses, or a `since` that is
 *   not a non-negative integer is an InvalidArgumentError (nothing written). The other methods answer
 *   a gid not matching the pattern as a group that does not exist: their gids come from clients'
 *   packet addresses.
 * - Redis implementations turn every storage failure into UnavailableError.
 */
export interface GroupStore {
  /**
   * Create the group or replace its name and members. Members already in keep their `since`; new
   * ones get `since`; members not listed are removed. `ok` or `too_many_members` (never `no_such_group`).
   */
  put(gid: string, group: { name: string; members: readonly UserId[] }, since: number): Promise<MembershipOutcome>;
  /** Add members (those already in keep their `since`). `no_such_group` when the group does not exist, whatever the members. */
  addMembers(gid: string, members: readonly UserId[], since: number): Promise<MembershipOutcome>;
  /** Remove one member. False when it was not a member (or the group does not exist). */
  removeMember(gid: string, uid: UserId): Promise<boolean>;
  /** Delete the group. False when it did not exist. */
  delete(gid: string): Promise<boolean>;
  get(gid: string): Promise<GroupInfo | null>;
  /** Every member with its join seq, or null when the group does not exist. */
  members(gid: string): Promise<Map<UserId, number> | null>;
  /**
   * The group's history started again at seq 1 (it expired after a history TTL without messages):
   * every member's `since` becomes 0, so members who joined in the old history receive the new one's
   * messages. Nothing happens for a group that does not exist.
   */
  restartJoins(gid: string): Promise<void>;
  /** The seq `uid` joined `gid` at, or null when it is not a member (or the group does not exist). */
  memberSince(gid: string, uid: UserId): Promise<number | null>;
  /**
   * The groups `uid` is a member of (id and name), in no particular order: exactly those whose
   * members include `uid` when the call reads them. (The Redis per-user index may lag a change or a
   * crash; its entries are checked against the groups, so it never adds or loses a group here.)
   */
  groupsOf(uid: UserId): Promise<Array<{ id: string; name: string }>>;
  close(): Promise<void>;
}

/**
 * Why `uid` cannot be a group member, or null when it can: a member id is one a client can log in
 * with (1–MAX_USER_ID_LENGTH UTF-16 units, not the server's "0" nor the unset "-1") and, when the
 * group address prefix is given, does not start with it (such a user could never be addressed).
 */
export function memberIdProblem(uid: unknown, groupPrefix?: string): string | null {
  if (typeof uid !== 'string' || uid.length === 0) return 'must be a non-empty string';
  if (uid.length > MAX_USER_ID_LENGTH) return `must be at most ${MAX_USER_ID_LENGTH} characters`;
  if (uid === SERVER_UID || uid === UNSET_UID) return `"${uid}" is reserved`;
  if (groupPrefix !== undefined && uid.startsWith(groupPrefix)) return `must not start with the group prefix "${groupPrefix}"`;
  return null;
}

/** Validation shared by the implementations (not part of the package's API). */
export const groupArgs = {
  /** Store options, with defaults. */
  options(opts: GroupStoreOptions): Required<GroupStoreOptions> {
    const maxMembers = opts.maxMembers ?? DEFAULT_GROUP_MAX_MEMBERS;
    if (!Number.isSafeInteger(maxMembers) || maxMembers < 1) throw new InvalidArgumentError(`group maxMembers must be a positive integer: ${String(maxMembers)}`);
    return { maxMembers };
  },
  isGid(gid: unknown): gid is string {
    return typeof gid === 'string' && GROUP_ID_PATTERN.test(gid);
  },
  gid(gid: string): string {
    if (!groupArgs.isGid(gid)) throw new InvalidArgumentError(`group id must match ${String(GROUP_ID_PATTERN)}: ${JSON.stringify(gid)}`);
    return gid;
  },
  name(name: string): string {
    const len = typeof name === 'string' ? [...name].length : 0;
    if (len < 1 || len > MAX_GROUP_NAME_LENGTH) throw new InvalidArgumentError(`group name must be 1–${MAX_GROUP_NAME_LENGTH} characters`);
    return name;
  },
  /** The members, validated and deduplicated (first occurrence order). */
  members(members: readonly UserId[]): UserId[] {
    if (!Array.isArray(members)) throw new InvalidArgumentError('group members must be an array');
    for (const m of members) {
      const problem = memberIdProblem(m);
      if (problem !== null) throw new InvalidArgumentError(`group member ${JSON.stringify(m)} ${problem}`);
    }
    return [...new Set(members)];
  },
  since(since: number): number {
    if (!Number.isSafeInteger(since) || since < 0) throw new InvalidArgumentError(`since must be a non-negative integer: ${String(since)}`);
    return since;
  },
  /** The arguments of `put`: its members, validated and deduplicated. */
  put(gid: string, group: { name: string; members: readonly UserId[] }, since: number): UserId[] {
    groupArgs.gid(gid);
    groupArgs.name(group.name);
    return groupArgs.add(gid, group.members, since);
  },
  /** The arguments of `addMembers`: its members, validated and deduplicated. */
  add(gid: string, members: readonly UserId[], since: number): UserId[] {
    groupArgs.gid(gid);
    groupArgs.since(since);
    return groupArgs.members(members);
  },
};
