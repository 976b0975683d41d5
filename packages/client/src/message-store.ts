import { isControlTypeu } from '@switchboard/protocol';
import type { SwitchboardClient, SendOptions } from './client.js';
import { ConversationState, messageOfStored, nextState, type ChatConversation, type ChatMessage, type ChatMessageState } from './conversation-state.js';
import { Emitter } from './emitter.js';
import { DEFAULT_GROUP_PREFIX, refOfKey } from './groups.js';
import { newFingerprint } from './ids.js';
import { ReadMarker } from './read-marker.js';

export type { ChatMessage, ChatMessageState, ChatConversation } from './conversation-state.js';

/** Changes of the store, discriminated on `type`. */
export type StoreEvent =
  | { type: 'added'; message: ChatMessage }
  | { type: 'updated'; message: ChatMessage; previous: ChatMessage }
  /** The unread count of `peer`'s conversation went to 0. */
  | { type: 'read'; peer: string }
  /** Messages of `peer`'s conversation came from its history (`loadHistory`), placed by seq. */
  | { type: 'loaded'; peer: string; count: number }
  /** The conversation list changed: conversations, names or unread counts from the server (`load`). */
  | { type: 'conversations' };

export interface MessageStoreOptions {
  /** @default Date.now */
  now?: () => number;
  /**
   * `markRead()` also moves the server's read marker (one request at a time per conversation), so
   * unread counts survive a reload and the peer's SDK shows "read". @default false
   */
  syncReads?: boolean;
  /** Told of a failed read marker request (once until one succeeds again). */
  onReadMarkerError?: (peer: string, err: unknown) => void;
}

/** Messages one `loadHistory` fetches by default. */
export const DEFAULT_STORE_HISTORY_PAGE = 50;
/** Conversations one `load` lists. */
const LOAD_CONVERSATIONS = 100;

/**
 * Conversations of one user, fed by a client's events: the UI renders the store and listens to
 * its events, and never touches the network (as HarmonyChat's message manager does). Keeps every
 * conversation in memory. A conversation is keyed by the other user, or for a group by the group's
 * address (`client.groupAddress(gid)`); live messages are kept in arrival order (the SDK delivers
 * each conversation in seq order), history pages are placed by seq. With the server's history,
 * `load()` brings the conversation list (groups with their names, unread counts) and
 * `loadHistory()` a conversation's newest messages; `markRead()` can move the server's marker too.
 */
export class MessageStore {
  private readonly events = new Emitter<StoreEvent>();
  private readonly convs = new Map<string, ConversationState>();
  private readonly byId = new Map<string, ChatMessage>();
  /** Per peer: the seq up to which it read this user's messages (`read` events, `applyRead`). */
  private readonly readBy = new Map<string, number>();
  private readonly offs: Array<() => void>;
  private readonly now: () => number;
  private readonly prefix: string;
  private readonly marker: ReadMarker | null;

  constructor(
    private readonly client: SwitchboardClient,
    options: MessageStoreOptions | (() => number) = {},
  ) {
    const opts = typeof options === 'function' ? { now: options } : options;
    this.now = opts.now ?? Date.now;
    this.prefix = client.groupPrefix ?? DEFAULT_GROUP_PREFIX;
    this.marker = opts.syncReads ? new ReadMarker((key, seq) => client.markRead(refOfKey(key, this.prefix), seq), opts.onReadMarkerError) : null;
    this.offs = [
      client.on('message', ({ message: m }) => {
        if (m.fp && this.byId.has(m.fp)) return;
        const key = m.group === null ? m.from : m.to;
        const c = this.conv(key, m.group);
        if (m.seq === null) c.unseqUnread++;
        this.add(c, {
          id: m.fp ?? `in-${newFingerprint()}`,
          peer: key,
          group: m.group,
          from: m.from,
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
      client.on('read', (e) => {
        if (e.group === undefined) this.applyRead(e.peer, e.seq);
      }),
      client.on('restart', (e) => this.restart(e.peer)),
    ];
  }

  /**
   * Send `content` to `peer` (a user, or a group's address: see `sendToGroup`) through the client
   * and track it. Returns the new message (state `sending`).
   */
  send(peer: string, content: string, opts: Omit<SendOptions, 'fp' | 'qos'> = {}): ChatMessage {
    const fp = newFingerprint();
    const ref = refOfKey(peer, this.prefix);
    const group = 'group' in ref ? ref.group : null;
    const msg: ChatMessage = { id: fp, peer, group, from: this.client.uid, direction: 'out', content, typeu: opts.typeu ?? -1, time: this.now(), seq: null, state: 'sending', error: null };
    this.add(this.conv(peer, group), msg);
    this.client.send(peer, content, { ...opts, fp, qos: true }).catch((err: unknown) => {
      // Losses arrive as `lost` events too; this covers a send refused before it was queued.
      if (this.byId.get(fp)?.state === 'sending') this.advance(fp, 'failed', err instanceof Error ? err.message : String(err));
    });
    return msg;
  }

  /** Send `content` to group `gid` (its conversation's key is the group's address). */
  sendToGroup(gid: string, content: string, opts: Omit<SendOptions, 'fp' | 'qos'> = {}): ChatMessage {
    return this.send(this.prefix + gid, content, opts);
  }

  /** Messages of the conversation with `peer` (or a group's address), oldest first. */
  conversation(peer: string): readonly ChatMessage[] {
    return this.convs.get(peer)?.messages ?? [];
  }

  /** One message by id. */
  get(id: string): ChatMessage | undefined {
    return this.byId.get(id);
  }

  /** Keys of the conversations known (with a message, or listed by `load()`), most recent activity first. */
  peers(): string[] {
    return this.conversations().map((c) => c.peer);
  }

  /** The conversations known, most recent activity first (those without any last). */
  conversations(): ChatConversation[] {
    return [...this.convs.values()].map((c) => c.summary()).sort((a, b) => b.lastTime - a.lastTime);
  }

  /** Received messages of `peer`'s conversation not yet marked read (the server's count after `load()`, plus what came since). */
  unread(peer: string): number {
    return this.convs.get(peer)?.unread ?? 0;
  }

  /** Unread messages over every conversation. */
  totalUnread(): number {
    let n = 0;
    for (const c of this.convs.values()) n += c.unread;
    return n;
  }

  /** The seq up to which `peer` read this user's messages (0: not known). */
  readUpTo(peer: string): number {
    return this.readBy.get(peer) ?? 0;
  }

  /**
   * The conversation with `peer` was seen up to its newest message: its unread count goes to 0, and
   * with `syncReads` the server's marker moves there (the peer's SDK gets a `read` event).
   */
  markRead(peer: string): void {
    const c = this.convs.get(peer);
    if (!c) return;
    const had = c.unread;
    const seq = c.maxSeq;
    c.read(seq);
    if (this.marker && seq > c.markedSeq) {
      c.markedSeq = seq;
      this.marker.seen(peer, seq);
    }
    if (had > 0) this.events.emit({ type: 'read', peer });
  }

  /** `peer` read this user's messages up to `seq` (a `read` event, or one remembered from before): those show `read`. */
  applyRead(peer: string, seq: number): void {
    if (seq <= (this.readBy.get(peer) ?? 0)) return;
    this.readBy.set(peer, seq);
    for (const m of this.conversation(peer)) {
      if (m.direction === 'out' && m.seq !== null && m.seq <= seq) this.advance(m.id, 'read', null);
    }
  }

  /**
   * Read the conversation list from the server (`client.conversations()` and `client.groups()`):
   * every conversation and group, group names, unread counts. Rejects like those calls (a server
   * without history: `API_UNAVAILABLE`); a server without groups just lists none.
   */
  async load(): Promise<void> {
    const [list, groups] = await Promise.all([this.client.conversations({ limit: LOAD_CONVERSATIONS }), this.client.groups().catch(() => [])]);
    for (const g of groups) this.conv(this.prefix + g.id, g.id).name = g.name;
    for (const c of list) {
      if (c.group === undefined) this.conv(c.peer, null).listed(c);
      else this.conv(this.prefix + c.group, c.group).listed(c);
    }
    this.events.emit({ type: 'conversations' });
  }

  /** Whether the newest page of `peer`'s history was fetched (`loadHistory`). */
  historyLoaded(peer: string): boolean {
    return this.convs.get(peer)?.historyLoaded ?? false;
  }

  /**
   * Fetch the newest `limit` (default 50) messages of `peer`'s conversation (a user or a group's
   * address) with seq < `before` from the server's history and place them by seq; the ones already
   * held are skipped, SDK control messages (receipts) left out. Resolves with how many were added.
   */
  async loadHistory(peer: string, opts: { before?: number; limit?: number } = {}): Promise<number> {
    const ref = refOfKey(peer, this.prefix);
    const group = 'group' in ref ? ref.group : null;
    const page = await this.client.history(ref, { limit: opts.limit ?? DEFAULT_STORE_HISTORY_PAGE, ...(opts.before === undefined ? {} : { before: opts.before }) });
    const c = this.conv(peer, group);
    if (opts.before === undefined) c.historyLoaded = true;
    let added = 0;
    for (const s of page) {
      if (isControlTypeu(s.typeu)) continue;
      if (this.byId.has(s.fp)) {
        if (s.from === this.client.uid) this.advance(s.fp, 'sent', null, s.seq);
        continue;
      }
      const m = messageOfStored(s, peer, group, this.client.uid, this.readUpTo(peer));
      c.insert(m);
      this.byId.set(m.id, m);
      added++;
    }
    this.events.emit({ type: 'loaded', peer, count: added });
    return added;
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

  /**
   * `peer`'s history started again at seq 1: its messages keep their places and states but lose their
   * seqs (each an `updated` event), which belong to the old history; what was unread stays unread;
   * the peer's read position starts from 0.
   */
  private restart(peer: string): void {
    this.readBy.delete(peer);
    const c = this.convs.get(peer);
    if (!c) return;
    const unread = c.unread;
    for (const previous of [...c.messages]) {
      if (previous.seq === null) continue;
      const message: ChatMessage = { ...previous, seq: null };
      this.byId.set(message.id, message);
      c.replace(previous, message);
      this.events.emit({ type: 'updated', message, previous });
    }
    c.restarted(unread);
  }

  private conv(peer: string, group: string | null): ConversationState {
    let c = this.convs.get(peer);
    if (!c) this.convs.set(peer, (c = new ConversationState(peer, group)));
    return c;
  }

  private add(c: ConversationState, msg: ChatMessage): void {
    c.messages.push(msg);
    this.byId.set(msg.id, msg);
    this.events.emit({ type: 'added', message: msg });
  }

  private advance(id: string, state: ChatMessageState, error: string | null, seq: number | null = null): void {
    const previous = this.byId.get(id);
    if (!previous || previous.direction !== 'out') return;
    const newSeq = previous.seq ?? seq;
    let next = nextState(previous.state, state);
    // Acked after its peer read past it (the notice overtook the ack).
    if ((next === 'sent' || next === 'delivered') && previous.group === null && newSeq !== null && newSeq <= this.readUpTo(previous.peer)) next = 'read';
    if (next === previous.state && newSeq === previous.seq) return;
    const message: ChatMessage = { ...previous, state: next, error: next === previous.state ? previous.error : error, seq: newSeq };
    this.byId.set(id, message);
    this.convs.get(message.peer)?.replace(previous, message);
    this.events.emit({ type: 'updated', message, previous });
  }
}
