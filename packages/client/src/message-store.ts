import type { SwitchboardClient, SendOptions } from './client.js';
import { Emitter } from './emitter.js';
import { newFingerprint } from './ids.js';

/**
 * Delivery state of a message in a conversation.
 * - `sending`: written (or waiting for the connection), no ack yet.
 * - `sent`: the server acked it: the receiver has it or it waits in the receiver's offline queue.
 * - `delivered`: the receiver's client confirmed it with a delivery receipt (or, for peers that
 *   send no receipts, never; `sent` is then the last state).
 * - `failed`: lost (no ack after every retry, refused, or the session ended first).
 * - `received`: an incoming message.
 */
export type ChatMessageState = 'sending' | 'sent' | 'delivered' | 'failed' | 'received';

/** One message of a conversation. Objects are replaced, never mutated, when their state changes. */
export interface ChatMessage {
  /** Fingerprint (QoS messages) or a local id. */
  readonly id: string;
  /** The other user of the conversation. */
  readonly peer: string;
  readonly direction: 'in' | 'out';
  readonly content: string;
  readonly typeu: number;
  /** When it was sent: the server's `sentAt` for a received message (local arrival time without history), the local time for one's own. */
  readonly time: number;
  /** Position in the conversation's history (received: on arrival; own: once acked); null without history. */
  readonly seq: number | null;
  readonly state: ChatMessageState;
  /** Why it failed (`failed` only). */
  readonly error: string | null;
}

/** Changes of the store, discriminated on `type`. */
export type StoreEvent =
  | { type: 'added'; message: ChatMessage }
  | { type: 'updated'; message: ChatMessage; previous: ChatMessage }
  | { type: 'read'; peer: string };

/** Order of states: a message never moves backwards (an ack arriving after the receipt keeps `delivered`). */
const RANK: Record<ChatMessageState, number> = { sending: 0, sent: 1, delivered: 2, failed: 3, received: 0 };

/**
 * Conversations of one user, fed by a client's events: the UI renders the store and listens to
 * its events, and never touches the network (as HarmonyChat's message manager does). Keeps every
 * conversation in memory, in arrival order.
 */
export class MessageStore {
  private readonly events = new Emitter<StoreEvent>();
  private readonly byPeer = new Map<string, ChatMessage[]>();
  private readonly byId = new Map<string, ChatMessage>();
  private readonly unreadByPeer = new Map<string, number>();
  private readonly offs: Array<() => void>;

  constructor(
    private readonly client: SwitchboardClient,
    private readonly now: () => number = Date.now,
  ) {
    this.offs = [
      client.on('message', ({ message: m }) => {
        const peer = m.from;
        if (m.fp && this.byId.has(m.fp)) return;
        this.unreadByPeer.set(peer, (this.unreadByPeer.get(peer) ?? 0) + 1);
        this.add({
          id: m.fp ?? `in-${newFingerprint()}`,
          peer,
          direction: 'in',
          content: m.content,
          typeu: m.typeu,
          time: m.sentAt ?? m.receivedAt,
          seq: m.seq,
          state: 'received',
          error: null,
        });
      }),
      client.on('acked', (e) => this.advance(e.fp, 'sent', null, e.seq)),
      client.on('receipt', (e) => this.advance(e.fp, 'delivered', null)),
      client.on('lost', (e) => this.advance(e.fp, 'failed', e.reason === 'rejected' ? `refused by the server (${e.error.serverCode ?? '?'})` : e.reason)),
    ];
  }

  /** Send `content` to `peer` through the client and track it. Returns the new message (state `sending`). */
  send(peer: string, content: string, opts: Omit<SendOptions, 'fp' | 'qos'> = {}): ChatMessage {
    const fp = newFingerprint();
    const msg: ChatMessage = { id: fp, peer, direction: 'out', content, typeu: opts.typeu ?? -1, time: this.now(), seq: null, state: 'sending', error: null };
    this.add(msg);
    this.client.send(peer, content, { ...opts, fp, qos: true }).catch((err: unknown) => {
      // Losses arrive as `lost` events too; this covers a send refused before it was queued.
      if (this.byId.get(fp)?.state === 'sending') this.advance(fp, 'failed', err instanceof Error ? err.message : String(err));
    });
    return msg;
  }

  /** Messages exchanged with `peer`, oldest first. */
  conversation(peer: string): readonly ChatMessage[] {
    return this.byPeer.get(peer) ?? [];
  }

  /** One message by id. */
  get(id: string): ChatMessage | undefined {
    return this.byId.get(id);
  }

  /** Peers with at least one message, most recent activity first. */
  peers(): string[] {
    return [...this.byPeer.entries()]
      .sort((a, b) => (b[1].at(-1)?.time ?? 0) - (a[1].at(-1)?.time ?? 0))
      .map(([peer]) => peer);
  }

  /** Incoming messages from `peer` not yet marked read. */
  unread(peer: string): number {
    return this.unreadByPeer.get(peer) ?? 0;
  }

  markRead(peer: string): void {
    if (!this.unreadByPeer.get(peer)) return;
    this.unreadByPeer.set(peer, 0);
    this.events.emit({ type: 'read', peer });
  }

  /** Listen to changes. Returns the unsubscribe function. */
  subscribe(fn: (e: StoreEvent) => void): () => void {
    return this.events.onAny(fn);
  }

  /** Stop following the client. */
  detach(): void {
    for (const off of this.offs) off();
    this.events.removeAll();
  }

  private add(msg: ChatMessage): void {
    let list = this.byPeer.get(msg.peer);
    if (!list) this.byPeer.set(msg.peer, (list = []));
    list.push(msg);
    this.byId.set(msg.id, msg);
    this.events.emit({ type: 'added', message: msg });
  }

  private advance(id: string, state: ChatMessageState, error: string | null, seq: number | null = null): void {
    const previous = this.byId.get(id);
    if (!previous || previous.direction !== 'out') return;
    // Only forward moves (sending → sent → delivered, sending|sent → failed). A receipt is proof of
    // delivery, so it also overrides `failed`; nothing overrides `delivered`. An ack after the
    // receipt still brings the seq.
    const forward = RANK[state] > RANK[previous.state] && previous.state !== 'failed' && previous.state !== 'delivered';
    const lateProof = state === 'delivered' && previous.state === 'failed';
    const newSeq = seq !== null && previous.seq === null;
    if (!forward && !lateProof && !newSeq) return;
    const message: ChatMessage = forward || lateProof ? { ...previous, state, error, seq: previous.seq ?? seq } : { ...previous, seq };
    this.byId.set(id, message);
    const list = this.byPeer.get(message.peer)!;
    const i = list.lastIndexOf(previous);
    if (i >= 0) list[i] = message;
    this.events.emit({ type: 'updated', message, previous });
  }
}
