import type { Packet } from '@switchboard/protocol';

/**
 * Group addressing on the client (issue 15, docs/groups.md "On the wire"). A group message arrives
 * with `to` = the group's address (the server's `IM_GROUP_PREFIX` followed by the group id) and
 * `from` = that address, a colon and the sender. The sender is found from `to` alone, whatever the
 * prefix; the group id needs the prefix (`ClientOptions.groupPrefix`, the server's default `g:`).
 */

/** The server's default `IM_GROUP_PREFIX`; `ClientOptions.groupPrefix` must match the server's. */
export const DEFAULT_GROUP_PREFIX = 'g:';

/** A conversation the user API names: one with another user, or a group the user is a member of. */
export type ConversationRef = { peer: string } | { group: string };

/** What a data packet addressed to a group says about it. */
export interface GroupOrigin {
  /** The group id (`team`). */
  gid: string;
  /** The group's address as on the wire (`g:team`): the packet's `to`. */
  address: string;
  /** The user who sent it (`alice` of `g:team:alice`). */
  sender: string;
}

/** The group id of `address` (`g:team` → `team`); the address itself when it lacks `prefix`. */
export function groupIdOf(address: string, prefix: string): string {
  return address.startsWith(prefix) && address.length > prefix.length ? address.slice(prefix.length) : address;
}

/**
 * The group a data packet came through, or null for a message to this user (`to` = `uid`). The
 * sender is what follows `to + ':'` in `from`; a `from` without that form is taken as the sender.
 */
export function groupOrigin(p: Pick<Packet, 'from' | 'to'>, uid: string, prefix: string): GroupOrigin | null {
  if (p.to === uid) return null;
  const head = p.to + ':';
  const sender = p.from.startsWith(head) && p.from.length > head.length ? p.from.slice(head.length) : p.from;
  return { gid: groupIdOf(p.to, prefix), address: p.to, sender };
}

/**
 * The key a conversation is kept under by the SDK's ordering and the `MessageStore`: the other user
 * for a conversation with a user, the group's address (`g:team`) for a group. The two never clash:
 * the server refuses logins whose user id starts with the group prefix.
 */
export function conversationKeyOf(p: Pick<Packet, 'from' | 'to'>, uid: string): string {
  return p.to === uid ? p.from : p.to;
}

/** The user API's conversation for a key: `{ group }` for a group's address, else `{ peer }`. */
export function refOfKey(key: string, prefix: string): ConversationRef {
  return key.startsWith(prefix) && key.length > prefix.length ? { group: key.slice(prefix.length) } : { peer: key };
}

/** The key of a conversation the user API names. */
export function keyOfRef(ref: string | ConversationRef, prefix: string): string {
  if (typeof ref === 'string') return ref;
  return 'group' in ref ? prefix + ref.group : ref.peer;
}
