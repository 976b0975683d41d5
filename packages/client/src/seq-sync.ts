import { createPacket, PacketType, type Packet } from '@switchboard/protocol';
import type { ClientEvent, GapOptions } from './client-types.js';
import { ClientError, ClientErrorCode } from './errors.js';
import { conversationKeyOf, refOfKey } from './groups.js';
import { MAX_HISTORY_LIMIT, type HistoryApi, type StoredMessage } from './history-api.js';
import { DEFAULT_GAP_MAX_CONVERSATIONS, DEFAULT_GAP_MAX_PEERS, Sequencer, type SeqEntry } from './sequencer.js';

export interface SeqSyncDeps {
  uid: string;
  /** The server's group prefix: a conversation key starting with it is a group's address. */
  groupPrefix: string;
  /** The user API, or null (a fixed `server` without `apiUrl`): holes are then reported, not filled. */
  api: HistoryApi | null;
  /** Deliver a data packet to the application (receipt or message). `filled`: it came from history. */
  deliver(p: Packet, filled: boolean): void;
  emit(e: ClientEvent): void;
}

/**
 * The client's side of history `seq`s (issues 14, 15): received messages with a seq go through a
 * `Sequencer` per conversation (in seq order, holes filled from `/api/history`), acks of one's own
 * messages move the conversation's counter, and after every login the known conversations are caught
 * up to their `lastSeq` (`/api/conversations`). A conversation is keyed by the other user, or for a
 * group by the group's address (the packet's `to`; the ack of one's own group message comes from it):
 * its holes are filled from `/api/history?group=`. Messages without a seq (history off) pass straight
 * through.
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
        skipped: (peer, firstSeq, lastSeq, reason, error) => {
          const ref = refOfKey(peer, deps.groupPrefix);
          const err = error instanceof ClientError ? error : null;
          deps.emit({ type: 'gap', peer, ...('group' in ref ? { group: ref.group } : {}), firstSeq, lastSeq, reason, error: err });
        },
        restarted: (key, seq) => {
          const ref = refOfKey(key, deps.groupPrefix);
          // Read notices count in the new history's seqs from now on.
          if ('group' in ref) {
            for (const k of [...this.readBy.keys()]) if (k.startsWith(`${ref.group}\n`)) this.readBy.delete(k);
          } else this.readBy.delete(key);
          deps.emit({ type: 'restart', peer: key, ...('group' in ref ? { group: ref.group } : {}), seq });
        },
      },
      opts,
    );
  }

  /** The seq up to which the conversation with `key` (a peer, or a group's address) was delivered (undefined: none seen yet). */
  lastSeq(key: string): number | undefined {
    return this.seq.lastSeq(key);
  }

  /** Resolves once no fill runs (tests). */
  idle(): Promise<void> {
    return this.seq.idle();
  }

  /** A data packet passed the ack and dedupe: ordered here when it has a seq (true), else left to the caller (false). */
  received(p: Packet): boolean {
    if (this.stopped || p.seq === undefined) return false;
    const key = conversationKeyOf(p, this.deps.uid);
    // A best-effort message has no fp to dedupe by: at or below the counter (and not a restarted
    // history's) it was (all but surely) delivered from history already, so it is dropped rather than
    // shown twice.
    this.seq.receive(key, p.seq, p, p.sentAt, p.fp ? 'deliver' : 'drop');
    return true;
  }

  /**
   * One's own message was acked with `seq` (sent at `sentAt`, when the server says) by `from` (the
   * receiver, or the group's address): the counter moves, nothing is delivered. An unknown
   * conversation starts there.
   */
  sentAcked(from: string, seq: number, sentAt?: number): void {
    if (!this.stopped) this.seq.receive(from, seq, null, sentAt);
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
      const keyed = list.map((c) => ({ peer: c.group === undefined ? c.peer : this.deps.groupPrefix + c.group, lastSeq: c.lastSeq }));
      if (!this.stopped) this.seq.catchUp(keyed);
    } catch (err) {
      if (!this.stopped && err instanceof ClientError) this.deps.emit({ type: 'error', error: err });
    }
  }

  stop(): void {
    this.stopped = true;
    this.seq.stop();
  }

  /** Work again after `stop()` (`resume()`). */
  restart(): void {
    this.stopped = false;
    this.seq.restart();
  }

  private async fetch(key: string, before: number, limit: number): Promise<Array<SeqEntry<Packet>>> {
    if (!this.deps.api) throw new ClientError(ClientErrorCode.INVALID_ARGUMENT, 'no history API: the client has neither dispatchUrl nor apiUrl');
    try {
      const ref = refOfKey(key, this.deps.groupPrefix);
      const page = await this.deps.api.history(ref, { before, limit });
      // A group's entries name the sender; live, the member got `from` = address + ':' + sender.
      const group = 'group' in ref ? key : null;
      return page.map((m) => ({ seq: m.seq, item: m.from === this.deps.uid ? null : packetOf(m, group), at: m.sentAt }));
    } catch (err) {
      if (!this.stopped && err instanceof ClientError) this.deps.emit({ type: 'error', error: err });
      throw err;
    }
  }
}

/** A history message as the data packet it was when delivered live (through the group at `address`, if any). */
function packetOf(m: StoredMessage, address: string | null): Packet {
  const from = address === null ? m.from : `${address}:${m.from}`;
  const to = address === null ? m.to : address;
  return {
    ...createPacket({ type: PacketType.DATA, from, to, dataContent: m.content, fp: m.fp, QoS: true, typeu: m.typeu }),
    seq: m.seq,
    sentAt: m.sentAt,
  };
}
