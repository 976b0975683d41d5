import { SERVER_UID, type Packet } from '@switchboard/protocol';
import { LogThrottle, type Logger, type UserId } from '@switchboard/core';
import { groupConversation, peerConversation, type AppendResult, type ConversationId, type HistoryStore } from '@switchboard/cluster';
import type { GatewayMetrics } from '../metrics.js';

/**
 * Writes each accepted C2C message and server push to its conversation's history before it is
 * delivered (issue 14: every message acked to its sender is in history, with a seq). A resend of a
 * message whose write is under way is recognised (`isWriting`) so it is not written twice; the store
 * itself is idempotent by fp, so a resend after a failure gets the same seq.
 */
export class HistoryWriter {
  private readonly writing = new Set<string>();
  private readonly quiet = new LogThrottle();

  constructor(
    private readonly store: HistoryStore,
    private readonly log: Logger,
    private readonly metrics: GatewayMetrics,
  ) {}

  isWriting(sender: UserId, fp: string): boolean {
    return this.writing.has(sender + '\n' + fp);
  }

  /**
   * Append `p` (from `sender` to `receiver`, fingerprint `fp`) to their conversation. Resolves the
   * seq and accept time, or null when the store failed (logged at most once per 10 s): the message
   * must then not be acked, so its sender resends.
   */
  append(sender: UserId, receiver: UserId, p: Packet, fp: string): Promise<AppendResult | null> {
    return this.write(peerConversation(sender, receiver), sender, receiver, p, fp, sender === SERVER_UID ? [receiver] : [sender, receiver]);
  }

  /** Append a message of `sender` to group `gid`'s history (`to` as the sender wrote it). Groups are not indexed per user. */
  appendGroup(gid: string, sender: UserId, p: Packet, fp: string): Promise<AppendResult | null> {
    return this.write(groupConversation(gid), sender, p.to, p, fp, []);
  }

  private async write(conv: ConversationId, sender: UserId, to: string, p: Packet, fp: string, indexFor: UserId[]): Promise<AppendResult | null> {
    const k = sender + '\n' + fp;
    this.writing.add(k);
    try {
      const r = await this.store.append(conv, { fp, from: sender, to, dataContent: p.dataContent ?? '', typeu: p.typeu, sentAt: Date.now() }, { indexFor });
      this.metrics.historyAppends.inc(r.duplicate ? 'duplicate' : 'written');
      return r;
    } catch (err) {
      this.metrics.historyAppends.inc('error');
      const skipped = this.quiet.take();
      if (skipped >= 0) this.log.warn({ err, skipped }, 'history write failed; the message is not acked and its sender resends');
      return null;
    } finally {
      this.writing.delete(k);
    }
  }
}

/** `p` as relayed: not marked as bridged, with the seq and accept time of its history entry (or none). */
export function relayedPacket(p: Packet, entry: AppendResult | null): Packet {
  if (entry === null && !p.bridge && p.seq === undefined && p.sentAt === undefined) return p;
  const { seq: _seq, sentAt: _sentAt, ...rest } = p;
  const out: Packet = rest.bridge ? { ...rest, bridge: false } : rest;
  return entry ? { ...out, seq: entry.seq, sentAt: entry.sentAt } : out;
}
