import { InvalidArgumentError, type UserId } from '@switchboard/core';

/**
 * A conversation's id: `p:<length of a>:<a><b>` for the pair of users a < b (so both sides name the
 * same conversation), `g:<gid>` for a group. Built only by `peerConversation` / `groupConversation`.
 */
export type ConversationId = string & { __brand: 'ConversationId' };

/** A conversation as one of its users sees it: the other user, or the group. */
export type ConversationRef = { peer: UserId } | { group: string };

/** The conversation of two users (the same whichever comes first). */
export function peerConversation(u1: UserId, u2: UserId): ConversationId {
  const [a, b] = u1 < u2 ? [u1, u2] : [u2, u1];
  return `p:${a.length}:${a}${b}` as ConversationId;
}

/** A group's conversation. */
export function groupConversation(gid: string): ConversationId {
  return `g:${gid}` as ConversationId;
}

/**
 * The users of a peer conversation, or the group of a group conversation. Throws InvalidArgumentError
 * on a malformed id, including a peer id `peerConversation` would not build (users out of order, a
 * length with leading zeros): one pair of users has exactly one id.
 */
export function parseConversation(id: ConversationId): { users: [UserId, UserId] } | { group: string } {
  if (id.startsWith('g:')) return { group: id.slice(2) };
  const m = /^p:(\d{1,9}):/.exec(id);
  if (m) {
    const len = Number(m[1]);
    const rest = id.slice(m[0].length);
    if (len <= rest.length) {
      const users: [UserId, UserId] = [rest.slice(0, len) as UserId, rest.slice(len) as UserId];
      if (peerConversation(users[0], users[1]) === id) return { users };
    }
  }
  throw new InvalidArgumentError(`not a conversation id: ${JSON.stringify(id)}`);
}

/** How `user` sees conversation `id`. Throws InvalidArgumentError when `user` is not one of a peer conversation's two users. */
export function conversationRef(id: ConversationId, user: UserId): ConversationRef {
  const c = parseConversation(id);
  if ('group' in c) return { group: c.group };
  if (c.users[0] === user) return { peer: c.users[1] };
  if (c.users[1] === user) return { peer: c.users[0] };
  throw new InvalidArgumentError(`user ${JSON.stringify(user)} is not in conversation ${JSON.stringify(id)}`);
}

/** One message of a conversation's history. */
export interface HistoryMessage {
  /** 1, 2, 3 … per conversation, gap-free, assigned by `append`. */
  seq: number;
  fp: string;
  from: UserId;
  /** The receiver's user id, or `g:<gid>`-style group address as the sender wrote it. */
  to: string;
  dataContent: string;
  typeu: number;
  /** When the sender's gateway accepted it (ms since epoch). */
  sentAt: number;
}

/** Result of `HistoryStore.append`. */
export interface AppendResult {
  seq: number;
  /** True when the fp was already in the conversation: `seq` and `sentAt` are the first write's. */
  duplicate: boolean;
  sentAt: number;
}

/** One line of a user's conversation list. */
export interface ConversationSummary {
  id: ConversationId;
  /** The newest message still kept (null when every message expired). */
  last: HistoryMessage | null;
  /** Highest seq assigned in the conversation. */
  lastSeq: number;
  /** The user's read marker (0: nothing read). */
  readSeq: number;
  /** Messages after the read marker that the user did not send. */
  unread: number;
}

/** Defaults of every history store (`IM_HISTORY_MAX_PER_CONVERSATION`, `IM_HISTORY_TTL_DAYS`). */
export const DEFAULT_HISTORY_MAX_PER_CONVERSATION = 10_000;
export const DEFAULT_HISTORY_TTL_DAYS = 30;
export const DEFAULT_HISTORY_TTL_MS = DEFAULT_HISTORY_TTL_DAYS * 24 * 3600 * 1000;

export interface HistoryStoreOptions {
  /** Most messages kept per conversation; older ones are dropped as new ones arrive. @default 10000 */
  maxPerConversation?: number;
  /** A message is dropped this long after `sentAt`; a conversation idle this long disappears. @default 30 days */
  ttlMs?: number;
}

/**
 * Every conversation's messages in order (issue: history, roaming, read markers). A conversation is
 * a pair of users or a group. `seq` is assigned atomically across the cluster: two gateways appending
 * to one conversation at once get distinct, consecutive seqs. Keys of one conversation share a hash slot.
 *
 * Semantics every implementation keeps (one contract suite, test/contract/history-store.contract.ts):
 * - `append` is idempotent by fp within a conversation while the first write is kept: a resend returns
 *   the first write's seq and sentAt with `duplicate: true` and writes nothing. The fp index is dropped
 *   with its message, so an fp appended again after its message was trimmed (count or age) is a new
 *   message with a new seq. It resolves once the write is durable (Redis: acknowledged).
 * - The messages kept are those with seq in (lastSeq − maxPerConversation, lastSeq] and
 *   `sentAt` > now − ttlMs; reads never return others, even before their storage is reclaimed.
 *   `lastSeq`, read markers, cursors and unread counts are not changed by trimming.
 * - A conversation with no append for `ttlMs` disappears with its markers and cursors: its next
 *   append gets seq 1 again.
 * - Read markers and cursors only move forward and never past `lastSeq`.
 * - unread(user) = messages with seq > readSeq whose sender is not `user`, trimmed ones included.
 *   Kept as counters (messages per sender; per marker, the user's own messages up to it), which
 *   `markRead` updates by looking at the stored messages between the old and the new marker or after
 *   the new one, whichever span is shorter and fully stored: O(1) per message amortized over a
 *   reader's markers; at most maxPerConversation messages for one call (a reader who fell out of the
 *   kept window). One approximation: when the new marker itself is below the kept window, own
 *   messages between it and the window are no longer known to be the user's and count as unread (an
 *   over-estimate by at most that many, never an under-estimate). Every other case is exact.
 * - Arguments: a seq, `before` or `after` that is not a non-negative integer, a `limit` that is NaN or
 *   negative, an empty fp or a `sentAt` that is not a non-negative integer is an InvalidArgumentError.
 *   A history `limit` above `maxPerConversation` is read as `maxPerConversation` (no more are kept), so
 *   a huge limit never allocates more than one conversation's kept messages (callers facing clients
 *   clamp lower). `conversations` reads at most `limit` index entries plus `also`.
 * - Redis implementations turn every storage failure into UnavailableError.
 */
export interface HistoryStore {
  /** How long a message is kept after its `sentAt`, and how long a conversation lasts without an append. */
  readonly ttlMs: number;
  /**
   * True when a conversation may be forgotten long before `ttlMs` (the standalone's memory bound), so
   * that its next message starts again at seq 1 right after others. Such a store lives in one process,
   * whose one clock stamps every `sentAt`. @default false
   */
  readonly forgetsEarly?: boolean;
  /**
   * Append `msg` and give it the next seq. `indexFor`: users whose conversation list gains (or
   * refreshes) this conversation, with `msg.sentAt` as its activity time: both users of a peer
   * conversation; none for groups, whose members find them through the group store. A duplicate
   * refreshes the same index entries (with the first write's sentAt), so a resend repairs an index
   * update lost to a crash between the two writes.
   */
  append(conv: ConversationId, msg: Omit<HistoryMessage, 'seq'>, opts: { indexFor: readonly UserId[] }): Promise<AppendResult>;
  /**
   * `append` done at once, for a store that lives in the process (the memory store): the same result,
   * thrown instead of rejected, without the promise and the turns of the microtask queue that `append`
   * costs every message. Absent on stores that wait on a server. The gateway calls it instead of `append`
   * when it is there, so a wrapper that changes `append` must change or hide this one too.
   */
  appendNow?(conv: ConversationId, msg: Omit<HistoryMessage, 'seq'>, opts: { indexFor: readonly UserId[] }): AppendResult;
  /** The newest `limit` messages with seq < `before` (default: all), oldest first. */
  before(conv: ConversationId, opts: { before?: number; limit: number }): Promise<HistoryMessage[]>;
  /** The oldest `limit` messages with seq > `after`, oldest first (catch-up). */
  after(conv: ConversationId, opts: { after: number; limit: number }): Promise<HistoryMessage[]>;
  /** Highest seq assigned (0 for an empty conversation). */
  lastSeq(conv: ConversationId): Promise<number>;
  /** Move `user`'s read marker to `seq` (clamped to lastSeq; never backwards). Resolves with the marker now. */
  markRead(user: UserId, conv: ConversationId, seq: number): Promise<number>;
  /**
   * `user`'s conversations, newest activity first: those appended with `indexFor` including the user
   * (dropped once the conversation disappeared), plus `also` (e.g. the user's groups, listed even when
   * empty). At most `limit`. Activity is the latest `sentAt` appended for the user's index, else the
   * newest kept message's `sentAt`; conversations with neither (empty `also` ones) come last, by id.
   */
  conversations(user: UserId, opts: { limit: number; also?: readonly ConversationId[] }): Promise<ConversationSummary[]>;
  /** `user`'s delivery cursor in `conv` (highest seq delivered and acked; 0 when none): group catch-up. */
  cursor(user: UserId, conv: ConversationId): Promise<number>;
  /** Move the cursor to `seq` (clamped to lastSeq; never backwards). */
  advanceCursor(user: UserId, conv: ConversationId, seq: number): Promise<void>;
  close(): Promise<void>;
}

/** Validation shared by the implementations (not part of the package's API). */
export const historyArgs = {
  /** A seq-like argument: a non-negative integer. */
  seq(name: string, v: number): number {
    if (!Number.isSafeInteger(v) || v < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer: ${String(v)}`);
    return v;
  },
  /** A history read's limit: not NaN, not negative; floored and capped at `max`. */
  limit(v: number, max: number): number {
    if (typeof v !== 'number' || Number.isNaN(v) || v < 0) throw new InvalidArgumentError(`limit must be a non-negative number: ${String(v)}`);
    return Math.min(Math.floor(v), max);
  },
  /** The fields of a message to append. */
  message(msg: Omit<HistoryMessage, 'seq'>): void {
    if (typeof msg.fp !== 'string' || msg.fp === '') throw new InvalidArgumentError('history append: fp must be a non-empty string');
    if (typeof msg.from !== 'string' || typeof msg.to !== 'string' || typeof msg.dataContent !== 'string') {
      throw new InvalidArgumentError('history append: from, to and dataContent must be strings');
    }
    if (!Number.isSafeInteger(msg.sentAt) || msg.sentAt < 0) throw new InvalidArgumentError(`history append: sentAt must be a non-negative integer: ${String(msg.sentAt)}`);
    if (!Number.isFinite(msg.typeu)) throw new InvalidArgumentError(`history append: typeu must be a finite number: ${String(msg.typeu)}`);
  },
  /** Store options, with defaults. */
  options(opts: HistoryStoreOptions): Required<HistoryStoreOptions> {
    const maxPerConversation = opts.maxPerConversation ?? DEFAULT_HISTORY_MAX_PER_CONVERSATION;
    const ttlMs = Math.ceil(opts.ttlMs ?? DEFAULT_HISTORY_TTL_MS);
    if (!Number.isSafeInteger(maxPerConversation) || maxPerConversation < 1) throw new InvalidArgumentError(`history maxPerConversation must be a positive integer: ${String(maxPerConversation)}`);
    if (!(ttlMs >= 1) || !Number.isSafeInteger(ttlMs)) throw new InvalidArgumentError(`history ttlMs must be a positive number: ${String(opts.ttlMs)}`);
    return { maxPerConversation, ttlMs };
  },
};

/**
 * `user`'s unread count from a conversation's counters: messages after the marker minus the user's own
 * among them. `sentBy`: messages the user ever sent; `ownUpTo`: those with seq <= readSeq, as recorded
 * by markRead. Never negative.
 */
export function unreadCount(lastSeq: number, sentBy: number, readSeq: number, ownUpTo: number): number {
  return Math.max(0, lastSeq - sentBy - (readSeq - ownUpTo));
}

/**
 * Order conversation summaries as `HistoryStore.conversations` documents: latest activity first,
 * those without any (activity -Infinity: empty `also` ones) last; ties by id.
 */
export function sortByActivity(rows: { summary: ConversationSummary; activity: number }[]): ConversationSummary[] {
  return rows
    .sort((a, b) => {
      if (a.activity !== b.activity) return b.activity > a.activity ? 1 : -1;
      return a.summary.id < b.summary.id ? -1 : a.summary.id > b.summary.id ? 1 : 0;
    })
    .map((r) => r.summary);
}
