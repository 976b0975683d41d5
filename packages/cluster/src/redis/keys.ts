import { InvalidArgumentError, type NodeId, type UserId } from '@switchboard/core';
import type { ConversationId } from '../history-store.js';
import { DEFAULT_KEY_PREFIX } from './defaults.js';

/**
 * Every Redis key of Switchboard, built from one prefix (`IM_KEY_PREFIX`, default `im`).
 * This module is the only place that spells key names (style guide §3).
 *
 * Layout (prefix `im`):
 * | key | type | slot | content |
 * | --- | --- | --- | --- |
 * | `im:{<user>}:route` | hash | user | `node`, `conn`, `flt` (firstLoginTime), `since` |
 * | `im:{<user>}:offline:q` | list | user | fps, oldest first |
 * | `im:{<user>}:offline:m` | hash | user | fp → `{"t":storedAt,"p":packet}` |
 * | `im:{<user>}:offline:budget` | string | user (as sender) | bytes the user stored in others' offline queues in the current window; expires with the window |
 * | `im:{<user>}:seen` | string | user | when the user was last online (ms since epoch); expires after the presence TTL |
 * | `im:{<user>}:convs` | zset | user | conversation id → last activity (sentAt, ms) of the user's conversations |
 * | `im:{h:<conv>}:meta` | hash | conversation | `seq` (last seq), `n:<user>` (messages the user sent), `r:<user>` (read marker `"<seq>:<own sent up to it>"`), `c:<user>` (delivery cursor), `lo` (oldest stored seq) and `lt` (its sentAt; `0`: not known) |
 * | `im:{h:<conv>}:msgs` | hash | conversation | seq → entry `[sentAt,"from","fp",to,typeu,dataContent]` (JSON; from and fp ASCII-only) |
 * | `im:{h:<conv>}:fps` | hash | conversation | fp (as the ASCII-only JSON string of the entry) → seq |
 * | `im:{grp:<gid>}:meta` | hash | group | `name`; exists exactly while the group does |
 * | `im:{grp:<gid>}:members` | hash | group | member user id → since (the history seq it joined at) |
 * | `im:{<user>}:groups` | set | user | ids of the user's groups: an index checked against the groups' members when read |
 * | `im:node:{<node>}:users` | set | node | `["<user>","<conn>"]` of every route claimed on that node |
 * | `im:registry:{nodes}:expiry` | zset | registry | node id → expiry time (ms, Redis clock) |
 * | `im:registry:{nodes}:records` | hash | registry | node id → NodeRecord JSON |
 * | `im:registry:{nodes}:drain` | set | registry | ids of nodes asked to drain |
 *
 * The `{…}` hash tags put all keys a Lua script touches in one hash slot, so the same scripts run
 * on Redis Cluster (architecture §3). Every key starts with `<prefix>:`, so `SCAN <prefix>:*`
 * finds all of them (test cleanup). The prefix must not contain `{` or `}`: it would move the hash tag.
 */
export interface RedisKeys {
  readonly prefix: string;
  /** Hash of the user's one route. */
  route(userId: UserId): string;
  /** List of the user's queued fps, oldest first. */
  offlineQueue(userId: UserId): string;
  /** Hash fp → stored message of the user's offline queue. */
  offlineMessages(userId: UserId): string;
  /** Counter of the bytes `sender` stored in offline queues in the current budget window. */
  offlineBudget(sender: UserId): string;
  /** String: when the user was last online (PresenceStore). */
  lastSeen(userId: UserId): string;
  /** Sorted set conversation id → last activity of the user's conversations (their history index). */
  historyIndex(userId: UserId): string;
  /** Hash of a conversation's counters: last seq, per user sent count, read marker and cursor. */
  historyMeta(conv: ConversationId): string;
  /** Hash seq → entry of a conversation's kept messages. */
  historyMessages(conv: ConversationId): string;
  /** Hash fp → seq of a conversation's kept messages (idempotent append). */
  historyFps(conv: ConversationId): string;
  /** Hash of a group's attributes (`name`); its existence is the group's. `gid` matches GROUP_ID_PATTERN (no braces). */
  groupMeta(gid: string): string;
  /** Hash member → since of a group. */
  groupMembers(gid: string): string;
  /** Set of the ids of the user's groups (an index that may hold stale entries; see RedisGroupStore). */
  userGroups(userId: UserId): string;
  /** Set of (user, conn) pairs claimed on a node: the per-node index used by purgeNode/countNode. */
  nodeUsers(nodeId: NodeId): string;
  /** Sorted set node id → expiry (ms since epoch, Redis clock). */
  nodeExpiry(): string;
  /** Hash node id → NodeRecord JSON. */
  nodeRecords(): string;
  /** Set of node ids asked to drain. */
  nodeDrain(): string;
}

/** Build the key set for `prefix`. Throws InvalidArgumentError for an empty prefix or one with braces. */
export function redisKeys(prefix: string = DEFAULT_KEY_PREFIX): RedisKeys {
  if (prefix === '' || /[{}]/.test(prefix)) {
    throw new InvalidArgumentError(`redis key prefix must be non-empty and free of '{' and '}': ${JSON.stringify(prefix)}`);
  }
  const registry = `${prefix}:registry:{nodes}`;
  return {
    prefix,
    route: (u) => `${prefix}:{${u}}:route`,
    offlineQueue: (u) => `${prefix}:{${u}}:offline:q`,
    offlineMessages: (u) => `${prefix}:{${u}}:offline:m`,
    offlineBudget: (u) => `${prefix}:{${u}}:offline:budget`,
    lastSeen: (u) => `${prefix}:{${u}}:seen`,
    historyIndex: (u) => `${prefix}:{${u}}:convs`,
    historyMeta: (c) => `${prefix}:{h:${c}}:meta`,
    historyMessages: (c) => `${prefix}:{h:${c}}:msgs`,
    historyFps: (c) => `${prefix}:{h:${c}}:fps`,
    groupMeta: (g) => `${prefix}:{grp:${g}}:meta`,
    groupMembers: (g) => `${prefix}:{grp:${g}}:members`,
    userGroups: (u) => `${prefix}:{${u}}:groups`,
    nodeUsers: (n) => `${prefix}:node:{${n}}:users`,
    nodeExpiry: () => `${registry}:expiry`,
    nodeRecords: () => `${registry}:records`,
    nodeDrain: () => `${registry}:drain`,
  };
}
