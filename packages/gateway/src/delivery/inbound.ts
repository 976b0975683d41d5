import type { NodeId, UserId } from '@switchboard/core';
import { DEFAULT_INBOUND_MEMORY_MS } from '../defaults.js';
import { TtlMap } from './ttl-map.js';

/** Where a message this node wrote to a local receiver came from, so its ack can be relayed. */
export interface InboundRecord {
  /** The node holding custody (this one for local senders, pushes and offline deliveries). */
  origin: NodeId;
  /** The sender the ack is for; null for offline deliveries, whose senders were acked at storage. */
  sender: UserId | null;
  /** Delivered from the receiver's offline queue: the ack removes the queue entry, nothing to relay. */
  viaOffline: boolean;
}

/**
 * Messages written to local receivers and not yet acked, by (receiver, fp). Entries are forgotten
 * after 1–2 × DEFAULT_INBOUND_MEMORY_MS: a later ack is treated as unknown.
 */
export class InboundLedger {
  private readonly map = new TtlMap<InboundRecord>(DEFAULT_INBOUND_MEMORY_MS);

  expect(receiver: UserId, fp: string, rec: InboundRecord): void {
    this.map.set(receiver + '\n' + fp, rec);
  }

  /** The record of `fp` for `receiver`, removed; undefined when unknown (expired, or a second ack). */
  take(receiver: UserId, fp: string): InboundRecord | undefined {
    const k = receiver + '\n' + fp;
    const rec = this.map.get(k);
    if (rec) this.map.delete(k);
    return rec;
  }
}
