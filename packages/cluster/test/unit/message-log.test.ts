import { describe, expect, it } from 'vitest';
import type { UserId } from '@switchboard/core';
import { ARENA_CHUNK_BYTES, fpHash, MessageArena } from '../../src/memory/message-arena.js';
import { MessageLog, messageBytes } from '../../src/memory/message-log.js';
import type { HistoryMessage } from '../../src/history-store.js';

const m = (seq: number, fp = `fp-${seq}`, body = `m${seq}`): HistoryMessage => ({ seq, fp, from: 'a' as UserId, to: 'b', dataContent: body, typeu: 0, sentAt: seq });

/** Logs over one arena, found by slot as the store does. */
function logs(n: number, chunkBytes = ARENA_CHUNK_BYTES): { arena: MessageArena; logs: MessageLog[]; moves: { count: number } } {
  const all: MessageLog[] = [];
  const moves = { count: 0 };
  const arena = new MessageArena((slot, seq, from, to) => {
    moves.count++;
    all[slot]!.moved(seq, from, to);
  }, chunkBytes);
  for (let i = 0; i < n; i++) all.push(new MessageLog(arena, i));
  return { arena, logs: all, moves };
}

describe('MessageLog', () => {
  it('get and seqOf - below and above the scan threshold, the newest seq of a reused fp', () => {
    const log = logs(1).logs[0]!;
    for (let s = 1; s <= 5; s++) log.push(m(s));
    log.push(m(6, 'fp-2')); // a reused fp names the newer message
    expect(log.seqOf('fp-2')).toBe(6);
    expect(log.seqOf('fp-3')).toBe(3);
    expect(log.seqOf('nope')).toBeUndefined();
    for (let s = 7; s <= 20; s++) log.push(m(s)); // past the threshold: the fp index takes over
    expect(log.seqOf('fp-2')).toBe(6);
    expect(log.seqOf('fp-20')).toBe(20);
    expect(log.get(20)?.dataContent).toBe('m20');
    expect(log.get(0)).toBeUndefined();
    expect(log.get(21)).toBeUndefined();
    expect(log.size).toBe(20);
  });

  it('dropOldest - moves lo, forgets the fp unless a newer message reuses it, and stays right across compactions', () => {
    const log = logs(1).logs[0]!;
    for (let s = 1; s <= 500; s++) log.push(m(s, s === 300 ? 'fp-1' : `fp-${s}`));
    expect(log.dropOldest()).toBe(messageBytes(m(1))); // seq 1, whose fp seq 300 reuses
    expect(log.lo).toBe(2);
    expect(log.oldestAt).toBe(2); // m(seq) is sent at `seq`
    expect(log.get(1)).toBeUndefined();
    expect(log.seqOf('fp-1')).toBe(300);
    for (let i = 0; i < 400; i++) log.dropOldest(); // several compactions
    expect(log.lo).toBe(402);
    expect(log.size).toBe(99);
    expect(log.oldestSeq()).toBe(402);
    expect(log.oldestAt).toBe(402);
    expect(log.get(401)).toBeUndefined();
    expect(log.get(450)?.seq).toBe(450);
    expect(log.seqOf('fp-100')).toBeUndefined();
    expect(log.seqOf('fp-1')).toBeUndefined();
    expect(log.seqOf('fp-500')).toBe(500);
    log.push(m(501));
    expect(log.get(501)?.seq).toBe(501);
    while (log.size > 0) log.dropOldest();
    expect(log.oldestSeq()).toBeUndefined();
    expect(log.lo).toBe(502);
    expect(log.dropOldest()).toBe(0); // empty: nothing happens
    expect(log.lo).toBe(502);
    log.push(m(502));
    expect(log.oldestAt).toBe(502); // the first message of an emptied log is its oldest
  });

  it('two stored fps with one hash are both found, before and after either is dropped', () => {
    // FNV-1a collides on these two (found by search; the test checks it stays so).
    expect(fpHash('fp-3959')).toBe(fpHash('fp-63966'));
    for (const order of [['fp-3959', 'fp-63966'], ['fp-63966', 'fp-3959']] as const) {
      const log = logs(1).logs[0]!;
      let seq = 0;
      log.push(m(++seq, order[0]));
      for (let i = 0; i < 10; i++) log.push(m(++seq)); // past the scan threshold
      log.push(m(++seq, order[1]));
      expect(log.seqOf(order[0])).toBe(1);
      expect(log.seqOf(order[1])).toBe(12);
      log.dropOldest();
      expect(log.seqOf(order[0])).toBeUndefined();
      expect(log.seqOf(order[1])).toBe(12);
      log.push(m(++seq, order[0])); // back, newer than its twin
      expect(log.seqOf(order[0])).toBe(13);
      expect(log.seqOf(order[1])).toBe(12);
    }
  });
});

describe('MessageArena', () => {
  it('gives back every string exactly: lone surrogates, astral characters, empty strings, a fractional typeu', () => {
    const log = logs(1).logs[0]!;
    const odd: HistoryMessage = { seq: 1, fp: '\ud800x', from: '😀user' as UserId, to: '', dataContent: 'a\udfffb\u0000c', typeu: -1.5, sentAt: 1_765_000_000_123 };
    log.push(odd);
    expect(log.get(1)).toEqual(odd);
    expect(log.seqOf('\ud800x')).toBe(1);
    expect(log.fromOf(1)).toBe('😀user');
    expect(log.sentAtOf(1)).toBe(1_765_000_000_123);
  });

  it('ASCII messages take one byte per character, any other two; both come back exactly, also across a compaction', () => {
    const { arena, logs: [log, other], moves } = logs(2, 4096);
    const ascii = (seq: number): HistoryMessage => ({ ...m(seq, `fp-${seq}`, `plain ${seq} \u0000 ~`.padEnd(100, '.')), to: 'b' });
    const latin1 = (seq: number): HistoryMessage => ({ ...m(seq, `fp-${seq}`, `café ${seq}`.padEnd(100, '.')), to: 'b' }); // é is not ASCII
    const wide = (seq: number): HistoryMessage => ({ ...m(seq, `fp-${seq}`, `中文 ${seq}`.padEnd(100, '.')), to: 'b' });
    log!.push(ascii(1));
    const oneByte = arena.stats.liveBytes;
    log!.push(latin1(2));
    const twoBytes = arena.stats.liveBytes - oneByte;
    expect(oneByte).toBe((56 + 'fp-1'.length + 2 + 100 + 7) & ~7);
    expect(twoBytes).toBe((56 + 2 * ('fp-2'.length + 2 + 100) + 7) & ~7);
    const made = [ascii(1), latin1(2)];
    // Every chunk shares its room with the other log's larger records; once those are gone, the chunks
    // are mostly holes and the next writes compact them.
    for (let s = 3; s <= 120; s++) {
      const x = [ascii, latin1, wide][s % 3]!(s);
      log!.push(x);
      made.push(x);
      other!.push(m(s - 2, `other-${s}`, 'z'.repeat(600)));
    }
    while (other!.size > 0) other!.dropOldest();
    for (let s = 121; s <= 200; s++) {
      const x = [ascii, latin1, wide][s % 3]!(s);
      log!.push(x);
      made.push(x);
    }
    expect(moves.count).toBeGreaterThan(0);
    for (let s = 1; s <= 200; s++) {
      expect(log!.get(s)).toEqual(made[s - 1]);
      expect(log!.seqOf(`fp-${s}`)).toBe(s);
    }
  });

  it('a record larger than a chunk gets a chunk of its own', () => {
    const { arena, logs: all } = logs(1);
    const log = all[0]!;
    const big = 'z'.repeat(ARENA_CHUNK_BYTES); // 1 MiB of ASCII and a header
    log.push(m(1, 'fp-1', 'small'));
    log.push(m(2, 'fp-2', big));
    log.push(m(3, 'fp-3', 'small again'));
    expect(log.get(2)?.dataContent).toBe(big);
    expect(log.get(3)?.dataContent).toBe('small again');
    log.dropOldest();
    log.dropOldest();
    expect(log.get(3)?.dataContent).toBe('small again');
    expect(arena.stats.chunkBytes).toBeLessThan(2 * ARENA_CHUNK_BYTES + 1);
  });

  it('a write that starts a compaction still gets room for its record', () => {
    // 1 KiB chunks, each holding a 304-byte record of P and a 720-byte record of Q. With every Q gone,
    // 12 chunks hold 3,648 live bytes: the next chunk starts a compaction, which moves two P records
    // (608 bytes) to the end, and the 720-byte record being written must still find room.
    const { arena, logs: [p, q, r], moves } = logs(3, 1024);
    const fp = (x: string, i: number) => `${x}-${i}`.padEnd(10, '-');
    // Bodies with a non-ASCII character, so that every record is UTF-16 (two bytes per unit) as sized above.
    const rec = (seq: number, f: string, len: number) => m(seq, f, `é${seq}`.padEnd(len, 'y'));
    for (let i = 1; i <= 12; i++) {
      p!.push(rec(i, fp('p', i), 110));
      q!.push(rec(i, fp('q', i), 318));
    }
    expect(arena.stats.chunks).toBe(12);
    while (q!.size > 0) q!.dropOldest();
    const big = rec(1, fp('r', 1), 318);
    r!.push(big);
    expect(r!.get(1)).toEqual(big);
    expect(moves.count).toBe(2);
    for (let i = 1; i <= 12; i++) expect(p!.get(i)).toEqual(rec(i, fp('p', i), 110));
  });

  // Small chunks: many of them, and compactions all along. The second case has records of up to half
  // a chunk, so that a compaction can leave the current chunk without room for the record being written.
  it.each([
    { maxBody: 400, seed: 42 },
    { maxBody: 4000, seed: 7 },
  ])('under random appends and drops over many logs it matches a plain model, and a write leaves the chunks at most about twice the live bytes (bodies < $maxBody)', ({ maxBody, seed: s0 }) => {
    let seed = s0;
    const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
    const chunk = 16 * 1024;
    const { arena, logs: all, moves } = logs(200, chunk);
    const model: HistoryMessage[][] = all.map(() => []);
    const next = all.map(() => 1);
    let worstExcess = 0;
    let peakChunks = 0;
    for (let op = 0; op < 60_000; op++) {
      const k = rand(all.length);
      const log = all[k]!;
      // Mostly appends early, mostly drops later, and now and then a whole log goes: holes everywhere.
      const r = rand(100);
      if (r < (op < 30_000 ? 70 : 35)) {
        // A third of the bodies are not ASCII: records of both encodings share the chunks.
        const msg = m(next[k]!++, `fp-${k}-${op}`, `${op}:`.padEnd(rand(maxBody), rand(3) === 0 ? 'é' : 'x'));
        log.push(msg);
        model[k]!.push(msg);
        // Compaction runs when a write opens a chunk: then the chunks beyond twice the live bytes are few.
        const { chunkBytes, liveBytes } = arena.stats;
        worstExcess = Math.max(worstExcess, (chunkBytes - 2 * liveBytes) / chunk);
        peakChunks = Math.max(peakChunks, chunkBytes / chunk);
      } else if (r < 99) {
        log.dropOldest();
        model[k]!.shift();
      } else {
        log.releaseAll();
        next[k] = log.lo;
        model[k] = [];
      }
      if (op % 5000 === 4999) {
        for (let j = 0; j < all.length; j++) {
          expect(all[j]!.size).toBe(model[j]!.length);
          if (model[j]!.length > 0) expect(all[j]!.oldestAt).toBe(model[j]![0]!.sentAt);
          for (const x of model[j]!) {
            expect(all[j]!.get(x.seq)).toEqual(x);
            expect(all[j]!.seqOf(x.fp)).toBe(x.seq);
          }
        }
      }
    }
    expect(worstExcess).toBeGreaterThan(0); // holes did pile up
    expect(worstExcess).toBeLessThanOrEqual(12);
    expect(peakChunks).toBeGreaterThan(200); // hundreds of chunks, against a bound of 12
    expect(moves.count).toBeGreaterThan(300); // compaction moved records, and the model still matched
    for (const log of all) log.releaseAll();
    expect(arena.stats.liveBytes).toBe(0);
    expect(arena.stats.chunks).toBeLessThanOrEqual(1);
  });
});
