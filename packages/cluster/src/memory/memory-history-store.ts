import { getHeapStatistics } from 'node:v8';
import type { UserId } from '@switchboard/core';
import {
  historyArgs,
  sortByActivity,
  unreadCount,
  type AppendResult,
  type ConversationId,
  type ConversationSummary,
  type HistoryMessage,
  type HistoryStore,
  type HistoryStoreOptions,
} from '../history-store.js';
import { fpHash, MessageArena } from './message-arena.js';
import { MessageLog, messageBytes } from './message-log.js';

export { messageBytes };

/**
 * One conversation: its stored messages (the MessageLog it extends) and its counters, all in one
 * object. Under random pairs of users almost every message starts a conversation, so what a
 * conversation costs beyond its messages is what history costs: no maps or arrays until needed.
 */
class Conversation extends MessageLog {
  lastSeq = 0;
  /** `ttlMs` after the last append. */
  expiresAt = 0;
  /** Latest `sentAt` of an append (a duplicate's is its first write's): the activity the index sorts by. */
  lastAt = -Infinity;
  /** Messages each user sent (trimmed ones included): the first two senders in fields, any more (groups) in a map. */
  private sender0: UserId | null = null;
  private sent0 = 0;
  private sender1: UserId | null = null;
  private sent1 = 0;
  private sentMore: Map<UserId, number> | null = null;
  /** Users whose index lists this conversation (a peer conversation has two), so an append touches the index once per user. */
  private indexed0: UserId | null = null;
  private indexed1: UserId | null = null;
  private indexedMore: UserId[] | null = null;
  /** Read marker and the user's own messages with seq <= marker (see HistoryStore TSDoc); made on first use. */
  read: Map<UserId, { seq: number; ownUpTo: number }> | null = null;
  /** Made on first use. */
  cursors: Map<UserId, number> | null = null;
  /** Estimated bytes of the stored messages (`messageBytes`). */
  bytes = 0;
  /** Neighbours in the store's list of conversations with stored messages, least recent append first. */
  prev: Conversation | null = null;
  next: Conversation | null = null;
  constructor(
    readonly id: ConversationId,
    arena: MessageArena,
    slot: number,
  ) {
    super(arena, slot);
  }

  sentBy(user: UserId): number {
    if (user === this.sender0) return this.sent0;
    if (user === this.sender1) return this.sent1;
    return this.sentMore?.get(user) ?? 0;
  }

  countSent(user: UserId): void {
    if (this.sender0 === null || user === this.sender0) {
      this.sender0 = user;
      this.sent0++;
    } else if (this.sender1 === null || user === this.sender1) {
      this.sender1 = user;
      this.sent1++;
    } else {
      (this.sentMore ??= new Map()).set(user, (this.sentMore.get(user) ?? 0) + 1);
    }
  }

  isIndexedFor(user: UserId): boolean {
    return user === this.indexed0 || user === this.indexed1 || (this.indexedMore?.includes(user) ?? false);
  }

  setIndexed(user: UserId, on: boolean): void {
    if (on) {
      if (this.indexed0 === null) this.indexed0 = user;
      else if (this.indexed1 === null) this.indexed1 = user;
      else (this.indexedMore ??= []).push(user);
    } else if (user === this.indexed0) this.indexed0 = null;
    else if (user === this.indexed1) this.indexed1 = null;
    else if (this.indexedMore) this.indexedMore = this.indexedMore.filter((u) => u !== user);
  }
}

export interface MemoryHistoryStoreOptions extends HistoryStoreOptions {
  /**
   * Most bytes of messages kept in memory (estimated: `messageBytes`); past it the conversations whose
   * last append is the oldest lose their stored messages first. 0 or absent: DEFAULT_HISTORY_MEMORY_SHARE
   * of V8's heap limit. (`IM_HISTORY_MEMORY_BYTES` in standalone.)
   */
  maxBytes?: number;
  now?: () => number;
}

/** What `MemoryHistoryStore#memory` reports. */
export interface MemoryHistoryStats {
  /** Estimated bytes of the stored messages (`messageBytes` each): what `maxBytes` bounds. */
  bytes: number;
  maxBytes: number;
  /** Messages dropped to stay under `maxBytes` since the store was made. */
  evicted: number;
  /** The buffers that hold the messages, outside the V8 heap, and the bytes of live records in them. */
  arena: { chunkBytes: number; liveBytes: number; chunks: number };
}

/** Share of V8's heap limit the in-memory history may take when no byte limit is configured. */
export const DEFAULT_HISTORY_MEMORY_SHARE = 0.25;

/**
 * In-process HistoryStore: the standalone default and the unit-test twin of RedisHistoryStore. It
 * keeps the same counters and trims the same way, so both give the same answers (one contract
 * suite), including the documented unread over-estimate. Not durable; expired data is dropped when
 * next touched.
 */
export class MemoryHistoryStore implements HistoryStore {
  private convs = new Map<ConversationId, Conversation>();
  /** Every stored message, outside the V8 heap; records name their conversation by its slot. */
  private readonly arena = new MessageArena((slot, seq, from, to) => this.slots[slot]?.moved(seq, from, to));
  private slots: (Conversation | undefined)[] = [];
  private freeSlots: number[] = [];
  /**
   * user → their conversations; each one's activity is its `lastAt` (Redis keeps it as the zset score).
   * A list, not a set: a conversation is added once per user (`isIndexedFor`), and entries of
   * conversations that disappeared are dropped by `conversations` and `indexFor`.
   */
  private index = new Map<UserId, Conversation[]>();
  private readonly max: number;
  readonly ttlMs: number;
  private readonly now: () => number;
  private readonly maxBytes: number;
  /** Estimated bytes of every stored message (the sum of the conversations' `bytes`). */
  private bytes = 0;
  /** Messages dropped to stay under `maxBytes` since the store was made. */
  private evicted = 0;
  /** Conversations with stored messages, least recent append first (a list through their prev/next). */
  private oldest: Conversation | null = null;
  private newest: Conversation | null = null;

  constructor(opts: MemoryHistoryStoreOptions = {}) {
    ({ maxPerConversation: this.max, ttlMs: this.ttlMs } = historyArgs.options(opts));
    this.now = opts.now ?? Date.now;
    this.maxBytes = opts.maxBytes && opts.maxBytes > 0 ? opts.maxBytes : Math.floor(getHeapStatistics().heap_size_limit * DEFAULT_HISTORY_MEMORY_SHARE);
  }

  /**
   * Estimated bytes of the stored messages (what `maxBytes` bounds), the limit, messages evicted for it
   * so far, and the arena's buffers and live records (`switchboard_history_memory_bytes`, tests).
   */
  get memory(): MemoryHistoryStats {
    return { bytes: this.bytes, maxBytes: this.maxBytes, evicted: this.evicted, arena: this.arena.stats };
  }

  async append(conv: ConversationId, msg: Omit<HistoryMessage, 'seq'>, opts: { indexFor: readonly UserId[] }): Promise<AppendResult> {
    historyArgs.message(msg);
    const now = this.now();
    let c = this.live(conv);
    const hash = fpHash(msg.fp);
    const dupSeq = c?.seqOf(msg.fp, hash);
    const firstAt = dupSeq === undefined || !c ? undefined : this.visibleAt(c, dupSeq, now - this.ttlMs);
    // A first write that is already trimmed in effect (too old, or out of the count window) is not a duplicate.
    if (dupSeq !== undefined && firstAt !== undefined && c) {
      this.indexFor(opts.indexFor, c, firstAt, now);
      return { seq: dupSeq, duplicate: true, sentAt: firstAt };
    }
    if (!c) {
      const slot = this.freeSlots.pop() ?? this.slots.length;
      c = new Conversation(conv, this.arena, slot);
      this.slots[slot] = c;
      this.convs.set(conv, c);
    }
    const seq = ++c.lastSeq;
    const m = { seq, fp: msg.fp, from: msg.from, to: msg.to, dataContent: msg.dataContent, typeu: msg.typeu, sentAt: msg.sentAt };
    c.push(m, hash);
    c.countSent(msg.from);
    this.grow(c, messageBytes(m));
    this.trim(c, now);
    if (this.bytes > this.maxBytes) this.evict(c);
    c.expiresAt = now + this.ttlMs;
    this.indexFor(opts.indexFor, c, msg.sentAt, now);
    return { seq, duplicate: false, sentAt: msg.sentAt };
  }

  async before(conv: ConversationId, opts: { before?: number; limit: number }): Promise<HistoryMessage[]> {
    const limit = historyArgs.limit(opts.limit, this.max);
    const bound = opts.before === undefined ? undefined : historyArgs.seq('before', opts.before);
    const c = this.live(conv);
    if (!c || limit === 0) return [];
    const lo = this.keptFrom(c);
    const cutoff = this.now() - this.ttlMs;
    const out: HistoryMessage[] = [];
    for (let s = Math.min(c.lastSeq, (bound ?? Infinity) - 1); s >= lo && out.length < limit; s--) {
      const m = this.visible(c, s, cutoff);
      if (m) out.push(m);
    }
    return out.reverse();
  }

  async after(conv: ConversationId, opts: { after: number; limit: number }): Promise<HistoryMessage[]> {
    const limit = historyArgs.limit(opts.limit, this.max);
    const bound = historyArgs.seq('after', opts.after);
    const c = this.live(conv);
    if (!c || limit === 0) return [];
    const cutoff = this.now() - this.ttlMs;
    const out: HistoryMessage[] = [];
    for (let s = Math.max(bound + 1, this.keptFrom(c)); s <= c.lastSeq && out.length < limit; s++) {
      const m = this.visible(c, s, cutoff);
      if (m) out.push(m);
    }
    return out;
  }

  async lastSeq(conv: ConversationId): Promise<number> {
    return this.live(conv)?.lastSeq ?? 0;
  }

  async markRead(user: UserId, conv: ConversationId, seq: number): Promise<number> {
    historyArgs.seq('seq', seq);
    const c = this.live(conv);
    if (!c) return 0;
    const cur = c.read?.get(user) ?? { seq: 0, ownUpTo: 0 };
    const to = Math.min(seq, c.lastSeq);
    if (to <= cur.seq) return cur.seq;
    // The user's own messages on the cheaper exact side of the new marker (HistoryStore TSDoc).
    const own = (from: number, upTo: number): number => {
      let n = 0;
      for (let s = from; s <= upTo; s++) if (c.fromOf(s) === user) n++;
      return n;
    };
    const kept = this.keptFrom(c);
    const ownUpTo =
      cur.seq + 1 >= kept && to - cur.seq <= c.lastSeq - to
        ? cur.ownUpTo + own(cur.seq + 1, to)
        : c.sentBy(user) - own(Math.max(to + 1, kept), c.lastSeq);
    (c.read ??= new Map()).set(user, { seq: to, ownUpTo });
    return to;
  }

  async conversations(user: UserId, opts: { limit: number; also?: readonly ConversationId[] }): Promise<ConversationSummary[]> {
    const limit = historyArgs.limit(opts.limit, Number.MAX_SAFE_INTEGER);
    if (limit === 0) return [];
    const cutoff = this.now() - this.ttlMs;
    // Like ZREVRANGEBYSCORE: newest first, equal scores in reverse id order; conversations gone are dropped.
    const list = this.index.get(user) ?? [];
    const kept: Conversation[] = [];
    const scored: [ConversationId, number][] = [];
    for (const c of list) {
      if (this.live(c.id) !== c) continue; // expired or replaced by a newer conversation of the same id
      if (c.lastAt > cutoff) {
        kept.push(c);
        scored.push([c.id, c.lastAt]);
      } else {
        c.setIndexed(user, false); // a later append indexes it again
      }
    }
    if (kept.length > 0) this.index.set(user, kept);
    else this.index.delete(user);
    const indexed = scored.sort(([a, x], [b, y]) => y - x || (a < b ? 1 : a > b ? -1 : 0)).slice(0, limit);
    const also = new Set(opts.also ?? []);
    const candidates = new Map<ConversationId, number | undefined>(indexed);
    for (const id of also) if (!candidates.has(id)) candidates.set(id, undefined);
    const rows: { summary: ConversationSummary; activity: number }[] = [];
    for (const [id, at] of candidates) {
      const c = this.live(id);
      if (!c && !also.has(id)) continue;
      const lastSeq = c?.lastSeq ?? 0;
      const last = (c && this.visible(c, lastSeq, cutoff)) ?? null;
      const read = c?.read?.get(user) ?? { seq: 0, ownUpTo: 0 };
      const unread = unreadCount(lastSeq, c?.sentBy(user) ?? 0, read.seq, read.ownUpTo);
      rows.push({ summary: { id, last, lastSeq, readSeq: read.seq, unread }, activity: Math.max(at ?? -Infinity, last?.sentAt ?? -Infinity) });
    }
    return sortByActivity(rows).slice(0, limit);
  }

  async cursor(user: UserId, conv: ConversationId): Promise<number> {
    return this.live(conv)?.cursors?.get(user) ?? 0;
  }

  async advanceCursor(user: UserId, conv: ConversationId, seq: number): Promise<void> {
    historyArgs.seq('seq', seq);
    const c = this.live(conv);
    if (!c) return;
    const to = Math.min(seq, c.lastSeq);
    if (to > (c.cursors?.get(user) ?? 0)) (c.cursors ??= new Map()).set(user, to);
  }

  async close(): Promise<void> {}

  private live(conv: ConversationId): Conversation | undefined {
    const c = this.convs.get(conv);
    if (c && c.expiresAt <= this.now()) {
      this.convs.delete(conv);
      this.forget(c);
      c.releaseAll();
      this.slots[c.slot] = undefined;
      this.freeSlots.push(c.slot);
      return undefined;
    }
    return c;
  }

  /** The message at `seq` if a read may return it. */
  private visible(c: Conversation, seq: number, cutoff: number): HistoryMessage | undefined {
    return this.visibleAt(c, seq, cutoff) === undefined ? undefined : c.get(seq);
  }

  /** The `sentAt` of the message at `seq` if a read may return it. */
  private visibleAt(c: Conversation, seq: number, cutoff: number): number | undefined {
    const at = c.sentAtOf(seq);
    return at !== undefined && seq >= this.keptFrom(c) && at > cutoff ? at : undefined;
  }

  /** Lowest seq a read may return: stored and inside the count window. */
  private keptFrom(c: Conversation): number {
    return Math.max(c.lo, c.lastSeq - this.max + 1, 1);
  }

  /** Drop the oldest messages beyond the count or older than ttl (never the newest), with their fps. */
  private trim(c: Conversation, now: number): void {
    const cutoff = now - this.ttlMs;
    for (let s = c.oldestSeq(); s !== undefined && s < c.lastSeq; s = c.oldestSeq()) {
      if (c.lastSeq - s + 1 <= this.max && c.sentAtOf(s)! > cutoff) break;
      this.dropOldest(c);
    }
  }

  private dropOldest(c: Conversation): void {
    if (c.size > 0) this.shrink(c, c.dropOldest());
  }

  private evictOldest(c: Conversation): void {
    this.dropOldest(c);
    this.evicted++;
  }

  /** `c` stored `bytes` more with its latest append: it moves to the newest end of the list. */
  private grow(c: Conversation, bytes: number): void {
    c.bytes += bytes;
    this.bytes += bytes;
    if (this.newest === c) return;
    this.unlink(c);
    c.prev = this.newest;
    if (this.newest) this.newest.next = c;
    else this.oldest = c;
    this.newest = c;
  }

  /** `c` stores `bytes` less; a conversation without messages leaves the list. */
  private shrink(c: Conversation, bytes: number): void {
    c.bytes -= bytes;
    this.bytes -= bytes;
    if (c.size === 0) this.unlink(c);
  }

  /** `c` is gone (expired): its messages no longer count. */
  private forget(c: Conversation): void {
    this.bytes -= c.bytes;
    c.bytes = 0;
    this.unlink(c);
  }

  private unlink(c: Conversation): void {
    if (c.prev) c.prev.next = c.next;
    else if (this.oldest === c) this.oldest = c.next;
    if (c.next) c.next.prev = c.prev;
    else if (this.newest === c) this.newest = c.prev;
    c.prev = c.next = null;
  }

  /**
   * Over the byte limit: the conversations whose last append is the oldest lose their stored messages,
   * oldest first, until the store is under it. `keep` (the one just appended to) keeps its newest message.
   */
  private evict(keep: Conversation): void {
    for (let c = this.oldest; c && this.bytes > this.maxBytes; c = this.oldest) {
      if (c === keep) {
        while (c.size > 1 && this.bytes > this.maxBytes) this.evictOldest(c);
        return;
      }
      while (c.size > 0 && this.bytes > this.maxBytes) this.evictOldest(c);
      if (c.size > 0) return;
    }
  }

  /**
   * The conversation's activity moves to `at`, and each user's index holds it (touched once per user
   * and conversation). Stale index entries are dropped by `conversations`, and when a user's list
   * doubles, so that conversations that come and go never grow it without bound.
   */
  private indexFor(users: readonly UserId[], c: Conversation, at: number, now: number): void {
    if (at > c.lastAt) c.lastAt = at;
    if (at <= now - this.ttlMs) return;
    for (let i = 0; i < users.length; i++) {
      const u = users[i]!;
      if (c.isIndexedFor(u)) continue;
      c.setIndexed(u, true);
      let list = this.index.get(u);
      if (!list) {
        list = [];
        this.index.set(u, list);
      }
      list.push(c);
      if (list.length >= 64 && (list.length & (list.length - 1)) === 0) this.index.set(u, list.filter((x) => this.slots[x.slot] === x));
    }
  }
}
