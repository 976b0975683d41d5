import { describe, expect, it } from 'vitest';
import { waitFor } from '@switchboard/core';
import { DeadlineQueue } from '../../src/delivery/deadline-queue.js';

describe('DeadlineQueue', () => {
  it('fires each key once, in the order set, no earlier than its delay', async () => {
    const fired: Array<{ key: number; after: number }> = [];
    const t0 = performance.now();
    const q = new DeadlineQueue<number>(40, (key) => fired.push({ key, after: performance.now() - t0 }));
    for (let i = 0; i < 5; i++) q.add(i);
    await waitFor(() => fired.length === 5, { timeoutMs: 2_000 });
    expect(fired.map((f) => f.key)).toEqual([0, 1, 2, 3, 4]);
    for (const f of fired) expect(f.after).toBeGreaterThanOrEqual(39);
    expect(q.size).toBe(0);
  });

  it('never fires a deleted key; a re-added key moves its deadline', async () => {
    let clock = 0;
    const fired: string[] = [];
    const q = new DeadlineQueue<string>(100, (k) => fired.push(k), () => clock);
    q.add('a');
    q.add('b');
    q.add('c');
    q.delete('b');
    clock = 50;
    q.add('a'); // now due at 150
    clock = 120;
    await waitFor(() => fired.length >= 1, { timeoutMs: 2_000 });
    expect(fired).toEqual(['c']);
    clock = 200;
    await waitFor(() => fired.length >= 2, { timeoutMs: 2_000 });
    expect(fired).toEqual(['c', 'a']);
    q.clear();
  });

  it('a key added from inside onDue waits for its own deadline', async () => {
    const fired: number[] = [];
    let again = true;
    const q: DeadlineQueue<number> = new DeadlineQueue(20, (k) => {
      fired.push(k);
      if (again) {
        again = false;
        q.add(k);
      }
    });
    q.add(7);
    await waitFor(() => fired.length === 2, { timeoutMs: 2_000 });
    expect(fired).toEqual([7, 7]);
  });

  it('among many due at once, onDue may re-add its key and delete others: a deleted key never fires', async () => {
    // 300 keys due together; each handler re-arms its key (as a resend does) and deletes the next
    // key. The re-adds renew the map under the queue partway through (ChurnMap).
    let clock = 0;
    const fired: number[] = [];
    const q: DeadlineQueue<number> = new DeadlineQueue(
      100,
      (k) => {
        fired.push(k);
        q.add(k);
        q.delete(k + 1);
      },
      () => clock,
    );
    for (let k = 0; k < 300; k++) q.add(k);
    clock = 150;
    await waitFor(() => fired.length >= 150, { timeoutMs: 2_000 });
    expect(fired).toEqual(Array.from({ length: 150 }, (_, i) => 2 * i));
    expect(q.size).toBe(150);
    q.clear();
  });

  it('clear stops everything', async () => {
    const fired: number[] = [];
    const q = new DeadlineQueue<number>(10, (k) => fired.push(k));
    q.add(1);
    q.clear();
    await new Promise((r) => setTimeout(r, 40));
    expect(fired).toEqual([]);
  });
});
