import type { ConnId, NodeId, UserId } from '@switchboard/core';
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
  /**
   * Written by an offline redelivery (after an outage), not a login: a copy of the same fp for the
   * same connection while this one is pending is not written again (LocalDelivery).
   */
  redelivered?: boolean;
  /** A group message (its custody is this node's, per connection): the ack moves the member's cursor. */
  group?: { gid: string; seq: number };
}

/**
 * Messages written to local receivers and not yet acked, by (receiver, fp). Entries are forgotten
 * after 1–2 × DEFAULT_INBOUND_MEMORY_MS: a later ack is treated as unknown.
 */
export class InboundLedger {
  private readonly map = new TtlMap<Pending>(DEFAULT_INBOUND_MEMORY_MS);
  /** (receiver, fp) → connection of recent acks (see `ackedOn`). */
  private readonly acked = new TtlMap<ConnId>(DEFAULT_INBOUND_MEMORY_MS);
  private rememberAcksUntil = 0;

  /** `conn`: the connection it was written to (LocalDelivery always says). */
  expect(receiver: UserId, fp: string, rec: InboundRecord, conn: ConnId | null = null): void {
    this.map.set(receiver + '\n' + fp, { rec, conn });
  }

  /**
   * Whether an offline redelivery wrote `fp` to `receiver` on `conn` and it is pending there, or
   * it was acked from there lately.
   */
  redeliveredTo(receiver: UserId, fp: string, conn: ConnId): boolean {
    const p = this.map.get(receiver + '\n' + fp);
    if (p !== undefined && p.rec.redelivered === true && p.conn === conn) return true;
    return this.ackedOn(receiver, fp, conn);
  }

  /**
   * Whether `receiver` acked `fp` from `conn` lately: known for messages an offline redelivery
   * wrote, and for every message while `rememberAcks` is on.
   */
  ackedOn(receiver: UserId, fp: string, conn: ConnId): boolean {
    return this.acked.get(receiver + '\n' + fp) === conn;
  }

  /**
   * Remember every ack's connection for `ms` (an offline redelivery after an outage: a message
   * written and acked through another path meanwhile is not written again).
   */
  rememberAcks(ms: number): void {
    this.rememberAcksUntil = Math.max(this.rememberAcksUntil, Date.now() + ms);
  }

  /** The pending record of `fp` for `receiver` and the connection it went to, left in place. */
  pending(receiver: UserId, fp: string): Pending | undefined {
    return this.map.get(receiver + '\n' + fp);
  }

  /** The record of `fp` for `receiver`, removed; undefined when unknown (expired, or a second ack). */
  take(receiver: UserId, fp: string): InboundRecord | undefined {
    const k = receiver + '\n' + fp;
    const p = this.map.get(k);
    if (p) {
      this.map.delete(k);
      if (p.conn !== null && (p.rec.redelivered === true || Date.now() < this.rememberAcksUntil)) this.acked.set(k, p.conn);
    }
    return p?.rec;
  }
}

/** A record and the connection its message was written to. */
export interface Pending {
  rec: InboundRecord;
  conn: ConnId | null;
}
