import { describe, expect, it } from 'vitest';
import { Sequencer, type SeqEntry, type SequencerOptions, type SkipReason } from '../../src/sequencer.js';

// The gap and ordering logic alone: history is an in-memory array, timers fire when the test says.

type Item = string;

/** A conversation's history as the server keeps it: `mine` entries are the user's own (item null). */
function historyOf(from: number, to: number, mine: number[] = []): Array<SeqEntry<Item>> {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i).map((seq) => ({ seq, item: mine.includes(seq) ? null : `m${seq}` }));
}

function harness(history: Record<string, Array<SeqEntry<Item>>>, opts: SequencerOptions = {}, restarted?: (peer: string, seq: number) => void) {
  const delivered: Array<{ peer: string; item: Item; filled: boolean }> = [];
  const skipped: Array<{ peer: string; first: number; last: number; reason: SkipReason; error: unknown }> = [];
  const fetches: Array<{ peer: string; before: number; limit: number }> = [];
  const timers = new Map<number, () => void>();
  let nextTimer = 1;
  let inFlight = 0;
  let maxInFlight = 0;
  /** When set, fetches wait for `release()`. */
  let gate: Promise<void> | null = null;
  let release = (): void => {};
  let fail: Error | null = null;
  const seq = new Sequencer<Item>(
    {
      fetch: async (peer, before, limit) => {
        fetches.push({ peer, before, limit });
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        try {
          if (gate) await gate;
          if (fail) throw fail;
          const older = (history[peer] ?? []).filter((e) => e.seq < before);
          return older.slice(Math.max(0, older.length - limit));
        } finally {
          inFlight--;
        }
      },
      deliver: (peer, item, filled) => delivered.push({ peer, item, filled }),
      skipped: (peer, first, last, reason, error) => skipped.push({ peer, first, last, reason, error }),
      ...(restarted ? { restarted } : {}),
      setTimer: (fn) => {
        const id = nextTimer++;
        timers.set(id, fn);
        return id;
      },
      clearTimer: (id) => timers.delete(id as number),
    },
    opts,
  );
  return {
    seq,
    delivered,
    skipped,
    fetches,
    get maxInFlight() {
      return maxInFlight;
    },
    items: (peer?: string) => delivered.filter((d) => peer === undefined || d.peer === peer).map((d) => d.item),
    timers: () => timers.size,
    /** Fire every armed timer (the grace periods ran out), then wait for the fills. */
    async expire(): Promise<void> {
      for (const [id, fn] of [...timers]) {
        timers.delete(id);
        fn();
      }
      await seq.idle();
    },
    hold(): void {
      gate = new Promise((r) => (release = r));
    },
    release(): void {
      gate = null;
      release();
    },
    failWith(err: Error | null): void {
      fail = err;
    },
  };
}

describe('Sequencer', () => {
  it('in order - each arrival at once; the first seq of a peer is its start; own messages (null) count without delivery', () => {
    const h = harness({});
    h.seq.receive('bob', 5, 'm5');
    h.seq.receive('bob', 6, null); // the ack of one's own message
    h.seq.receive('bob', 7, 'm7');
    h.seq.receive('carol', 1, 'c1');
    expect(h.items()).toEqual(['m5', 'm7', 'c1']);
    expect(h.seq.lastSeq('bob')).toBe(7);
    expect(h.seq.lastSeq('carol')).toBe(1);
    expect(h.fetches).toEqual([]);
    expect(h.timers()).toBe(0);
  });

  it('reorder - a hole closed within the grace period (an overtaken message or own ack) costs no fetch', async () => {
    const h = harness({});
    h.seq.receive('bob', 1, 'm1');
    h.seq.receive('bob', 3, 'm3');
    h.seq.receive('bob', 5, 'm5');
    expect(h.items()).toEqual(['m1']);
    expect(h.timers()).toBe(1);
    h.seq.receive('bob', 4, null);
    h.seq.receive('bob', 2, 'm2');
    expect(h.items()).toEqual(['m1', 'm2', 'm3', 'm5']);
    expect(h.timers()).toBe(0);
    await h.expire();
    expect(h.fetches).toEqual([]);
  });

  it('fill - a hole still open after the grace is fetched; the missing ones come first, then the held ones, in seq order', async () => {
    const h = harness({ bob: historyOf(1, 10, [4]) });
    h.seq.receive('bob', 1, 'm1');
    h.seq.receive('bob', 6, 'm6');
    h.seq.receive('bob', 8, 'm8');
    await h.expire();
    // One request for 2..7: the newest 6 below 8.
    expect(h.fetches).toEqual([{ peer: 'bob', before: 8, limit: 6 }]);
    expect(h.delivered).toEqual([
      { peer: 'bob', item: 'm1', filled: false },
      { peer: 'bob', item: 'm2', filled: true },
      { peer: 'bob', item: 'm3', filled: true },
      // 4 is one's own: counted, not delivered
      { peer: 'bob', item: 'm5', filled: true },
      { peer: 'bob', item: 'm6', filled: false }, // the live copy of a held one, not the fetched one
      { peer: 'bob', item: 'm7', filled: true },
      { peer: 'bob', item: 'm8', filled: false },
    ]);
    expect(h.seq.lastSeq('bob')).toBe(8);
    expect(h.seq.heldCount).toBe(0);
    expect(h.skipped).toEqual([]);
  });

  it('paging - a hole of 450 is fetched oldest first in pages of 200, 200 and 50', async () => {
    const h = harness({ bob: historyOf(1, 500) });
    h.seq.receive('bob', 1, 'm1');
    h.seq.receive('bob', 452, 'm452');
    await h.expire();
    expect(h.fetches).toEqual([
      { peer: 'bob', before: 202, limit: 200 },
      { peer: 'bob', before: 402, limit: 200 },
      { peer: 'bob', before: 452, limit: 50 },
    ]);
    expect(h.items()).toEqual(Array.from({ length: 452 }, (_, i) => `m${i + 1}`));
  });

  it('cap - a hole beyond maxFill: the older part is reported skipped (capped), the newest maxFill are delivered', async () => {
    const h = harness({ bob: historyOf(1, 2000) }, { maxFill: 300 });
    h.seq.receive('bob', 1, 'm1');
    h.seq.receive('bob', 1002, 'm1002');
    await h.expire();
    expect(h.skipped).toEqual([{ peer: 'bob', first: 2, last: 701, reason: 'capped', error: null }]);
    expect(h.fetches.map((f) => f.limit)).toEqual([200, 100]);
    expect(h.items()).toEqual(['m1', ...Array.from({ length: 301 }, (_, i) => `m${702 + i}`)]);
  });

  it('trimmed - seqs history no longer keeps are reported skipped; the rest is delivered in order', async () => {
    const h = harness({ bob: historyOf(6, 20) });
    h.seq.receive('bob', 1, 'm1');
    h.seq.receive('bob', 10, 'm10');
    await h.expire();
    expect(h.skipped).toEqual([{ peer: 'bob', first: 2, last: 5, reason: 'trimmed', error: null }]);
    expect(h.items()).toEqual(['m1', 'm6', 'm7', 'm8', 'm9', 'm10']);
  });

  it('failure - a failed fetch reports the hole (failed, with the error) and releases the held messages in order', async () => {
    const h = harness({ bob: historyOf(1, 20) });
    const err = new Error('503');
    h.failWith(err);
    h.seq.receive('bob', 1, 'm1');
    h.seq.receive('bob', 4, 'm4');
    h.seq.receive('bob', 7, 'm7');
    await h.expire();
    expect(h.skipped).toEqual([
      { peer: 'bob', first: 2, last: 3, reason: 'failed', error: err },
      { peer: 'bob', first: 5, last: 6, reason: 'failed', error: err },
    ]);
    expect(h.items()).toEqual(['m1', 'm4', 'm7']);
    // A message that arrives after all is late: delivered as it comes.
    h.seq.receive('bob', 5, 'm5');
    expect(h.items()).toEqual(['m1', 'm4', 'm7', 'm5']);
  });

  it('live during a fill - the next seq is delivered at once, fetched copies of it are dropped, a new hole gets its own grace and fill', async () => {
    const h = harness({ bob: historyOf(1, 30) });
    h.seq.receive('bob', 1, 'm1');
    h.seq.receive('bob', 3, 'm3');
    h.hold();
    const timer = h.expire();
    await new Promise((r) => setImmediate(r)); // the fetch is under way
    expect(h.fetches).toEqual([{ peer: 'bob', before: 3, limit: 1 }]);
    h.seq.receive('bob', 2, 'm2-live');
    h.seq.receive('bob', 9, 'm9');
    expect(h.items()).toEqual(['m1', 'm2-live', 'm3']);
    h.release();
    await timer;
    expect(h.items()).toEqual(['m1', 'm2-live', 'm3']);
    expect(h.timers()).toBe(1); // 4..8 wait for their own grace period
    await h.expire();
    expect(h.items()).toEqual(['m1', 'm2-live', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9']);
    expect(h.skipped).toEqual([]);
  });

  it('catchUp - known peers whose lastSeq is ahead are filled to it, newest first, at most maxConversations; others untouched', async () => {
    const h = harness({ bob: historyOf(1, 9, [8]), carol: historyOf(1, 5), dave: historyOf(1, 3) }, { maxConversations: 2 });
    h.seq.receive('bob', 3, 'm3');
    h.seq.receive('carol', 5, 'c5');
    h.seq.receive('dave', 1, 'd1');
    h.seq.receive('erin', 1, 'e1');
    const queued = h.seq.catchUp([
      { peer: 'stranger', lastSeq: 40 }, // never seen: not this session's business
      { peer: 'carol', lastSeq: 5 }, // nothing new
      { peer: 'bob', lastSeq: 9 },
      { peer: 'dave', lastSeq: 3 },
      { peer: 'erin', lastSeq: 7 }, // beyond maxConversations: filled when its next message arrives
    ]);
    expect(queued).toBe(2);
    await h.seq.idle();
    expect(h.fetches.map((f) => f.peer)).toEqual(['bob', 'dave']);
    expect(h.items('bob')).toEqual(['m3', 'm4', 'm5', 'm6', 'm7', 'm9']);
    expect(h.items('dave')).toEqual(['d1', 'm2', 'm3']);
    expect(h.seq.lastSeq('bob')).toBe(9);
    expect(h.seq.lastSeq('erin')).toBe(1);
  });

  it('one at a time - fills of several peers never overlap', async () => {
    const h = harness({ a: historyOf(1, 5), b: historyOf(1, 5), c: historyOf(1, 5) });
    for (const p of ['a', 'b', 'c']) {
      h.seq.receive(p, 1, `${p}1`);
      h.seq.receive(p, 5, `${p}5`);
    }
    await h.expire();
    expect(h.fetches.map((f) => f.peer)).toEqual(['a', 'b', 'c']);
    expect(h.maxInFlight).toBe(1);
    expect(h.items('c')).toEqual(['c1', 'm2', 'm3', 'm4', 'c5']);
  });

  it('stop - timers dropped, a fetch answering afterwards delivers nothing, later arrivals are ignored', async () => {
    const h = harness({ bob: historyOf(1, 10) });
    h.seq.receive('bob', 1, 'm1');
    h.seq.receive('bob', 4, 'm4');
    h.hold();
    const timer = h.expire();
    await new Promise((r) => setImmediate(r));
    h.seq.stop();
    h.release();
    await timer;
    h.seq.receive('bob', 2, 'm2');
    expect(h.items()).toEqual(['m1']);
    expect(h.skipped).toEqual([]);
  });

  it('late or restarted - at or below last: sent no later than the newest seen, a late copy (delivered, or dropped when asked); sent later, a new history that starts there', async () => {
    const h = harness({ bob: [{ seq: 1, item: 'n1', at: 900 }, { seq: 2, item: 'n2', at: 901 }, { seq: 3, item: 'n3', at: 902 }] });
    for (let i = 1; i <= 5; i++) h.seq.receive('bob', i, `m${i}`, i * 100);
    h.seq.receive('bob', 3, 'm3 again', 300);
    h.seq.receive('bob', 4, 'm4 again', 400, 'drop');
    h.seq.receive('bob', 2, 'm2 again', undefined, 'drop'); // no send time: late
    expect(h.items()).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm3 again']);
    expect(h.seq.lastSeq('bob')).toBe(5);
    // The history started again: seq 2 of the new one, sent after everything seen, even when dropping late ones.
    h.seq.receive('bob', 2, 'n2', 901, 'drop');
    expect(h.items().slice(6)).toEqual(['n2']);
    expect(h.seq.lastSeq('bob')).toBe(2);
    // Its seq 1 is late now (sent before n2): delivered as it comes; 3 is next; 5 opens a hole filled from the new history.
    h.seq.receive('bob', 1, 'n1', 900);
    h.seq.receive('bob', 3, 'n3', 902);
    h.seq.receive('bob', 5, 'n5', 904);
    await h.expire();
    expect(h.items().slice(7)).toEqual(['n1', 'n3', 'n5']);
    expect(h.skipped).toEqual([{ peer: 'bob', first: 4, last: 4, reason: 'trimmed', error: null }]);
    expect(h.seq.lastSeq('bob')).toBe(5);
  });

  it('restart with held arrivals - the old history\'s held ones are delivered in order, its holes reported trimmed, no fetch; the timer is dropped', async () => {
    const h = harness({});
    h.seq.receive('bob', 1, 'm1', 100);
    h.seq.receive('bob', 4, 'm4', 400);
    h.seq.receive('bob', 6, 'm6', 600);
    expect(h.timers()).toBe(1);
    h.seq.receive('bob', 1, 'n1', 5_000);
    expect(h.items()).toEqual(['m1', 'm4', 'm6', 'n1']);
    expect(h.skipped).toEqual([
      { peer: 'bob', first: 2, last: 3, reason: 'trimmed', error: null },
      { peer: 'bob', first: 5, last: 5, reason: 'trimmed', error: null },
    ]);
    expect(h.timers()).toBe(0);
    expect(h.seq.lastSeq('bob')).toBe(1);
    await h.expire();
    expect(h.fetches).toEqual([]);
  });

  it('restart during a fill - the page of the old hole is not used: its seqs are the new history\'s', async () => {
    const h = harness({ bob: historyOf(1, 10) });
    h.seq.receive('bob', 1, 'm1', 100);
    h.seq.receive('bob', 4, 'm4', 400);
    h.hold();
    const filling = h.expire();
    await new Promise((r) => setImmediate(r));
    expect(h.fetches).toHaveLength(1);
    h.seq.receive('bob', 1, 'n1', 5_000);
    h.release();
    await filling;
    expect(h.items()).toEqual(['m1', 'm4', 'n1']);
    expect(h.seq.lastSeq('bob')).toBe(1);
    h.seq.receive('bob', 2, 'n2', 5_001);
    expect(h.items().at(-1)).toBe('n2');
  });

  it('skipped, then late - a seq reported skipped whose copy comes later, sent after the newest seen (its send time was never seen), is late, not a new history', async () => {
    const restarts: Array<[string, number]> = [];
    const h = harness({}, {}, (peer, seq) => restarts.push([peer, seq]));
    h.seq.receive('bob', 5, 'm5', 500);
    h.seq.receive('bob', 7, null); // one's own, acked without a send time (an older server)
    h.failWith(new Error('history down'));
    await h.expire();
    expect(h.skipped).toEqual([{ peer: 'bob', first: 6, last: 6, reason: 'failed', error: new Error('history down') }]);
    expect(h.seq.lastSeq('bob')).toBe(7);
    h.seq.receive('bob', 6, 'm6', 600);
    expect(h.items()).toEqual(['m5', 'm6']);
    expect(h.seq.lastSeq('bob')).toBe(7);
    expect(restarts).toEqual([]);
  });

  it('own ack - the ack of one\'s own message in a new history tells the restart, before anything is delivered', () => {
    const restarts: Array<[string, number]> = [];
    const h = harness({}, {}, (peer, seq) => restarts.push([peer, seq]));
    for (let i = 1; i <= 3; i++) h.seq.receive('bob', i, `m${i}`, i * 100);
    h.seq.receive('bob', 2, null, 250); // a late ack of one's own, sent before the newest: nothing
    expect(restarts).toEqual([]);
    h.seq.receive('bob', 1, null, 1_000);
    expect(restarts).toEqual([['bob', 1]]);
    expect(h.seq.lastSeq('bob')).toBe(1);
    h.seq.receive('bob', 2, 'n2', 1_001);
    expect(h.items()).toEqual(['m1', 'm2', 'm3', 'n2']);
  });

  it('fetched send times count - after a catch-up, a late copy of a fetched message is late, not a new history', async () => {
    const h = harness({ bob: [2, 3, 4].map((seq) => ({ seq, item: `m${seq}`, at: seq * 100 })) });
    h.seq.receive('bob', 1, 'm1', 100);
    h.seq.catchUp([{ peer: 'bob', lastSeq: 4 }]);
    await h.seq.idle();
    expect(h.items()).toEqual(['m1', 'm2', 'm3', 'm4']);
    h.seq.receive('bob', 4, 'm4 again', 400, 'drop');
    h.seq.receive('bob', 3, 'm3 again', 300);
    expect(h.items()).toEqual(['m1', 'm2', 'm3', 'm4', 'm3 again']);
    expect(h.seq.lastSeq('bob')).toBe(4);
  });

  it('maxPeers - the least recently active idle peers are forgotten; a peer with held messages is kept', () => {
    const h = harness({}, { maxPeers: 2 });
    h.seq.receive('a', 1, 'a1');
    h.seq.receive('a', 3, 'a3'); // held: a is busy
    h.seq.receive('b', 1, 'b1');
    h.seq.receive('c', 1, 'c1');
    expect(h.seq.peers()).toEqual(['a', 'c']);
    h.seq.receive('b', 9, 'b9'); // b starts over from 9
    expect(h.seq.lastSeq('b')).toBe(9);
  });
});
