import { LogThrottle, type Logger, type NodeId, type UserId } from '@switchboard/core';
import type { Packet } from '@switchboard/protocol';
import type { GatewayHooks } from '../hooks.js';
import type { EventSink } from '../events.js';
import { withEventId, type ImEventDraft } from '../event-sinks.js';
import type { GatewayMetrics } from '../metrics.js';

/** What an outcome is about: one QoS message, by sender and fingerprint. */
export interface MessageRef {
  sender: UserId;
  receiver: UserId;
  fp: string;
  packet: Packet;
}

/**
 * Why a message was neither delivered nor stored (the `lost` metric's label and event's reason):
 * too large for the receiver's transport, offline queue full, store unreachable, the sender's
 * offline budget spent, offline storage over its ceiling, or a receiver the application does not know.
 */
export type LostReason = 'too_large' | 'full' | 'error' | 'sender_budget' | 'storage_full' | 'unknown_receiver';

/**
 * The one place that reports what became of a message: each outcome is a metric, an application
 * hook and an event, in one call. Also runs hooks safely (a throwing hook is logged, never fatal)
 * and publishes events without waiting (a failure is logged at most once per 10 s).
 */
export class Outcomes {
  private readonly quiet = new LogThrottle();
  /** Told of every message stored for an offline user (the offline-push hook, PushNeededReporter). */
  onStoredFor: ((m: { user: UserId; from: string; fp: string; typeu: number; dataContent: string | null; group?: string }) => void) | null = null;

  constructor(
    private readonly nodeId: NodeId,
    private readonly log: Logger,
    private readonly metrics: GatewayMetrics,
    readonly hooks: GatewayHooks,
    readonly events: EventSink | null,
  ) {}

  /** The receiver acked, `latencyMs` after custody began. */
  delivered(m: MessageRef, latencyMs: number): void {
    this.metrics.deliveryLatency.observe(latencyMs / 1000);
    if (this.hooks.onDelivered) this.hook(() => this.hooks.onDelivered?.(m.packet));
    if (this.events) {
      this.emit({ type: 'c2c.delivered', at: Date.now(), nodeId: this.nodeId, from: m.sender, to: m.receiver, fp: m.fp, typeu: m.packet.typeu, dataContent: m.packet.dataContent, latencyMs });
    }
  }

  /** Stored in the receiver's offline queue (the sender is acked). */
  storedOffline(m: MessageRef): void {
    this.metrics.offlineStored.inc();
    this.hook(() => this.hooks.onStoredOffline?.(m.packet));
    if (this.events) this.emit({ type: 'c2c.offline', at: Date.now(), nodeId: this.nodeId, from: m.sender, to: m.receiver, fp: m.fp, typeu: m.packet.typeu, dataContent: m.packet.dataContent });
    this.onStoredFor?.({ user: m.receiver, from: m.sender, fp: m.fp, typeu: m.packet.typeu, dataContent: m.packet.dataContent });
  }

  /** Neither delivered nor stored. */
  lost(m: MessageRef, reason: LostReason): void {
    this.metrics.lost.inc({ reason });
    this.hook(() => this.hooks.onLost?.(m.packet, reason));
    if (this.events) this.emit({ type: 'lost', at: Date.now(), nodeId: this.nodeId, from: m.sender, to: m.receiver, fp: m.fp, typeu: m.packet.typeu, reason });
  }

  /** A best-effort (non-QoS) message could not be delivered: counted only, since it has no fp to report. */
  lostBestEffort(reason: LostReason): void {
    this.metrics.lost.inc({ reason });
  }

  /** Publish an event without waiting; a failure is logged (throttled), never fatal. */
  emit(draft: ImEventDraft): void {
    if (this.events === null) return;
    this.events.publish(withEventId(draft)).catch((err: unknown) => {
      const skipped = this.quiet.take();
      if (skipped >= 0) this.log.warn({ err, type: draft.type, skipped }, 'event not published');
    });
  }

  /** Run an application hook; a hook that throws is logged and ignored. */
  hook(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.warn({ err }, 'application hook failed');
    }
  }
}
