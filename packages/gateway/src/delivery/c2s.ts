import { SERVER_UID, ackPacket, type Packet } from '@switchboard/protocol';
import { ChurnSet, type NodeId } from '@switchboard/core';
import type { GatewayMetrics } from '../metrics.js';
import { withEventId, type ImEventDraft } from '../event-sinks.js';
import type { Session } from '../sessions/session.js';
import type { SessionHub } from '../sessions/session-hub.js';
import { TtlMap } from './ttl-map.js';
import type { Outcomes } from './outcomes.js';

/**
 * Messages to the server (`to: "0"`, architecture §12): deduped by fp for `dedupeMs` as MobileIMSDK's
 * server does, handed to the `onC2S` hook and the `c2s` event. With an event sink, a QoS message is
 * acked only once its event is published (at least once to the application).
 */
export class C2SHandler {
  private readonly seen: TtlMap<true>;
  /** (sender, fp) whose event is being published: a resend meanwhile is ignored. */
  private readonly publishing = new ChurnSet<string>();

  constructor(
    private readonly nodeId: NodeId,
    private readonly metrics: GatewayMetrics,
    private readonly hub: SessionHub,
    private readonly outcomes: Outcomes,
    dedupeMs: number,
  ) {
    this.seen = new TtlMap(dedupeMs);
  }

  onMessage(s: Session, p: Packet): void {
    this.metrics.messages.inc('c2s');
    const uid = s.userId!;
    const hooks = this.outcomes.hooks;
    const draft: ImEventDraft = { type: 'c2s', at: Date.now(), nodeId: this.nodeId, from: uid, fp: p.fp, typeu: p.typeu, dataContent: p.dataContent };
    if (!(p.QoS && p.fp)) {
      this.outcomes.hook(() => hooks.onC2S?.(p));
      this.outcomes.emit(draft);
      return;
    }
    const fp = p.fp;
    const k = uid + '\n' + fp;
    if (this.seen.has(k)) {
      this.hub.send(s, ackPacket(SERVER_UID, uid, fp)); // the client missed our ack
      return;
    }
    if (this.publishing.has(k)) return; // the ack follows the publish under way
    const events = this.outcomes.events;
    if (events === null) {
      this.seen.set(k, true);
      this.hub.send(s, ackPacket(SERVER_UID, uid, fp));
      this.outcomes.hook(() => hooks.onC2S?.(p));
      return;
    }
    // At least once to the application: ack only once the broker has the event (architecture §12).
    this.publishing.add(k);
    events.publish(withEventId(draft)).then(
      () => {
        this.publishing.delete(k);
        this.seen.set(k, true);
        this.outcomes.hook(() => hooks.onC2S?.(p));
        if (s.state !== 'closed') this.hub.send(s, ackPacket(SERVER_UID, uid, fp));
      },
      (err: unknown) => {
        this.publishing.delete(k);
        // No ack: the client resends with the same fp, and the publish is tried again.
        s.log.warn({ err }, 'c2s event not published; not acking, the client will resend');
      },
    );
  }
}
