import type { HistoryMessage } from '../history-store.js';
import { countedBytes, fpHash, type MessageArena } from './message-arena.js';

/** Up to this many messages a fingerprint is found by scanning; beyond, through a map. */
const SCAN_MAX = 8;

/**
 * What one stored message is counted as (`countedBytes` of its strings' UTF-16 units). The store counts
 * the conversation apart (CONVERSATION_BYTES).
 */
export function messageBytes(m: Pick<HistoryMessage, 'fp' | 'from' | 'to' | 'dataContent'>): number {
  return countedBytes(m.fp.length + m.from.length + m.to.length + m.dataContent.length);
}

/**
 * The stored messages of one in-memory conversation, seqs `lo..lo+size-1` without gaps (appended at
 * the top, dropped from the bottom), found by seq and by fp. The messages themselves are records in the
 * store's MessageArena, outside the V8 heap; the log holds their addresses and fp hashes (one array of
 * numbers, which V8 keeps unboxed: the fp scan reads it, not the records) and, only past SCAN_MAX
 * messages, a map from fp hash to seq. A standalone server holds hundreds of thousands of
 * conversations, most with a few messages, so nothing here is made per message.
 */
export class MessageLog {
  /** `items[head + 2i]` is the address of seq `lo + i`, `items[head + 2i + 1]` its fp hash. */
  private items: number[] = [];
  private head = 0;
  /** Lowest stored seq (the next one when empty). */
  lo = 1;
  /** `sentAt` of the oldest stored message (meaningless when empty): the age check of every append reads it here, not in the arena. */
  oldestAt = 0;
  /** fp hash → the newest stored seq with that hash; made past SCAN_MAX messages. */
  private byHash: Map<number, number> | null = null;
  /** fp → seq of stored messages whose hash another stored fp took in `byHash` (rare). */
  private collided: Map<string, number> | null = null;

  constructor(
    private readonly arena: MessageArena,
    /** This log's owner number in the arena (the store's slot of the conversation). */
    readonly slot: number,
  ) {}

  get size(): number {
    return (this.items.length - this.head) >> 1;
  }

  /** The message at `seq`, decoded (a new object on every call). */
  get(seq: number): HistoryMessage | undefined {
    const a = this.addr(seq);
    return a === undefined ? undefined : this.arena.read(a);
  }

  sentAtOf(seq: number): number | undefined {
    const a = this.addr(seq);
    return a === undefined ? undefined : this.arena.sentAt(a);
  }

  fromOf(seq: number): string | undefined {
    const a = this.addr(seq);
    return a === undefined ? undefined : this.arena.from(a);
  }

  /** Append `m`, whose seq must be `lo + size`; `hash` is `fpHash(m.fp)`. */
  push(m: HistoryMessage, hash = fpHash(m.fp)): void {
    const a = this.arena.write(m, this.slot, hash);
    // A log's first message gets an array of exactly its two numbers (push would reserve 17): most
    // conversations of a busy standalone never get a second one.
    if (this.head === this.items.length) {
      this.items = [a, hash];
      this.head = 0;
      this.oldestAt = m.sentAt;
    } else {
      this.items.push(a, hash);
    }
    if (this.byHash) this.index(hash, m.seq, m.fp);
    else if (this.size > SCAN_MAX) {
      this.byHash = new Map();
      for (let i = this.head; i < this.items.length; i += 2) this.index(this.items[i + 1]!, this.lo + ((i - this.head) >> 1), i === this.items.length - 2 ? m.fp : undefined);
    }
  }

  /** The newest stored seq with this fp; `hash` is `fpHash(fp)`. */
  seqOf(fp: string, hash = fpHash(fp)): number | undefined {
    if (this.byHash) {
      const s = this.byHash.get(hash);
      if (s !== undefined && this.arena.fp(this.addr(s)!) === fp) return s;
      return this.collided?.get(fp);
    }
    for (let i = this.items.length - 2; i >= this.head; i -= 2) {
      if (this.items[i + 1] === hash && this.arena.fp(this.items[i]!) === fp) return this.lo + ((i - this.head) >> 1);
    }
    return undefined;
  }

  /** Seq of the oldest stored message, or undefined when empty. */
  oldestSeq(): number | undefined {
    return this.size > 0 ? this.lo : undefined;
  }

  /** Drop the oldest stored message (and its fp, unless a newer message reuses it). Returns its `messageBytes`, 0 when empty. */
  dropOldest(): number {
    if (this.size === 0) return 0;
    const a = this.items[this.head]!;
    const seq = this.lo;
    const bytes = this.arena.estimate(a);
    if (this.byHash) {
      const hash = this.items[this.head + 1]!;
      if (this.byHash.get(hash) === seq) this.byHash.delete(hash);
      if (this.collided) {
        const fp = this.arena.fp(a);
        if (this.collided.get(fp) === seq) this.collided.delete(fp);
      }
    }
    this.arena.release(a);
    this.head += 2;
    this.lo++;
    if (this.head < this.items.length) this.oldestAt = this.arena.sentAt(this.items[this.head]!);
    // Compact now and then instead of shifting: shift() is a copy for large arrays.
    if (this.head >= 128 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return bytes;
  }

  /** Release every stored message (the conversation is gone). */
  releaseAll(): void {
    for (let i = this.head; i < this.items.length; i += 2) this.arena.release(this.items[i]!);
    this.lo += this.size;
    this.items = [];
    this.head = 0;
    this.byHash = this.collided = null;
  }

  /** The arena moved seq's record from `from` to `to` (compaction). */
  moved(seq: number, from: number, to: number): void {
    const i = this.head + 2 * (seq - this.lo);
    if (this.items[i] === from) this.items[i] = to;
  }

  private addr(seq: number): number | undefined {
    return seq >= this.lo ? this.items[this.head + 2 * (seq - this.lo)] : undefined;
  }

  /** `byHash` names `seq` for `hash`; a different stored fp that held the hash moves to `collided`. */
  private index(hash: number, seq: number, fp: string | undefined): void {
    const prev = this.byHash!.get(hash);
    if (prev !== undefined) {
      const prevFp = this.arena.fp(this.addr(prev)!);
      if (prevFp !== (fp ?? this.arena.fp(this.addr(seq)!))) (this.collided ??= new Map()).set(prevFp, prev);
    }
    this.byHash!.set(hash, seq);
  }
}
