import { describe, expect, it } from 'vitest';
import { asNodeId, type NodeId } from '@switchboard/core';
import { PublishBatcher } from '../../src/amqp/publish-batcher.js';

interface Flushed {
  target: NodeId;
  items: string[];
  bytes: number;
  ctx: number;
}

/** A batcher whose batches are numbered contexts and whose flushes are recorded. */
function recorder(maxItems: number, maxBytes: number): { b: PublishBatcher<number>; flushed: Flushed[]; opened: NodeId[] } {
  const flushed: Flushed[] = [];
  const opened: NodeId[] = [];
  const b = new PublishBatcher<number>({
    maxItems,
    maxBytes,
    open: (target) => {
      opened.push(target);
      return opened.length;
    },
    flush: (target, items, bytes, ctx) => flushed.push({ target, items: items.map((i) => i.toString()), bytes, ctx }),
  });
  return { b, flushed, opened };
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
const x = asNodeId('x');
const y = asNodeId('y');

describe('PublishBatcher', () => {
  it('add - items of one turn go out together per target at the end of the turn, in order', async () => {
    const { b, flushed } = recorder(64, 65_536);
    const cx = [b.add(x, Buffer.from('a')), b.add(y, Buffer.from('b')), b.add(x, Buffer.from('c'))];
    expect(cx).toEqual([1, 2, 1]);
    expect(flushed).toEqual([]);
    expect(b.size).toBe(2);
    await turn();
    expect(flushed).toEqual([
      { target: x, items: ['a', 'c'], bytes: 2, ctx: 1 },
      { target: y, items: ['b'], bytes: 1, ctx: 2 },
    ]);
    expect(b.size).toBe(0);
    b.add(x, Buffer.from('d'));
    await turn();
    expect(flushed.at(-1)).toEqual({ target: x, items: ['d'], bytes: 1, ctx: 3 });
  });

  it('add - flushes at once when a batch reaches maxItems', async () => {
    const { b, flushed } = recorder(3, 65_536);
    for (let i = 0; i < 7; i++) b.add(x, Buffer.from(String(i)));
    expect(flushed.map((f) => f.items)).toEqual([
      ['0', '1', '2'],
      ['3', '4', '5'],
    ]);
    await turn();
    expect(flushed.map((f) => f.items)).toEqual([['0', '1', '2'], ['3', '4', '5'], ['6']]);
  });

  it('add - never lets a batch of two or more items exceed maxBytes; an oversize item travels alone', async () => {
    const { b, flushed } = recorder(64, 10);
    const sizes = [4, 4, 4, 10, 3, 12, 2, 5, 3, 1];
    sizes.forEach((n, i) => b.add(x, Buffer.from(String.fromCharCode(97 + i).repeat(n))));
    await turn();
    expect(flushed.map((f) => f.items.map((s) => s.length))).toEqual([[4, 4], [4], [10], [3], [12], [2, 5, 3], [1]]);
    for (const f of flushed) expect(f.bytes).toBe(f.items.reduce((s, i) => s + i.length, 0));
    expect(flushed.flatMap((f) => f.items).join('')).toBe(sizes.map((n, i) => String.fromCharCode(97 + i).repeat(n)).join(''));
  });

  it('flushAll - flushes what waits now; discard - forgets it and returns its contexts', async () => {
    const { b, flushed } = recorder(64, 65_536);
    b.add(x, Buffer.from('a'));
    b.flushAll();
    expect(flushed).toHaveLength(1);
    b.add(x, Buffer.from('b'));
    b.add(y, Buffer.from('c'));
    expect(b.discard()).toEqual([2, 3]);
    await turn();
    expect(flushed).toHaveLength(1);
    expect(b.size).toBe(0);
  });
});
