import { SERVER_UID, withHistory, type Packet } from '@switchboard/protocol';
import { LogThrottle, type Logger, type UserId } from '@switchboard/core';
import { groupConversation, peerConversation, type AppendResult, type ConversationId, type HistoryStore } from '@switchboard/cluster';
import type { GatewayMetrics } from '../metrics.js';

/**
 * Writes each accepted C2C message and server push to its conversation's history before it is
 * delivered (issue 14: every message acked to its sender is in history, with a seq). The store is
 * idempotent by fp: a resend that arrives while the first write is under way, or after it failed,
 * gets the same seq, and the caller's custody check keeps it from being delivered twice.
 */
export class HistoryWriter {
  private readonly quiet = new LogThrottle();

  constructor(
    private readonly store: HistoryStore,
    private readonly log: Logger,
    private readonly metrics: GatewayMetrics,
  ) {}

  /**
   * Append `p` (from `sender` to `receiver`, fingerprint `fp`) to their conversation. Gives the seq and
   * accept time, or null when the store failed (logged at most once per 10 s): the message must then not
   * be acked, so its sender resends. At once (no promise) on a store that lives in the process.
   */
  append(sender: UserId, receiver: UserId, p: Packet, fp: string): AppendResult | null | Promise<AppendResult | null> {
    return this.write(peerConversation(sender, receiver), sender, receiver, p, fp, sender === SERVER_UID ? [receiver] : [sender, receiver]);
  }

  /** Append a message of `sender` to group `gid`'s history (`to` as the sender wrote it). Groups are not indexed per user. */
  appendGroup(gid: string, sender: UserId, p: Packet, fp: string): AppendResult | null | Promise<AppendResult | null> {
    return this.write(groupConversation(gid), sender, p.to, p, fp, []);
  }

  private write(conv: ConversationId, sender: UserId, to: string, p: Packet, fp: string, indexFor: UserId[]): AppendResult | null | Promise<AppendResult | null> {
    const msg = { fp, from: sender, to, dataContent: p.dataContent ?? '', typeu: p.typeu, sentAt: Date.now() };
    try {
      if (this.store.appendNow) return this.written(this.store.appendNow(conv, msg, { indexFor }));
      return Promise.resolve(this.store.append(conv, msg, { indexFor })).then(
        (r) => this.written(r),
        (err: unknown) => this.failed(err),
      );
    } catch (err) {
      return this.failed(err);
    }
  }

  private written(r: AppendResult): AppendResult {
    this.metrics.historyAppends.inc(r.duplicate ? 'duplicate' : 'written');
    return r;
  }

  private failed(err: unknown): null {
    this.metrics.historyAppends.inc('error');
    const skipped = this.quiet.take();
    if (skipped >= 0) this.log.warn({ err, skipped }, 'history write failed; the message is not acked and its sender resends');
    return null;
  }
}

/**
 * Run `then` with the history entry once it is there: now when the store answered at once, after the
 * write otherwise; not at all when the write failed (null: the writer logged it, and nothing may follow).
 */
export function whenAppended(entry: AppendResult | null | Promise<AppendResult | null>, then: (e: AppendResult) => void): void {
  if (entry instanceof Promise) void entry.then((e) => e !== null && then(e));
  else if (entry !== null) then(entry);
}

/** `p` as relayed: not marked as bridged, with the seq and accept time of its history entry (or none). */
export function relayedPacket(p: Packet, entry: AppendResult | null): Packet {
  if (entry === null && !p.bridge && p.seq === undefined && p.sentAt === undefined) return p;
  return entry ? withHistory(p, entry.seq, entry.sentAt) : withHistory(p, 0);
}
