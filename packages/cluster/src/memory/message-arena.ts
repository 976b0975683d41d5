import type { HistoryMessage } from '../history-store.js';

/** Bytes of one chunk; a record larger than this gets a chunk of its own. */
export const ARENA_CHUNK_BYTES = 1 << 20;
/** Freed chunks kept for reuse instead of given back (so a steady store does not churn external memory). */
const SPARE_CHUNKS = 4;
/** Chunks beyond the live bytes that may stand half empty before the emptiest are compacted. */
const SLACK_CHUNKS = 4;

/**
 * Record layout, 8-byte aligned (offsets in bytes):
 *   0 i32 record bytes · 4 i32 owner (-1: released) · 8 f64 sentAt · 16 f64 typeu · 24 f64 seq ·
 *   32 i32 fp hash · 36/40/44/48 i32 lengths (UTF-16 units) of fp, from, to, dataContent ·
 *   52 i32 1 when the strings are ASCII, stored one byte per unit, else 0 · 56 the four strings.
 * ASCII strings (ids, fps and most bodies) take one byte per unit; any other message is stored as
 * UTF-16LE, which keeps every JavaScript string exactly (lone surrogates included). Either way the
 * lengths are known before writing: a message of 100 ASCII characters takes 56 + 100 + (fp, ids) bytes.
 * Fewer bytes per message is less memory to touch, and on a machine where a fresh page costs ~10 µs to
 * fault in, the first write of a page was most of a record's cost (docs/benchmarks.md).
 */
const HEADER = 56;
/** Addresses are `chunk × 2^32 + offset`: one number, stored in a conversation's array of doubles. */
const CHUNK_SPAN = 2 ** 32;

interface Chunk {
  buf: Buffer;
  i32: Int32Array;
  f64: Float64Array;
  /** Bytes of records not released. */
  live: number;
  /** Bytes written (the next record's offset). */
  used: number;
}

/** Moves a live record during compaction: the owner must now find `seq` at `to`. */
export type Relocate = (owner: number, seq: number, from: number, to: number) => void;

/**
 * What one stored message is counted as, from the UTF-16 units of its four strings: two bytes per unit
 * (the most a record takes; an ASCII one takes one) and about 120 bytes of record header and address
 * (`messageBytes`).
 */
export function countedBytes(units: number): number {
  return 120 + 2 * units;
}

/** A string's hash for the fp check (FNV-1a over UTF-16 units): equal strings, equal hashes. */
export function fpHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h | 0;
}

/**
 * The in-memory history's messages, outside the V8 heap: records in 1 MiB buffers, found by a numeric
 * address. A kept message costs the collector nothing (no object, no string, nothing to mark or promote);
 * one conversation holds only an array of addresses. Why: with every kept message a handful of heap
 * objects, the old generation grew by every message and its marking was most of what history cost
 * (docs/benchmarks.md, "History off the heap").
 *
 * Released records leave holes; a chunk whose records are all released is reused, and when the chunks
 * hold more than twice the live bytes (plus SLACK_CHUNKS), the emptiest chunks are compacted: their live
 * records are copied to the end and `relocate` tells each owner the new address.
 */
export class MessageArena {
  private chunks: (Chunk | null)[] = [];
  private cur: Chunk | null = null;
  private curIndex = -1;
  private spare: Chunk[] = [];
  private freeIndexes: number[] = [];
  private liveBytes = 0;
  private chunkBytes = 0;

  /** `chunkBytes`: the size of a chunk (tests use small ones). */
  constructor(
    private readonly relocate: Relocate,
    private readonly chunkSize = ARENA_CHUNK_BYTES,
  ) {}

  /** Bytes held in chunks and bytes of live records (tests, metrics). */
  get stats(): { chunkBytes: number; liveBytes: number; chunks: number } {
    return { chunkBytes: this.chunkBytes, liveBytes: this.liveBytes, chunks: this.chunks.filter((c) => c !== null).length };
  }

  /** Store `m` for `owner`; returns its address. */
  write(m: HistoryMessage, owner: number, hash: number): number {
    const joined = m.fp + m.from + m.to + m.dataContent;
    // UTF-8 takes one byte per unit exactly when every unit is ASCII.
    const ascii = Buffer.byteLength(joined, 'utf8') === joined.length;
    const size = (HEADER + (ascii ? 1 : 2) * joined.length + 7) & ~7;
    if (!this.cur || this.cur.used + size > this.cur.buf.length) this.nextChunk(size);
    const c = this.cur!;
    if (c.used + size > c.buf.length) throw new Error('history arena: no room after opening a chunk'); // cannot happen: nextChunk makes room
    const off = c.used;
    const i = off >> 2;
    const d = off >> 3;
    c.i32[i] = size;
    c.i32[i + 1] = owner;
    c.f64[d + 1] = m.sentAt;
    c.f64[d + 2] = m.typeu;
    c.f64[d + 3] = m.seq;
    c.i32[i + 8] = hash;
    c.i32[i + 9] = m.fp.length;
    c.i32[i + 10] = m.from.length;
    c.i32[i + 11] = m.to.length;
    c.i32[i + 12] = m.dataContent.length;
    c.i32[i + 13] = ascii ? 1 : 0;
    // One write of the four joined: half the cost of four writes or of a loop over the units.
    c.buf.write(joined, off + HEADER, ascii ? 'latin1' : 'utf16le');
    c.used += size;
    c.live += size;
    this.liveBytes += size;
    return this.curIndex * CHUNK_SPAN + off;
  }

  /** The record at `addr` is no longer needed. */
  release(addr: number): void {
    const ci = Math.floor(addr / CHUNK_SPAN);
    const c = this.chunks[ci]!;
    const i = (addr - ci * CHUNK_SPAN) >> 2;
    const size = c.i32[i]!;
    c.i32[i + 1] = -1;
    c.live -= size;
    this.liveBytes -= size;
    if (c.live === 0 && c !== this.cur) this.dropChunk(ci);
  }

  sentAt(addr: number): number {
    const ci = Math.floor(addr / CHUNK_SPAN);
    return this.chunks[ci]!.f64[((addr - ci * CHUNK_SPAN) >> 3) + 1]!;
  }

  /** `messageBytes` of the record (what the store counts it as). */
  estimate(addr: number): number {
    const ci = Math.floor(addr / CHUNK_SPAN);
    const c = this.chunks[ci]!;
    const i = (addr - ci * CHUNK_SPAN) >> 2;
    return countedBytes(c.i32[i + 9]! + c.i32[i + 10]! + c.i32[i + 11]! + c.i32[i + 12]!);
  }

  fp(addr: number): string {
    return this.strings(addr, 1)[0]!;
  }

  from(addr: number): string {
    return this.strings(addr, 2)[1]!;
  }

  read(addr: number): HistoryMessage {
    const ci = Math.floor(addr / CHUNK_SPAN);
    const c = this.chunks[ci]!;
    const d = (addr - ci * CHUNK_SPAN) >> 3;
    const [fp, from, to, dataContent] = this.strings(addr, 4) as [string, string, string, string];
    return { seq: c.f64[d + 3]!, fp, from: from as HistoryMessage['from'], to, dataContent, typeu: c.f64[d + 2]!, sentAt: c.f64[d + 1]! };
  }

  /** The first `n` of the record's four strings. */
  private strings(addr: number, n: number): string[] {
    const ci = Math.floor(addr / CHUNK_SPAN);
    const c = this.chunks[ci]!;
    const off = addr - ci * CHUNK_SPAN;
    const i = off >> 2;
    const ascii = c.i32[i + 13] === 1;
    const out: string[] = [];
    let p = off + HEADER;
    for (let k = 0; k < n; k++) {
      const len = (ascii ? 1 : 2) * c.i32[i + 9 + k]!;
      out.push(c.buf.toString(ascii ? 'latin1' : 'utf16le', p, p + len));
      p += len;
    }
    return out;
  }

  /**
   * The current chunk has no room for `size` bytes: compact first if the chunks are mostly holes (which
   * moves records to the end and may open chunks), then make a chunk with room current.
   */
  private nextChunk(size: number): void {
    if (this.chunkBytes > 2 * this.liveBytes + SLACK_CHUNKS * this.chunkSize) this.compact();
    if (this.cur && this.cur.used + size <= this.cur.buf.length) return;
    this.open(size);
  }

  /** A new current chunk with room for `size` bytes; the one it replaces is let go if nothing in it is live. */
  private open(size: number): void {
    if (this.cur && this.cur.live === 0) this.dropChunk(this.curIndex);
    let c: Chunk;
    if (size <= this.chunkSize && this.spare.length > 0) {
      c = this.spare.pop()!;
    } else {
      const buf = Buffer.allocUnsafeSlow(Math.max(this.chunkSize, size));
      c = { buf, i32: new Int32Array(buf.buffer, buf.byteOffset, buf.length >> 2), f64: new Float64Array(buf.buffer, buf.byteOffset, buf.length >> 3), live: 0, used: 0 };
    }
    c.live = 0;
    c.used = 0;
    const index = this.freeIndexes.pop() ?? this.chunks.length;
    this.chunks[index] = c;
    this.chunkBytes += c.buf.length;
    this.cur = c;
    this.curIndex = index;
  }

  private dropChunk(index: number): void {
    const c = this.chunks[index]!;
    this.chunks[index] = null;
    this.freeIndexes.push(index);
    this.chunkBytes -= c.buf.length;
    if (c.buf.length === this.chunkSize && this.spare.length < SPARE_CHUNKS) this.spare.push(c);
  }

  /** Copy the live records of the emptiest chunks to the end until the chunks are at most half holes (at most 4 chunks per call). */
  private compact(): void {
    for (let rounds = 0; rounds < 4 && this.chunkBytes > 2 * this.liveBytes + SLACK_CHUNKS * this.chunkSize; rounds++) {
      let victim = -1;
      for (let k = 0; k < this.chunks.length; k++) {
        const c = this.chunks[k];
        if (c && c !== this.cur && (victim < 0 || c.live < this.chunks[victim]!.live)) victim = k;
      }
      if (victim < 0) return;
      const v = this.chunks[victim]!;
      for (let off = 0; off < v.used; ) {
        const i = off >> 2;
        const size = v.i32[i]!;
        const owner = v.i32[i + 1]!;
        if (owner >= 0) {
          if (!this.cur || this.cur.used + size > this.cur.buf.length) this.open(size);
          const to = this.cur!;
          v.buf.copy(to.buf, to.used, off, off + size);
          const addr = this.curIndex * CHUNK_SPAN + to.used;
          to.used += size;
          to.live += size;
          v.live -= size;
          this.relocate(owner, v.f64[(off >> 3) + 3]!, victim * CHUNK_SPAN + off, addr);
        }
        off += size;
      }
      this.dropChunk(victim);
    }
  }
}
