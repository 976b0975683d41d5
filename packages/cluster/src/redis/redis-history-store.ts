import type { Redis } from 'ioredis';
import type { Logger, UserId } from '@switchboard/core';
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
import { closeRedis, guard, redisModeOf, redisUnavailable, resolveClient, type RedisClientOption } from './connect.js';
import { redisKeys, type RedisKeys } from './keys.js';
import { runScriptReplicated, type ReplicaWait } from './replica-wait.js';
import { runScript } from './scripts.js';

export type RedisHistoryStoreOptions = RedisClientOption &
  HistoryStoreOptions & {
    /** Key prefix (`IM_KEY_PREFIX`). @default 'im' */
    prefix?: string;
    /**
     * Replicas an append waits for before it resolves (`WAIT` on the conversation's master, see
     * ReplicaWait); none when absent. Not confirmed in time: UnavailableError (the resend is idempotent).
     * The per-user index updates after it are not waited for (a resend repairs them).
     */
    waitReplicas?: ReplicaWait;
    log?: Logger;
  };

/**
 * Most messages one batched append carries. The indexed appends a gateway makes in one event-loop turn
 * go in one script call (single Redis and Sentinel), which pays the client's per-command work and
 * Redis's per-call work once per batch; the bound keeps one call's time in Redis short (tens of µs per
 * message).
 */
export const APPEND_BATCH_MAX = 32;

/** An indexed append waiting for its turn's batch: its 5 keys and 4 per-message script arguments. */
interface QueuedAppend {
  keys: [string, string, string, string, string];
  args: [string, string, string, string];
  resolve: (r: [number, number, number]) => void;
  reject: (err: unknown) => void;
}

/** What the msgs hash holds per seq: `[sentAt, from, fp, to, typeu, dataContent]` (JSON). */
type Entry = [number, string, string, string, number, string];

/** asciiJson: a string of printable ASCII without `"` and `\` (kept as it is), and a character to escape. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const ESCAPED = /[^\x20\x21\x23-\x5b\x5d-\x7e]/g;

/**
 * A string as a JSON string literal made of printable ASCII only, with `"` and `\` escaped as `\u….`
 * too: the Lua scripts find the sender and fp tokens of an entry with a pattern (`"[^"]*"`) and compare
 * them byte for byte, without a JSON parser (cjson rejects lone surrogates that JSON.parse accepts).
 */
export function asciiJson(s: string): string {
  // Most ids and fps need no escape: a test is cheaper than a replace with a callback.
  if (PLAIN.test(s)) return `"${s}"`;
  return `"${s.replace(ESCAPED, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`;
}

/**
 * HistoryStore on Redis. Per conversation, in one hash slot (`{h:<conv>}`): `…:meta` (counters, and
 * the oldest stored seq and its sentAt), `…:msgs` (seq → entry), `…:fps` (fp → seq), written only by
 * Lua scripts (redis/lua/history-*.lua): `history-append.lua` (idempotent by fp, seq, sender counter,
 * bounded trimming by count and age, refreshes the three expiries), `history-range.lua`
 * (pages, skipping expired entries), `history-read.lua` (read marker with the user's own sent count up
 * to it), `history-cursor.lua`. Per user, in the user's slot: `{<user>}:convs` (zset conversation →
 * last activity). On a single Redis or Sentinel the append script updates both users' entries in the
 * same call, and the appends of one event-loop turn share one call (`history-append-batch.lua`, at most
 * APPEND_BATCH_MAX); on Redis Cluster every append is a call of its own and those keys live in other slots, so
 * `history-index.lua` runs per `indexFor` user after the append (not atomic with it; a resend repairs a
 * lost update). Layout: redis/keys.ts. Needs Redis 6.2 or newer (`ZADD … GT`).
 *
 * Times are the caller's clock (`sentAt` and the trim cutoff), the keys' expiry is Redis's. Every
 * failure is an UnavailableError with the ioredis error as `cause`.
 */
export class RedisHistoryStore implements HistoryStore {
  private readonly redis: Redis;
  private readonly owned: boolean;
  private readonly keys: RedisKeys;
  private readonly max: number;
  readonly ttlMs: number;
  /** `max` and `ttlMs` as the scripts' arguments, converted once. */
  private readonly maxArg: string;
  private readonly ttlArg: string;
  private readonly waitReplicas: ReplicaWait | undefined;
  /** Whether one script may touch a conversation's keys and its users' index keys (not on Redis Cluster). */
  private readonly oneScript: boolean;
  /** Indexed appends of this event-loop turn, sent together when it ends (`flush`; not on Redis Cluster). */
  private queued: QueuedAppend[] = [];

  constructor(opts: RedisHistoryStoreOptions) {
    ({ maxPerConversation: this.max, ttlMs: this.ttlMs } = historyArgs.options(opts));
    this.maxArg = String(this.max);
    this.ttlArg = String(this.ttlMs);
    this.waitReplicas = opts.waitReplicas;
    this.keys = redisKeys(opts.prefix);
    ({ redis: this.redis, owned: this.owned } = resolveClient(opts, opts.log, 'history-store'));
    this.oneScript = redisModeOf(this.redis) !== 'cluster';
  }

  async append(conv: ConversationId, msg: Omit<HistoryMessage, 'seq'>, opts: { indexFor: readonly UserId[] }): Promise<AppendResult> {
    historyArgs.message(msg);
    const cutoff = Date.now() - this.ttlMs;
    const fp = asciiJson(msg.fp);
    const entry = `[${msg.sentAt},${asciiJson(msg.from)},${fp},${JSON.stringify(msg.to)},${msg.typeu},${JSON.stringify(msg.dataContent)}]`;
    const users = opts.indexFor;
    const { keys } = this;
    const meta = keys.historyMeta(conv);
    const msgs = keys.historyMessages(conv);
    const fps = keys.historyFps(conv);
    try {
      let r: [number, number, number];
      if (users.length === 0 || !(this.oneScript && users.length <= 2)) {
        r = (await runScriptReplicated(this.redis, 'sbHistoryAppend', [meta, msgs, fps], [fp, msg.from, entry, this.maxArg, this.ttlArg, cutoff], this.waitReplicas)) as typeof r;
        if (users.length > 0) {
          // Redis Cluster: the index keys live in the users' slots, so they are updated after the append,
          // with the first write's time (a duplicate must not move its conversation up).
          const at = r[2];
          await Promise.all(users.map((u) => runScript(this.redis, 'sbHistoryIndex', [keys.historyIndex(u)], [conv, at, cutoff, this.ttlArg])));
        }
      } else {
        // The append and both index entries in one script, with the other appends of this turn.
        r = await new Promise<[number, number, number]>((resolve, reject) => {
          const q: QueuedAppend = { keys: [meta, msgs, fps, keys.historyIndex(users[0]!), keys.historyIndex(users[1] ?? users[0]!)], args: [fp, msg.from, entry, conv], resolve, reject };
          if (this.queued.push(q) === 1) setImmediate(() => this.flush());
        });
      }
      return { seq: r[0], duplicate: r[1] === 1, sentAt: r[2] };
    } catch (err) {
      throw redisUnavailable('history append', err);
    }
  }

  /**
   * Send the queued appends, APPEND_BATCH_MAX per script call; each caller gets its own message's
   * answer. A failed call refuses each of its messages (some may be written: their resends are
   * duplicates, answered with the first write's seq).
   */
  private flush(): void {
    const all = this.queued;
    this.queued = [];
    const cutoff = String(Date.now() - this.ttlMs);
    for (let i = 0; i < all.length; i += APPEND_BATCH_MAX) {
      const batch = all.slice(i, i + APPEND_BATCH_MAX);
      if (batch.length === 1) {
        const q = batch[0]!;
        const [fp, from, entry, conv] = q.args;
        runScriptReplicated(this.redis, 'sbHistoryAppendIndexed', q.keys, [fp, from, entry, this.maxArg, this.ttlArg, cutoff, conv], this.waitReplicas).then(
          (r) => q.resolve(r as [number, number, number]),
          q.reject,
        );
        continue;
      }
      const keys: string[] = [];
      const args: string[] = [this.maxArg, this.ttlArg, cutoff];
      for (const q of batch) {
        keys.push(...q.keys);
        args.push(...q.args);
      }
      runScriptReplicated(this.redis, 'sbHistoryAppendBatch', keys, args, this.waitReplicas).then(
        (reply) => {
          const r = reply as number[];
          batch.forEach((q, j) => q.resolve([r[3 * j]!, r[3 * j + 1]!, r[3 * j + 2]!]));
        },
        (err: unknown) => batch.forEach((q) => q.reject(err)),
      );
    }
  }

  async before(conv: ConversationId, opts: { before?: number; limit: number }): Promise<HistoryMessage[]> {
    const limit = historyArgs.limit(opts.limit, this.max);
    const bound = opts.before === undefined ? Number.MAX_SAFE_INTEGER : historyArgs.seq('before', opts.before);
    return this.range(conv, 'before', bound, limit);
  }

  async after(conv: ConversationId, opts: { after: number; limit: number }): Promise<HistoryMessage[]> {
    const limit = historyArgs.limit(opts.limit, this.max);
    return this.range(conv, 'after', historyArgs.seq('after', opts.after), limit);
  }

  lastSeq(conv: ConversationId): Promise<number> {
    return guard('history lastSeq', async () => Number((await this.redis.hget(this.keys.historyMeta(conv), 'seq')) ?? 0));
  }

  async markRead(user: UserId, conv: ConversationId, seq: number): Promise<number> {
    historyArgs.seq('seq', seq);
    return guard('history markRead', async () =>
      Number(await runScript(this.redis, 'sbHistoryRead', [this.keys.historyMeta(conv), this.keys.historyMessages(conv)], [user, asciiJson(user), seq, this.max])),
    );
  }

  async conversations(user: UserId, opts: { limit: number; also?: readonly ConversationId[] }): Promise<ConversationSummary[]> {
    const limit = historyArgs.limit(opts.limit, 2 ** 31 - 1);
    return guard('history conversations', async () => {
      if (limit === 0) return [];
      const cutoff = Date.now() - this.ttlMs;
      // Newest first; stale members (conversation gone) are skipped here, and dropped by the next
      // append that adds a conversation to this index.
      const flat = await this.redis.zrevrangebyscore(this.keys.historyIndex(user), '+inf', `(${cutoff}`, 'WITHSCORES', 'LIMIT', 0, limit);
      const candidates = new Map<ConversationId, number | undefined>();
      for (let i = 0; i + 1 < flat.length; i += 2) candidates.set(flat[i] as ConversationId, Number(flat[i + 1]));
      const also = new Set(opts.also ?? []);
      for (const id of also) if (!candidates.has(id)) candidates.set(id, undefined);
      const rows = await Promise.all(
        [...candidates].map(async ([id, at]) => {
          const [seq, sent, read] = await this.redis.hmget(this.keys.historyMeta(id), 'seq', `n:${user}`, `r:${user}`);
          const lastSeq = Number(seq ?? 0);
          if (lastSeq === 0 && !also.has(id)) return undefined;
          const raw = lastSeq === 0 ? null : await this.redis.hget(this.keys.historyMessages(id), String(lastSeq));
          const newest = raw === null ? null : decode(lastSeq, raw);
          const last = newest && newest.sentAt > cutoff ? newest : null;
          const [readSeq, ownUpTo] = (read ?? '0:0').split(':').map(Number) as [number, number];
          const summary: ConversationSummary = { id, last, lastSeq, readSeq, unread: unreadCount(lastSeq, Number(sent ?? 0), readSeq, ownUpTo) };
          return { summary, activity: Math.max(at ?? -Infinity, last?.sentAt ?? -Infinity) };
        }),
      );
      return sortByActivity(rows.filter((r) => r !== undefined)).slice(0, limit);
    });
  }

  cursor(user: UserId, conv: ConversationId): Promise<number> {
    return guard('history cursor', async () => Number((await this.redis.hget(this.keys.historyMeta(conv), `c:${user}`)) ?? 0));
  }

  async advanceCursor(user: UserId, conv: ConversationId, seq: number): Promise<void> {
    historyArgs.seq('seq', seq);
    await guard('history advanceCursor', () => runScript(this.redis, 'sbHistoryCursor', [this.keys.historyMeta(conv)], [user, seq]));
  }

  async close(): Promise<void> {
    // Appends of this turn go out before the connection closes (a shared one stays open anyway).
    if (this.queued.length > 0) this.flush();
    if (this.owned) await closeRedis(this.redis);
  }

  private range(conv: ConversationId, mode: 'before' | 'after', bound: number, limit: number): Promise<HistoryMessage[]> {
    return guard(`history ${mode}`, async () => {
      if (limit === 0) return [];
      const keys = [this.keys.historyMeta(conv), this.keys.historyMessages(conv)];
      const flat = (await runScript(this.redis, 'sbHistoryRange', keys, [mode, bound, limit, this.max, Date.now() - this.ttlMs])) as (number | string)[];
      const out: HistoryMessage[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) out.push(decode(Number(flat[i]), flat[i + 1] as string));
      return out;
    });
  }
}

function decode(seq: number, raw: string): HistoryMessage {
  const [sentAt, from, fp, to, typeu, dataContent] = JSON.parse(raw) as Entry;
  return { seq, fp, from: from as UserId, to, dataContent, typeu, sentAt };
}
