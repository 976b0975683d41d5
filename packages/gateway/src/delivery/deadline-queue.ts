import { ChurnMap } from '@switchboard/core';

/**
 * Deadlines that all lie the same `delayMs` after they were set fire in the order they were set,
 * so one FIFO and one timer serve all of them: O(1) to add or cancel, no timer object per entry.
 * The custody of every QoS message uses one of these instead of a `setTimeout` per message.
 */
export class DeadlineQueue<K> {
  /** Insertion order is due order (a re-added key moves to the end). */
  private readonly due = new ChurnMap<K, number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly delayMs: number,
    private readonly onDue: (key: K) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** (Re)start the deadline of `key`: it fires `delayMs` from now unless deleted before. */
  add(key: K): void {
    this.due.delete(key);
    this.due.set(key, this.now() + this.delayMs);
    if (this.timer === null) this.arm(this.delayMs);
  }

  delete(key: K): void {
    this.due.delete(key);
  }

  get size(): number {
    return this.due.size;
  }

  /** Forget every deadline and stop the timer. */
  clear(): void {
    this.due.clear();
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.fire(), Math.max(0, ms));
    this.timer.unref();
  }

  private fire(): void {
    this.timer = null;
    const t = this.now();
    // Not a for-of: `onDue` may add (a resend re-arms), and an iterator would not see that.
    for (let next = this.due.first(); next !== undefined; next = this.due.first()) {
      const [key, at] = next;
      if (at > t) {
        this.arm(at - t);
        return;
      }
      this.due.delete(key);
      this.onDue(key);
    }
  }
}
