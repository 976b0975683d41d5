import type { NodeId } from '@switchboard/core';

export interface PublishBatcherOptions<C> {
  /** Flush a batch once it holds this many items. */
  maxItems: number;
  /** Flush a batch once its items hold this many bytes; never let a batch of two or more items exceed it. */
  maxBytes: number;
  /** A batch for `target` is opened (its first item arrives); returns what its items share (e.g. the confirm). */
  open(target: NodeId): C;
  /** Publish a full or due batch: `items` in arrival order, `bytes` their total length. Must not throw. */
  flush(target: NodeId, items: Buffer[], bytes: number, ctx: C): void;
}

interface Pending<C> {
  items: Buffer[];
  bytes: number;
  ctx: C;
}

/**
 * Coalesces the items sent to each target during one event-loop turn into batches: a batch is
 * flushed when it reaches `maxItems` or `maxBytes` (at once, inside `add`), or when the turn ends
 * (one `setImmediate` for all targets, so sends made by I/O callbacks of the same loop iteration
 * share a batch). Items to one target keep their order across batches: a batch is always flushed
 * before the next one for the same target opens. Pure bookkeeping: no I/O of its own.
 */
export class PublishBatcher<C> {
  private readonly pending = new Map<NodeId, Pending<C>>();
  private timer: NodeJS.Immediate | undefined;

  constructor(private readonly o: PublishBatcherOptions<C>) {}

  /** Batches waiting for the end of the turn. */
  get size(): number {
    return this.pending.size;
  }

  /** Queue `item` for `target`; returns the context of the batch it joined. */
  add(target: NodeId, item: Buffer): C {
    let b = this.pending.get(target);
    if (b !== undefined && b.bytes + item.length > this.o.maxBytes) {
      this.flushOne(target, b);
      b = undefined;
    }
    if (b === undefined) {
      b = { items: [], bytes: 0, ctx: this.o.open(target) };
      this.pending.set(target, b);
      this.timer ??= setImmediate(() => {
        this.timer = undefined;
        this.flushAll();
      });
    }
    b.items.push(item);
    b.bytes += item.length;
    const ctx = b.ctx;
    if (b.items.length >= this.o.maxItems || b.bytes >= this.o.maxBytes) this.flushOne(target, b);
    return ctx;
  }

  /** Flush every waiting batch now (in the order they were opened). */
  flushAll(): void {
    if (this.timer !== undefined) clearImmediate(this.timer);
    this.timer = undefined;
    for (const [target, b] of [...this.pending]) this.flushOne(target, b);
  }

  /**
   * Forget every waiting batch without flushing it and stop the timer (the link they were meant for
   * is gone). The caller must fail their contexts; returns them.
   */
  discard(): C[] {
    if (this.timer !== undefined) clearImmediate(this.timer);
    this.timer = undefined;
    const ctxs = [...this.pending.values()].map((b) => b.ctx);
    this.pending.clear();
    return ctxs;
  }

  private flushOne(target: NodeId, b: Pending<C>): void {
    if (this.pending.get(target) === b) this.pending.delete(target);
    this.o.flush(target, b.items, b.bytes, b.ctx);
  }
}
