import { PacketType } from '@switchboard/protocol';
import type { UserId } from '@switchboard/core';
import type { Session } from '../sessions/session.js';
import type { SessionHub } from '../sessions/session-hub.js';
import type { InboundLedger, InboundRecord } from './inbound.js';
import { DEFAULT_INBOUND_MEMORY_MS } from '../defaults.js';

/** What became of a local write: written, too large for the receiver's transport, or the session is gone/closing. */
export type LocalWrite = 'written' | 'too_large' | 'closed';

/**
 * The one local write path of a data packet, used by custody, nudges, offline delivery, best-effort
 * messages and the bridge's `deliver`: check that the receiver's transport carries it, write it, and
 * (for a QoS message) remember where its ack must go and which connection it went to.
 *
 * One copy is not written: a message that an offline redelivery (after an outage) already wrote to
 * this very connection, pending or acked lately. After a broker outage the receiver's gateway
 * redelivers its users' queues while the senders' gateways nudge the same messages across the
 * bridge; without this, each such message reached its receiver twice.
 */
export class LocalDelivery {
  /** When a redelivery last wrote: the check above costs a lookup only within the ledger's memory after it. */
  private redeliveredAt = -Infinity;

  constructor(
    private readonly hub: SessionHub,
    private readonly inbound: InboundLedger,
  ) {}

  write(s: Session, wire: string, ack: { fp: string; record: InboundRecord } | null): LocalWrite {
    if (!this.hub.fits(s, wire)) return 'too_large';
    if (ack !== null && this.redeliveredHere(s, ack.fp)) return 'written';
    if (!this.hub.write(s, wire, PacketType.DATA)) return 'closed';
    if (ack !== null) {
      this.inbound.expect(s.userId as UserId, ack.fp, ack.record, s.connId);
      if (ack.record.redelivered === true) this.redeliveredAt = Date.now();
    }
    return 'written';
  }

  /** Whether `fp` is pending on `s` itself (written to this connection and not acked yet). */
  pendingOn(s: Session, fp: string): boolean {
    return this.inbound.pending(s.userId as UserId, fp)?.conn === s.connId;
  }

  private redeliveredHere(s: Session, fp: string): boolean {
    if (Date.now() - this.redeliveredAt > 2 * DEFAULT_INBOUND_MEMORY_MS) return false;
    return this.inbound.redeliveredTo(s.userId as UserId, fp, s.connId);
  }
}
