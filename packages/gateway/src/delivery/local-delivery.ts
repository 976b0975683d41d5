import { PacketType } from '@switchboard/protocol';
import type { UserId } from '@switchboard/core';
import type { Session } from '../sessions/session.js';
import type { SessionHub } from '../sessions/session-hub.js';
import type { InboundLedger, InboundRecord } from './inbound.js';

/** What became of a local write: written, too large for the receiver's transport, or the session is gone/closing. */
export type LocalWrite = 'written' | 'too_large' | 'closed';

/**
 * The one local write path of a data packet, used by custody, nudges, offline delivery, best-effort
 * messages and the bridge's `deliver`: check that the receiver's transport carries it, write it, and
 * (for a QoS message) remember where its ack must go.
 */
export class LocalDelivery {
  constructor(
    private readonly hub: SessionHub,
    private readonly inbound: InboundLedger,
  ) {}

  write(s: Session, wire: string, ack: { fp: string; record: InboundRecord } | null): LocalWrite {
    if (!this.hub.fits(s, wire)) return 'too_large';
    if (!this.hub.write(s, wire, PacketType.DATA)) return 'closed';
    if (ack !== null) this.inbound.expect(s.userId as UserId, ack.fp, ack.record);
    return 'written';
  }
}
