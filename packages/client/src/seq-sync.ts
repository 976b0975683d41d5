import { createPacket, PacketType, type Packet } from '@switchboard/protocol';
import type { ClientEvent, GapOptions } from './client-types.js';
import { ClientError, ClientErrorCode } from './errors.js';
import { MAX_HISTORY_LIMIT, type HistoryApi, type StoredMessage } from './history-api.js';
import { DEFAULT_GAP_MAX_CONVERSATIONS, DEFAULT_GAP_MAX_PEERS, Sequencer, type SeqEntry } from './sequencer.js';

export interface SeqSyncDeps {
  uid: string;
  /** The user API, or null (a fixed `server` without `apiUrl`): holes are then reported, not filled. */
  api: HistoryApi | null;
  /** Deliver a data packet to the application (receipt or message). `filled`: it came from history. */
  deliver(p: Packet, filled: boolean): void;
  emit(e: ClientEvent): void;
}

/**
 * The client's side of history `seq`s (issue 14): received messages with a seq go through a
 * `Sequencer` per peer (in seq order, holes filled from `/api/history`), acks of one's own messages
 * move the peer's counter, and after every login the conversations of known peers are caught up to
 * their `lastSeq` (`/api/conversations`). Messages without a seq (history off), and group messages
 * (their `to` is the group, not this user), pass straight through.
 */
export class SeqSync {
  private readonly seq: Sequencer<Packet>;
  /** Conversations asked for per catch-up: the newest ones, where what happened while away is. */
  private readonly listLimit: number;
  /** Highest seq each peer was said to have read (notices repeat: every marker call sends one). */
  private readonly readBy = new Map<string, number>();
  private readonly maxPeers: number;
  private stopped = false;

  constructor(
    private readonly deps: SeqSyncDeps,
    opts: GapOptions = {},
  ) {
    this.listLimit = Math.min(MAX_HISTORY_LIMIT, Math.max(1, opts.maxConversations ?? DEFAULT_GAP_MAX_CONVERSATIONS));
    this.maxPeers = Math.max(1, opts.maxPeers ?? DEFAULT_GAP_MAX_PEERS);
    this.seq = new Sequencer<Packet>(
      {
        fetch: (peer, before, limit) => this.fetch(peer, before, limit),
        deliver: (_peer, p, filled) => deps.deliver(p, filled),
        skipped: (peer, firstSeq, lastSeq, reason, error) =>
          deps.emit({ type: 'gap', peer, firstSeq, lastSeq, reason, error: error instanceof ClientError ? error : null }),
      },
      opts,
    );
  }

  /** The seq up to which the conversation with `peer` was delivered (undefined: none seen yet). */
  lastSeq(peer: string): number | undefined {
    return this.seq.lastSeq(peer);
  }

  /** Resolves once no fill runs (tests). */
  idle(): Promise<void> {
    return this.seq.idle();
  }

  /** A data packet passed the ack and dedupe: ordered here when it has a seq (true), else left to the caller (false). */
  received(p: Packet): boolean {
    if (this.stopped || p.seq === undefined || p.to !== this.deps.uid) return false;
    // A best-effort message has no fp to dedupe by: at or below the counter it was (all but surely)
    // delivered from history already, so it is dropped rather than shown twice.
    const last = this.seq.lastSeq(p.from);
    if (!p.fp && last !== undefined && p.seq <= last) return true;
    this.seq.receive(p.from, p.seq, p);
    return true;
  }

  /** One's own message to `to` was acked with `seq`: the counter moves, nothing is delivered. */
  sentAcked(to: string, seq: number): void {
    // Only conversations already known: a group's acks (to "g:…") never start one.
    if (!this.stopped && this.seq.lastSeq(to) !== undefined) this.seq.receive(to, seq, null);
  }

  /** A read notice: true when it moves what `peer` (in `group`, if any) read, false for a repeat or an older one. */
  readAdvanced(peer: string, seq: number, group?: string): boolean {
    const key = group === undefined ? peer : `${group}\n${peer}`;
    if (seq <= (this.readBy.get(key) ?? 0)) return false;
    this.readBy.delete(key);
    this.readBy.set(key, seq);
    if (this.readBy.size > this.maxPeers) this.readBy.delete(this.readBy.keys().next().value!);
    return true;
  }

  /** After a (re)login: catch the known conversations up to their `lastSeq`. Failures are `error` events. */
  async afterLogin(): Promise<void> {
    const api = this.deps.api;
    if (!api || this.stopped || this.seq.peers().length === 0) return;
    try {
      const list = await api.conversations({ limit: this.listLimit });
      if (!this.stopped) this.seq.catchUp(list);
    } catch (err) {
      if (!this.stopped && err instanceof ClientError) this.deps.emit({ type: 'error', error: err });
    }
  }

  stop(): void {
    this.stopped = true;
    this.seq.stop();
  }

  private async fetch(peer: string, before: number, limit: number): Promise<Array<SeqEntry<Packet>>> {
    if (!this.deps.api) throw new ClientError(ClientErrorCode.INVALID_ARGUMENT, 'no history API: the client has neither dispatchUrl nor apiUrl');
    try {
      const page = await this.deps.api.history(peer, { before, limit });
      return page.map((m) => ({ seq: m.seq, item: m.from === this.deps.uid ? null : packetOf(m) }));
    } catch (err) {
      if (!this.stopped && err instanceof ClientError) this.deps.emit({ type: 'error', error: err });
      throw err;
    }
  }
}

/** A history message as the data packet it was when delivered live. */
function packetOf(m: StoredMessage): Packet {
  return {
    ...createPacket({ type: PacketType.DATA, from: m.from, to: m.to, dataContent: m.content, fp: m.fp, QoS: true, typeu: m.typeu }),
    seq: m.seq,
    sentAt: m.sentAt,
  };
}
