import { LatencyHistogram, type HistogramSnapshot } from '../shared/histogram.js';

/** The measured window, as performance.now() times (ms). */
export interface Window {
  /** Load started (warmup begins). */
  start: number;
  /** Warmup over: the measured window begins. */
  from: number;
  /** Measured window ends; no new messages after this. */
  to: number;
}

/** Counters of one load phase (Switchboard or echo), updated on the hot path. */
export class PhaseStats {
  /** Messages originated (first sends; resends not counted). */
  sent = 0;
  /** Resends of pending messages by the QoS tick (MobileIMSDK §6.1). */
  resends = 0;
  /** Resends of pending messages right after a reconnect. */
  resendsAfterReconnect = 0;
  /** Unique messages acked to their sender. */
  acked = 0;
  /** Acks that arrived after the sender had given the message up. */
  lateAcks = 0;
  /** Acks for a message already acked. */
  duplicateAcks = 0;
  /** Acks with a fingerprint this run never sent, or that reached a user who did not send it. */
  unknownAcks = 0;
  /** Unique messages handed to the receiving application. */
  delivered = 0;
  /** QoS data packets a receiver got again (same fp) and dropped: duplicates on the wire. */
  wireDuplicates = 0;
  /** Messages the application got twice after dedupe (must be 0). */
  appDuplicates = 0;
  /** Messages that reached a user other than their receiver. */
  misrouted = 0;
  /** QoS data packets with a fingerprint of no message of this run (e.g. an old offline queue). */
  foreign = 0;
  /** Packets that did not decode. */
  badPackets = 0;
  /** Messages the sender gave up after its resends (MobileIMSDK `messagesLost`). */
  senderGaveUp = 0;
  /** Open loop: sends skipped because no sender was online. */
  notSentOffline = 0;
  /** Sent while sender and receiver were on different gateways. */
  crossNode = 0;
  /** Acks / deliveries that arrived inside the measured window (throughput). */
  ackedInWindow = 0;
  deliveredInWindow = 0;
  /** First sends inside the measured window. */
  sentInWindow = 0;
  /** Connections lost while logged in, and successful re-logins after that. */
  disconnects = 0;
  reconnects = 0;
  /** Failed login attempts (connect errors, timeouts, non-zero codes). */
  loginFailures = 0;
  /** Kickouts received, by code. */
  kicks: Record<string, number> = {};
  /** Type-52 error packets received, by error code. */
  errors: Record<string, number> = {};
  readonly ackLatency = new LatencyHistogram();
  readonly deliverLatency = new LatencyHistogram();
  /** Per second of the load (second 0 starts at `window.start`); filled once `window.start` is set. */
  readonly timeline: TimelineSlot[] = [];

  constructor(private readonly window: Window) {}

  private slot(now: number): TimelineSlot | null {
    const i = Math.floor((now - this.window.start) / 1000);
    if (!(i >= 0) || i > 86_400) return null;
    while (this.timeline.length <= i) this.timeline.push(emptySlot());
    return this.timeline[i]!;
  }

  /** A message was originated at `now`. */
  onSent(now: number, measured: boolean): void {
    this.sent++;
    if (measured) this.sentInWindow++;
    const s = this.slot(now);
    if (s) s.sent++;
  }

  /** A message was acked at `now`, `latencyMs` after its send time. */
  onAcked(now: number, latencyMs: number, measured: boolean): void {
    this.acked++;
    if (measured) this.ackLatency.record(latencyMs);
    if (now >= this.window.from && now < this.window.to) this.ackedInWindow++;
    const s = this.slot(now);
    if (s) {
      s.acked++;
      s.ackLatency.record(latencyMs);
    }
  }

  /** A message reached its receiver's application at `now`, `latencyMs` after its send time. */
  onDelivered(now: number, latencyMs: number, measured: boolean): void {
    this.delivered++;
    if (measured) this.deliverLatency.record(latencyMs);
    if (now >= this.window.from && now < this.window.to) this.deliveredInWindow++;
    const s = this.slot(now);
    if (s) {
      s.delivered++;
      s.deliverLatency.record(latencyMs);
    }
  }

  count(map: Record<string, number>, key: number | string): void {
    map[key] = (map[key] ?? 0) + 1;
  }

  /** Everything counted so far as plain JSON (a load worker hands its stats to the parent over IPC). */
  snapshot(): PhaseStatsSnapshot {
    const counters = {} as Record<PhaseCounter, number>;
    for (const k of PHASE_COUNTERS) counters[k] = this[k];
    return {
      counters,
      kicks: { ...this.kicks },
      errors: { ...this.errors },
      ackLatency: this.ackLatency.snapshot(),
      deliverLatency: this.deliverLatency.snapshot(),
      timeline: this.timeline.map((s) => ({
        sent: s.sent,
        acked: s.acked,
        delivered: s.delivered,
        ackLatency: s.ackLatency.snapshot(),
        deliverLatency: s.deliverLatency.snapshot(),
      })),
    };
  }

  /**
   * The stats of several processes' shares of one load as if one process had counted them all:
   * counters and per-code counts summed, latency histograms merged bucket by bucket (exact: the
   * percentiles of the union, not averages of percentiles), second t of every part into second t.
   * The parts' seconds must count from the same start (the workers share one start time).
   */
  static merged(window: Window, parts: readonly PhaseStatsSnapshot[]): PhaseStats {
    const m = new PhaseStats(window);
    for (const p of parts) {
      for (const k of PHASE_COUNTERS) m[k] += p.counters[k] ?? 0;
      for (const [code, n] of Object.entries(p.kicks)) m.kicks[code] = (m.kicks[code] ?? 0) + n;
      for (const [code, n] of Object.entries(p.errors)) m.errors[code] = (m.errors[code] ?? 0) + n;
      m.ackLatency.merge(LatencyHistogram.fromSnapshot(p.ackLatency));
      m.deliverLatency.merge(LatencyHistogram.fromSnapshot(p.deliverLatency));
      p.timeline.forEach((s, t) => {
        while (m.timeline.length <= t) m.timeline.push(emptySlot());
        const slot = m.timeline[t]!;
        slot.sent += s.sent;
        slot.acked += s.acked;
        slot.delivered += s.delivered;
        slot.ackLatency.merge(LatencyHistogram.fromSnapshot(s.ackLatency));
        slot.deliverLatency.merge(LatencyHistogram.fromSnapshot(s.deliverLatency));
      });
    }
    return m;
  }
}

/** The plain counters of `PhaseStats` (what `snapshot` copies and `merged` sums). */
export const PHASE_COUNTERS = [
  'sent', 'resends', 'resendsAfterReconnect', 'acked', 'lateAcks', 'duplicateAcks', 'unknownAcks', 'delivered',
  'wireDuplicates', 'appDuplicates', 'misrouted', 'foreign', 'badPackets', 'senderGaveUp', 'notSentOffline',
  'crossNode', 'ackedInWindow', 'deliveredInWindow', 'sentInWindow', 'disconnects', 'reconnects', 'loginFailures',
] as const;
export type PhaseCounter = (typeof PHASE_COUNTERS)[number];

/** `PhaseStats` as JSON: its counters, per-code counts and histograms (`HistogramSnapshot`s), per second too. */
export interface PhaseStatsSnapshot {
  counters: Record<PhaseCounter, number>;
  kicks: Record<string, number>;
  errors: Record<string, number>;
  ackLatency: HistogramSnapshot;
  deliverLatency: HistogramSnapshot;
  timeline: Array<{ sent: number; acked: number; delivered: number; ackLatency: HistogramSnapshot; deliverLatency: HistogramSnapshot }>;
}

function emptySlot(): TimelineSlot {
  return { sent: 0, acked: 0, delivered: 0, ackLatency: new LatencyHistogram(), deliverLatency: new LatencyHistogram() };
}

/** One second of the load. `ackLatency` / `deliverLatency` hold the acks / deliveries that arrived in that second. */
export interface TimelineSlot {
  sent: number;
  acked: number;
  delivered: number;
  ackLatency: LatencyHistogram;
  deliverLatency: LatencyHistogram;
}
