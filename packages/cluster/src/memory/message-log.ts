import type { HistoryMessage } from '../history-store.js';

/** Up to this many messages a fingerprint is found by scanning; beyond, through a map. */
const SCAN_MAX = 8;

/**
 * The stored messages of one in-memory conversation, seqs `lo..lastSeq` without gaps (appended at
 * the top, dropped from the bottom), found by seq and by fp. Compact, because a standalone server
 * holds hundreds of thousands of conversations, most with a few messages: one array and, only past
 * SCAN_MAX messages, an fp index (five maps per conversation made garbage collection the largest
 * cost of history).
 */
export class MessageLog {
  /** `items[head + i]` has seq `lo + i`. */
  private items: HistoryMessage[] = [];
  private head = 0;
  /** Lowest stored seq (the next one when empty). */
  lo = 1;
  private byFp: Map<string, number> | null = null;

  get size(): number {
    return this.items.length - this.head;
  }

  get(seq: number): HistoryMessage | undefined {
    return seq >= this.lo ? this.items[this.head + seq - this.lo] : undefined;
  }

  /** Append `m`, whose seq must be `lo + size`. */
  push(m: HistoryMessage): void {
    // A log's first message gets an array of exactly one slot (push would reserve 17): most
    // conversations of a busy standalone never get a second one.
    if (this.head === this.items.length) {
      this.items = [m];
      this.head = 0;
    } else {
      this.items.push(m);
    }
    if (this.byFp) this.byFp.set(m.fp, m.seq);
    else if (this.size > SCAN_MAX) this.byFp = new Map(this.items.slice(this.head).map((x) => [x.fp, x.seq]));
  }

  /** The newest stored seq with this fp. */
  seqOf(fp: string): number | undefined {
    if (this.byFp) return this.byFp.get(fp);
    for (let i = this.items.length - 1; i >= this.head; i--) if (this.items[i]!.fp === fp) return this.items[i]!.seq;
    return undefined;
  }

  /** The oldest stored message, or undefined when empty. */
  oldest(): HistoryMessage | undefined {
    return this.items[this.head];
  }

  /** Drop the oldest stored message (and its fp, unless a newer message reuses it). */
  dropOldest(): void {
    const m = this.items[this.head];
    if (!m) return;
    if (this.byFp?.get(m.fp) === m.seq) this.byFp.delete(m.fp);
    this.head++;
    this.lo++;
    // Compact now and then instead of shifting: shift() is a copy for large arrays.
    if (this.head >= 64 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
