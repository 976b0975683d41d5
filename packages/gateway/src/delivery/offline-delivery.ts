import { delay, type Logger, type NodeId } from '@switchboard/core';
import type { OfflineStore } from '@switchboard/cluster';
import { DEFAULT_OFFLINE_DELIVERY_BATCH, OFFLINE_PACING_STEP_MS } from '../defaults.js';
import type { Session } from '../sessions/session.js';
import type { SessionHub } from '../sessions/session-hub.js';
import type { LocalDelivery } from './local-delivery.js';

/**
 * Writes a logged-in user's offline queue to its session (architecture §5): oldest first, paced to
 * the connection, each message acked by the client removing it from the queue. Nothing is removed
 * on write, so a connection lost halfway gets the rest at its next login.
 */
export class OfflineDelivery {
  constructor(
    private readonly nodeId: NodeId,
    private readonly log: Logger,
    private readonly hub: SessionHub,
    private readonly local: LocalDelivery,
    private readonly offline: OfflineStore,
  ) {}

  async deliver(s: Session): Promise<void> {
    const uid = s.userId!;
    let msgs;
    try {
      msgs = await this.offline.peek(uid, DEFAULT_OFFLINE_DELIVERY_BATCH);
    } catch (err) {
      s.log.warn({ err }, 'offline queue unavailable at login; it will be delivered at a later login');
      return;
    }
    for (const m of msgs) {
      if (s.state === 'closed') return;
      // Kept for a later login on a transport that carries it (WebSocket).
      if (!this.hub.fits(s, m.packet)) continue;
      // Pace the queue to the connection: written all at once, a long queue of big messages would
      // overflow the slow-consumer bound on every login and never be delivered. Keep half of the
      // bound free for live traffic; a message is always written into an empty buffer.
      const size = Buffer.byteLength(m.packet);
      while (!this.hub.hasRoomForBacklog(s, size)) {
        await delay(OFFLINE_PACING_STEP_MS);
        if ((s.state as string) === 'closed') return;
      }
      this.local.write(s, m.packet, { fp: m.fp, record: { origin: this.nodeId, sender: null, viaOffline: true } });
    }
    if (msgs.length > 0) s.log.debug({ count: msgs.length }, 'delivered offline queue');
  }

  /** Deliver every connected user's queue again (after an outage sent their messages there). */
  redeliverAll(reason: string): void {
    this.log.info({ users: this.hub.userCount, reason }, 'delivering offline queues of connected users');
    for (const s of this.hub.users()) void this.deliver(s);
  }
}
