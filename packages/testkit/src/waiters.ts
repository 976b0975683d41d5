import type { Packet } from '@switchboard/protocol';

interface Waiter {
  /** Try to resolve from current state; true when settled. */
  poll: () => boolean;
  fail: (err: Error) => void;
  /** Reject when the connection closes before the condition holds. */
  rejectOnClose: boolean;
  what: string;
}

/**
 * The pending waits of a `TestClient`: each polls a probe whenever something arrives, and ends with
 * its value, a timeout, or (when it asked for it) the connection closing. Timers are always cleared.
 */
export class WaitSet {
  private readonly waiters = new Set<Waiter>();

  /**
   * Resolve with the first value `probe` gives on a later `poll()`; reject with `timedOut()` after
   * `ms`. The caller has probed once already (and checked the connection is open).
   */
  add<T>(what: string, probe: () => T | undefined, ms: number, rejectOnClose: boolean, timedOut: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      const waiter: Waiter = {
        what,
        rejectOnClose,
        poll: () => {
          const v = probe();
          if (v === undefined) return false;
          done();
          resolve(v);
          return true;
        },
        fail: (err) => {
          done();
          reject(err);
        },
      };
      const timer = setTimeout(() => waiter.fail(timedOut()), ms);
      this.waiters.add(waiter);
    });
  }

  /** Probe every wait again. */
  poll(): void {
    for (const w of [...this.waiters]) w.poll();
  }

  /** The connection closed: reject the waits that cannot succeed any more, with `closedError(what)`. */
  failOnClose(closedError: (what: string) => Error): void {
    for (const w of [...this.waiters]) {
      if (w.rejectOnClose) w.fail(closedError(w.what));
    }
  }
}

/** A probe that scans `list` from `start`, never rescanning entries already rejected. */
export function scanner(list: readonly Packet[], start: number, match?: (p: Packet) => boolean): () => Packet | undefined {
  let i = Math.max(0, start);
  return () => {
    for (; i < list.length; i++) {
      const p = list[i]!;
      if (match === undefined || match(p)) return p;
    }
    return undefined;
  };
}
