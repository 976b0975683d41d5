/** A minimal typed event emitter for discriminated unions on `type` (browser-safe, no Node `events`). */
export class Emitter<E extends { type: string }> {
  private readonly byType = new Map<string, Set<(e: never) => void>>();
  private readonly any = new Set<(e: E) => void>();

  /** Call `fn` for every event of `type`. Returns the function that unsubscribes. */
  on<K extends E['type']>(type: K, fn: (e: Extract<E, { type: K }>) => void): () => void {
    let set = this.byType.get(type);
    if (!set) this.byType.set(type, (set = new Set()));
    const f = fn as (e: never) => void;
    set.add(f);
    return () => {
      set.delete(f);
    };
  }

  /** Call `fn` once for the next event of `type`. */
  once<K extends E['type']>(type: K, fn: (e: Extract<E, { type: K }>) => void): () => void {
    const off = this.on(type, (e) => {
      off();
      fn(e);
    });
    return off;
  }

  /** Call `fn` for every event. Returns the function that unsubscribes. */
  onAny(fn: (e: E) => void): () => void {
    this.any.add(fn);
    return () => {
      this.any.delete(fn);
    };
  }

  /**
   * Deliver `e` to its listeners, then to the catch-all ones. A listener that throws does not stop
   * the others; its error is rethrown asynchronously so it is not lost.
   */
  emit(e: E): void {
    const set = this.byType.get(e.type);
    if (set) for (const fn of [...set]) this.call(() => (fn as (e: E) => void)(e));
    for (const fn of [...this.any]) this.call(() => fn(e));
  }

  removeAll(): void {
    this.byType.clear();
    this.any.clear();
  }

  private call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      queueMicrotask(() => {
        throw err;
      });
    }
  }
}
