/**
 * Fewest sets between two renewals, and the share of the size: a renewal copies the live entries,
 * so renewing after max(RENEW_MIN_SETS, 2 × size) sets costs at most half a copy per set.
 */
const RENEW_MIN_SETS = 64;

/**
 * A Map for keys that come and go all the time (one per message in flight): the same answers as a
 * Map, and a fresh Map under it every max(64, 2 × size) sets.
 *
 * Why: when V8 rebuilds a Map's hash table (it does every few sets and deletes under churn), the
 * old table keeps a link to the new one. Once one table of a long-lived Map has been promoted to
 * the old generation, that link makes every later table, and every key and value in it, survive
 * the young-generation collections and get promoted too, until a full collection. At 5k msg/s that
 * was about 1.4 KB per message promoted and then collected by mark-compacts (docs/benchmarks.md).
 * A fresh Map starts with young tables, so the chain ends at each renewal. A map that empties
 * renews at its next set too: a small map that fills and empties slowly (one per connection) keeps
 * each table long enough to be promoted. Not for maps that only grow: they never renew (their
 * entries are live anyway).
 *
 * An iterator sees the Map it started on: a set that renews meanwhile is not seen by it, and
 * neither is a delete after that. So do not set while iterating; take `first()` in a loop instead.
 */
export class ChurnMap<K, V> implements Iterable<[K, V]> {
  private map = new Map<K, V>();
  private sets = 0;

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    return this.map.get(key);
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  set(key: K, value: V): this {
    if (++this.sets >= RENEW_MIN_SETS && this.sets >= 2 * this.map.size) {
      this.map = new Map(this.map);
      this.sets = 0;
    }
    this.map.set(key, value);
    return this;
  }

  delete(key: K): boolean {
    if (!this.map.delete(key)) return false;
    if (this.map.size === 0) this.sets = RENEW_MIN_SETS; // the next set starts a fresh Map
    return true;
  }

  /** The oldest entry (insertion order), or undefined when empty. */
  first(): [K, V] | undefined {
    const r = this.map.entries().next();
    return r.done === true ? undefined : r.value;
  }

  clear(): void {
    this.map = new Map();
    this.sets = 0;
  }

  keys(): MapIterator<K> {
    return this.map.keys();
  }

  values(): MapIterator<V> {
    return this.map.values();
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.map.entries();
  }
}

/** A Set for values that come and go all the time: a ChurnMap underneath (and do not add while iterating). */
export class ChurnSet<T> implements Iterable<T> {
  private readonly map = new ChurnMap<T, true>();

  get size(): number {
    return this.map.size;
  }

  has(value: T): boolean {
    return this.map.has(value);
  }

  add(value: T): this {
    this.map.set(value, true);
    return this;
  }

  delete(value: T): boolean {
    return this.map.delete(value);
  }

  clear(): void {
    this.map.clear();
  }

  [Symbol.iterator](): MapIterator<T> {
    return this.map.keys();
  }
}
