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
 * What a conversation is counted as beyond its messages: the object, its id and map entry, its log's
 * arrays and its place in the activity list (measured ≈ 440 bytes on Node 20; rounded up).
 */
export const CONVERSATION_BYTES = 480;
/** Counted per user whose conversation index lists a conversation (measured ≈ 200 bytes for a user with one). */
export const INDEX_ENTRY_BYTES = 220;
/** Counted per read marker, delivery cursor or sender count past the first two (measured ≈ 225 bytes for a conversation's first read marker). */
export const COUNTER_BYTES = 220;
/** At most this many expired conversations are dropped per append (the rest on the next ones, or when touched). */
const SWEEP_MAX = 8;

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
  /** Counted bytes: the conversation itself, its index entries and counters, and its stored messages (`messageBytes`). */
  bytes = 0;
  /** Neighbours in the store's list of live conversations, least recent append first. */
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

  /** Count a message of `user`'s; true when that took a new map entry (a third sender or more). */
  countSent(user: UserId): boolean {
    if (this.sender0 === null || user === this.sender0) {
      this.sender0 = user;
      this.sent0++;
      return false;
    }
    if (this.sender1 === null || user === this.sender1) {
      this.sender1 = user;
      this.sent1++;
      return false;
    }
    const n = (this.sentMore ??= new Map()).get(user);
    this.sentMore.set(user, (n ?? 0) + 1);
    return n === undefined;
  }

  /** The users whose index lists this conversation. */
  indexedUsers(): UserId[] {
    const out: UserId[] = [];
    if (this.indexed0 !== null) out.push(this.indexed0);
    if (this.indexed1 !== null) out.push(this.indexed1);
    if (this.indexedMore) out.push(...this.indexedMore);
    return out;
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

/** One user's conversation index (see `MemoryHistoryStore#index`). */
interface UserIndex {
  list: Conversation[];
  /** Entries of conversations dropped since the list was last rebuilt. */
  dead: number;
}

export interface MemoryHistoryStoreOptions extends HistoryStoreOptions {
  /**
   * Most bytes the history keeps in memory, counted as `messageBytes` per message plus
   * CONVERSATION_BYTES per conversation, INDEX_ENTRY_BYTES per index entry and COUNTER_BYTES per read
   * marker, cursor or extra sender count. Past it the conversation whose last append is the oldest
   * loses its stored messages, oldest first, and then is forgotten as if it had expired. 0 or absent:
   * DEFAULT_HISTORY_MEMORY_SHARE of V8's heap limit. (`IM_HISTORY_MEMORY_BYTES` in standalone.)
   */
  maxBytes?: number;
  now?: () => number;
}

/** What `MemoryHistoryStore#memory` reports. */
export interface MemoryHistoryStats {
  /** Counted bytes of the conversations and their stored messages: what `maxBytes` bounds. */
  bytes: number;
  maxBytes: number;
  /** Messages dropped to stay under `maxBytes` since the store was made. */
  evicted: number;
  /** Conversations held (expired ones not yet dropped included). */
  conversations: number;
  /** Conversations forgotten before their time to stay under `maxBytes` since the store was made. */
  forgotten: number;
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
   * A list, not a set: a conversation is added once per user (`isIndexedFor`). Entries of dropped
   * conversations are counted as `dead` and filtered out once they are half the list, so that a list
   * never holds more than twice its live entries and a user without conversations has none.
   */
  private index = new Map<UserId, UserIndex>();
  private readonly max: number;
  readonly ttlMs: number;
  /** The memory bound forgets the least recently active conversations (HistoryStore.forgetsEarly). */
  readonly forgetsEarly = true;
  private readonly now: () => number;
  private readonly maxBytes: number;
  /** Counted bytes of every conversation (the sum of their `bytes`). */
  private bytes = 0;
  /** Messages dropped to stay under `maxBytes` since the store was made. */
  private evicted = 0;
  /** Conversations dropped to stay under `maxBytes` since the store was made. */
  private forgotten = 0;
  /** Every live conversation, least recent append first (a list through their prev/next): what expires and is evicted first. */
  private oldest: Conversation | null = null;
  private newest: Conversation | null = null;

  constructor(opts: MemoryHistoryStoreOptions = {}) {
    ({ maxPerConversation: this.max, ttlMs: this.ttlMs } = historyArgs.options(opts));
    this.now = opts.now ?? Date.now;
    this.maxBytes = opts.maxBytes && opts.maxBytes > 0 ? opts.maxBytes : Math.floor(getHeapStatistics().heap_size_limit * DEFAULT_HISTORY_MEMORY_SHARE);
  }

  /**
   * Counted bytes (what `maxBytes` bounds), the limit, messages evicted and conversations forgotten for
   * it so far, and the arena's buffers and live records (`switchboard_history_memory_bytes`, tests).
   */
  get memory(): MemoryHistoryStats {
    return {
      bytes: this.bytes,
      maxBytes: this.maxBytes,
      evicted: this.evicted,
      conversations: this.convs.size,
      forgotten: this.forgotten,
      arena: this.arena.stats,
    };
  }

  async append(conv: ConversationId, msg: Omit<HistoryMessage, 'seq'>, opts: { indexFor: readonly UserId[] }): Promise<AppendResult> {
    return this.appendNow(conv, msg, opts);
  }

  appendNow(conv: ConversationId, msg: Omit<HistoryMessage, 'seq'>, opts: { indexFor: readonly UserId[] }): AppendResult {
    historyArgs.message(msg);
    const now = this.now();
    this.sweep(now);
    let c = this.live(conv, now);
    const hash = fpHash(msg.fp);
    const dupSeq = c?.seqOf(msg.fp, hash);
    const firstAt = dupSeq === undefined || !c ? undefined : this.visibleAt(c, dupSeq, now - this.ttlMs);
    // A first write that is already trimmed in effect (too old, or out of the count window) is not a duplicate.
    if (dupSeq !== undefined && firstAt !== undefined && c) {
      this.indexFor(opts.indexFor, c, firstAt, now);
      if (this.bytes > this.maxBytes) this.evict(c); // an index entry it did not have yet
      return { seq: dupSeq, duplicate: true, sentAt: firstAt };
    }
    if (!c) {
      const slot = this.freeSlots.pop() ?? this.slots.length;
      c = new Conversation(conv, this.arena, slot);
      this.slots[slot] = c;
      this.convs.set(conv, c);
      this.charge(c, CONVERSATION_BYTES);
    }
    const seq = ++c.lastSeq;
    const m = { seq, fp: msg.fp, from: msg.from, to: msg.to, dataContent: msg.dataContent, typeu: msg.typeu, sentAt: msg.sentAt };
    c.push(m, hash);
    this.charge(c, messageBytes(m) + (c.countSent(msg.from) ? COUNTER_BYTES : 0));
    this.touch(c);
    this.trim(c, now);
    c.expiresAt = now + this.ttlMs;
    this.indexFor(opts.indexFor, c, msg.sentAt, now);
    if (this.bytes > this.maxBytes) this.evict(c);
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
    if (!c.read?.has(user)) this.charge(c, COUNTER_BYTES);
    (c.read ??= new Map()).set(user, { seq: to, ownUpTo });
    if (this.bytes > this.maxBytes) this.evict(c);
    return to;
  }

  async conversations(user: UserId, opts: { limit: number; also?: readonly ConversationId[] }): Promise<ConversationSummary[]> {
    const limit = historyArgs.limit(opts.limit, Number.MAX_SAFE_INTEGER);
    if (limit === 0) return [];
    const cutoff = this.now() - this.ttlMs;
    // Like ZREVRANGEBYSCORE: newest first, equal scores in reverse id order; conversations gone are dropped.
    const list = this.index.get(user)?.list ?? [];
    const kept: Conversation[] = [];
    const scored: [ConversationId, number][] = [];
    for (const c of list) {
      if (this.live(c.id) !== c) continue; // expired or replaced by a newer conversation of the same id
      if (c.lastAt > cutoff) {
        kept.push(c);
        scored.push([c.id, c.lastAt]);
      } else {
        c.setIndexed(user, false); // a later append indexes it again
        this.charge(c, -INDEX_ENTRY_BYTES);
      }
    }
    if (kept.length > 0) this.index.set(user, { list: kept, dead: 0 });
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
    const cur = c.cursors?.get(user);
    if (to <= (cur ?? 0)) return;
    (c.cursors ??= new Map()).set(user, to);
    if (cur !== undefined) return;
    this.charge(c, COUNTER_BYTES);
    if (this.bytes > this.maxBytes) this.evict(c);
  }

  async close(): Promise<void> {}

  private live(conv: ConversationId, now = this.now()): Conversation | undefined {
    const c = this.convs.get(conv);
    if (c && c.expiresAt <= now) {
      this.drop(c);
      return undefined;
    }
    return c;
  }

  /** Drop up to SWEEP_MAX expired conversations that nothing touched since (the list's oldest end expires first). */
  private sweep(now: number): void {
    for (let i = 0; i < SWEEP_MAX && this.oldest !== null && this.oldest.expiresAt <= now; i++) this.drop(this.oldest);
  }

  /**
   * `c` is gone (expired, or forgotten for the memory bound): its messages, counters and bytes, its
   * slot, and its index entries (counted dead, filtered once they are half a user's list).
   */
  private drop(c: Conversation): void {
    if (this.convs.get(c.id) === c) this.convs.delete(c.id);
    this.bytes -= c.bytes;
    c.bytes = 0;
    this.unlink(c);
    c.releaseAll();
    this.slots[c.slot] = undefined;
    this.freeSlots.push(c.slot);
    for (const u of c.indexedUsers()) {
      const rec = this.index.get(u);
      if (!rec || ++rec.dead * 2 < rec.list.length) continue;
      rec.list = rec.list.filter((x) => this.slots[x.slot] === x);
      rec.dead = 0;
      if (rec.list.length === 0) this.index.delete(u);
    }
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
      if (c.lastSeq - s + 1 <= this.max && c.oldestAt > cutoff) break;
      this.dropOldest(c);
    }
  }

  private dropOldest(c: Conversation): void {
    if (c.size > 0) this.charge(c, -c.dropOldest());
  }

  private evictOldest(c: Conversation): void {
    this.dropOldest(c);
    this.evicted++;
  }

  /** `c` counts `bytes` more (less, when negative). */
  private charge(c: Conversation, bytes: number): void {
    c.bytes += bytes;
    this.bytes += bytes;
  }

  /** `c` was just appended to: it moves to the newest end of the list. */
  private touch(c: Conversation): void {
    if (this.newest === c) return;
    this.unlink(c);
    c.prev = this.newest;
    if (this.newest) this.newest.next = c;
    else this.oldest = c;
    this.newest = c;
  }

  private unlink(c: Conversation): void {
    if (c.prev) c.prev.next = c.next;
    else if (this.oldest === c) this.oldest = c.next;
    if (c.next) c.next.prev = c.prev;
    else if (this.newest === c) this.newest = c.prev;
    c.prev = c.next = null;
  }

  /**
   * Over the byte limit: the conversation whose last append is the oldest loses its stored messages,
   * oldest first, and then is forgotten (as if it had expired), and so on until the store is under the
   * limit. `keep` (the one just written to) keeps its counters and newest message.
   */
  private evict(keep: Conversation): void {
    for (let c = this.oldest; c && this.bytes > this.maxBytes; ) {
      const next = c.next;
      while (c.size > (c === keep ? 1 : 0) && this.bytes > this.maxBytes) this.evictOldest(c);
      if (c !== keep && this.bytes > this.maxBytes) {
        this.drop(c);
        this.forgotten++;
      }
      c = next;
    }
  }

  /**
   * The conversation's activity moves to `at`, and each user's index holds it (touched once per user
   * and conversation). Entries of dropped conversations go in `drop` and `conversations`.
   */
  private indexFor(users: readonly UserId[], c: Conversation, at: number, now: number): void {
    if (at > c.lastAt) c.lastAt = at;
    if (at <= now - this.ttlMs) return;
    for (let i = 0; i < users.length; i++) {
      const u = users[i]!;
      if (c.isIndexedFor(u)) continue;
      c.setIndexed(u, true);
      this.charge(c, INDEX_ENTRY_BYTES);
      const rec = this.index.get(u);
      if (rec) rec.list.push(c);
      else this.index.set(u, { list: [c], dead: 0 });
    }
  }
}
