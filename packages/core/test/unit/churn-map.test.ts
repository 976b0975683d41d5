import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { ChurnMap, ChurnSet } from '../../src/churn-map.js';

/** A small deterministic generator, so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('ChurnMap', () => {
  it('answers as a Map does, insertion order included, through many renewals', () => {
    const r = rng(7);
    const model = new Map<string, number>();
    const m = new ChurnMap<string, number>();
    for (let i = 0; i < 20_000; i++) {
      const k = 'k' + Math.floor(r() * 300);
      const op = r();
      if (op < 0.5) {
        model.set(k, i);
        m.set(k, i);
      } else if (op < 0.95) {
        expect(m.delete(k)).toBe(model.delete(k));
      } else if (op < 0.97) {
        model.clear();
        m.clear();
      }
      expect(m.size).toBe(model.size);
      expect(m.get(k)).toBe(model.get(k));
      expect(m.has(k)).toBe(model.has(k));
      if (i % 500 === 0) expect([...m]).toEqual([...model]);
    }
    expect([...m.keys()]).toEqual([...model.keys()]);
    expect([...m.values()]).toEqual([...model.values()]);
  });

  it('first() is the oldest entry; a set of an existing key keeps its place, as in a Map', () => {
    const m = new ChurnMap<string, number>();
    expect(m.first()).toBeUndefined();
    for (let i = 0; i < 200; i++) m.set('k' + i, i);
    m.set('k0', -1);
    expect(m.first()).toEqual(['k0', -1]);
    m.delete('k0');
    expect(m.first()).toEqual(['k1', 1]);
  });

  it('does not promote what churns through it to the old generation, where a Map does', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as (opts?: { type: 'minor' | 'major' }) => void;
    const oldUsed = () =>
      getHeapSpaceStatistics()
        .filter((s) => s.space_name === 'old_space' || s.space_name === 'large_object_space')
        .reduce((a, s) => a + s.space_used_size, 0);
    // A long-lived map (old, as after a quiet start), then 10,000 messages through it, 4 at a time,
    // with young-generation collections between bursts. What survives them lands in the old generation.
    const promoted = (map: { set(k: string, v: object): unknown; delete(k: string): boolean }): number => {
      map.set('seed', {});
      gc();
      gc();
      map.delete('seed');
      const before = oldUsed();
      for (let round = 0; round < 20; round++) {
        for (let i = 0; i < 500; i++) {
          map.set(`${round}:${i}`, { payload: new Array(64).fill(i) });
          if (i >= 4) map.delete(`${round}:${i - 4}`);
        }
        for (let i = 496; i < 500; i++) map.delete(`${round}:${i}`);
        gc({ type: 'minor' });
      }
      gc({ type: 'minor' });
      return oldUsed() - before;
    };
    // The ChurnMap first: a plain Map's trial leaves V8 promoting fast (everything survived). The least
    // of five tries, since a collection the heap starts on its own can promote some (3 MB once, in a
    // full CI run beside a CPU hog). Measured alone: 12–40 KB for the ChurnMap, about 7 MB for a Map.
    const least = (make: () => Parameters<typeof promoted>[0]) => Math.min(...Array.from({ length: 5 }, () => promoted(make())));
    expect(least(() => new ChurnMap())).toBeLessThan(1_000_000);
    // The control: V8 links each replaced hash table to the next, so a plain Map promotes it all.
    // If this ever fails, V8 changed and ChurnMap may no longer be needed.
    expect(least(() => new Map())).toBeGreaterThan(3_000_000);
  });
});

describe('ChurnSet', () => {
  it('answers as a Set does through many renewals, and an emptied set starts afresh', () => {
    const r = rng(11);
    const model = new Set<number>();
    const s = new ChurnSet<number>();
    for (let i = 0; i < 20_000; i++) {
      const v = Math.floor(r() * 100);
      if (r() < 0.5) {
        model.add(v);
        s.add(v);
      } else {
        expect(s.delete(v)).toBe(model.delete(v));
      }
      expect(s.size).toBe(model.size);
      expect(s.has(v)).toBe(model.has(v));
      if (i % 500 === 0) expect([...s]).toEqual([...model]);
    }
    for (const v of [...model]) s.delete(v);
    expect(s.size).toBe(0);
    s.add(1);
    expect([...s]).toEqual([1]);
  });
});
