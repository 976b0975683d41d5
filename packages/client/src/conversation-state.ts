import type { Conversation, StoredMessage } from './history-api.js';

/**
 * Delivery state of a message in a conversation.
 * - `sending`: written (or waiting for the connection), no ack yet.
 * - `sent`: the server acked it: the receiver has it or it waits in the receiver's offline queue (in a
 *   group: it is in the group's history and on its way to the members).
 * - `delivered`: the receiver's client confirmed it with a delivery receipt (or, for peers that
 *   send no receipts, never; `sent` is then the last state). Not in groups.
 * - `read`: the receiver marked the conversation read up to it or beyond (a `read` event). Not in groups.
 * - `failed`: lost (no ack after every retry, refused, or the session ended first).
 * - `received`: an incoming message.
 */
export type ChatMessageState = 'sending' | 'sent' | 'delivered' | 'read' | 'failed' | 'received';

/** One message of a conversation. Objects are replaced, never mutated, when their state changes. */
export interface ChatMessage {
  /** Fingerprint (QoS messages) or a local id. */
  readonly id: string;
  /** The conversation: the other user, or for a group the group's address (`g:team`, `client.groupAddress(gid)`). */
  readonly peer: string;
  /** The group id of a group conversation's message; null with a user. */
  readonly group: string | null;
  /** Who wrote it: the other user, the group member, or this user for one's own. */
  readonly from: string;
  readonly direction: 'in' | 'out';
  readonly content: string;
  readonly typeu: number;
  /** When it was sent: the server's `sentAt` (received and history messages; the local arrival time without history), the local time for one's own sent now. */
  readonly time: number;
  /** Position in the conversation's history (received: on arrival; own: once acked); null without history. */
  readonly seq: number | null;
  readonly state: ChatMessageState;
  /** Why it failed (`failed` only). */
  readonly error: string | null;
}

/** One conversation as the store lists it. */
export interface ChatConversation {
  /** Its key: the other user, or the group's address. */
  readonly peer: string;
  /** The group id for a group; null for a user. */
  readonly group: string | null;
  /** The group's name (its id until the server told it), or the other user's id. */
  readonly name: string;
  readonly unread: number;
  /** Send time of its newest message known (0: none). */
  readonly lastTime: number;
}

/** Order of states: a message never moves backwards (an ack arriving after the receipt keeps `delivered`). */
const RANK: Record<ChatMessageState, number> = { sending: 0, sent: 1, delivered: 2, read: 3, failed: 0, received: 0 };

/** The state after `next` is reported for a message in state `prev`. */
export function nextState(prev: ChatMessageState, next: ChatMessageState): ChatMessageState {
  // A receipt (or a read marker) is proof of delivery, so it also overrides `failed`.
  if (prev === 'failed') return next === 'delivered' || next === 'read' ? next : prev;
  if (next === 'failed') return prev === 'sending' || prev === 'sent' ? next : prev;
  return RANK[next] > RANK[prev] ? next : prev;
}

/**
 * One conversation of a `MessageStore`: its messages in order, and what its unread count is made of.
 * The server's count (from `conversations()`) covers the messages up to `baseSeq`; received messages
 * above it are counted here, as are received ones without a seq (history off) since the last read.
 */
export class ConversationState {
  readonly messages: ChatMessage[] = [];
  name: string | null = null;
  /** Unread messages up to `baseSeq` (the server's count at the last load, 0 after a read). */
  serverUnread = 0;
  baseSeq = 0;
  /** Received messages without a seq since the last read. */
  unseqUnread = 0;
  /** The server's read marker as last known (the highest seq sent to it or read from it). */
  markedSeq = 0;
  /** Newest activity the server's list told (`last.sentAt`). */
  listedAt = 0;
  /** The newest page of its history was fetched. */
  historyLoaded = false;

  constructor(
    readonly peer: string,
    readonly group: string | null,
  ) {}

  get unread(): number {
    let n = this.serverUnread + this.unseqUnread;
    for (const m of this.messages) if (m.direction === 'in' && m.seq !== null && m.seq > this.baseSeq) n++;
    return n;
  }

  get lastTime(): number {
    return Math.max(this.listedAt, this.messages.at(-1)?.time ?? 0);
  }

  /** Highest seq of a message held. */
  get maxSeq(): number {
    let max = 0;
    for (const m of this.messages) if (m.seq !== null && m.seq > max) max = m.seq;
    return max;
  }

  summary(): ChatConversation {
    return { peer: this.peer, group: this.group, name: this.name ?? this.group ?? this.peer, unread: this.unread, lastTime: this.lastTime };
  }

  /** The server's line for this conversation: its count covers everything up to its `lastSeq`. */
  listed(c: Conversation): void {
    if (c.group !== undefined) this.name = c.name;
    this.listedAt = Math.max(this.listedAt, c.last?.sentAt ?? 0);
    this.markedSeq = Math.max(this.markedSeq, c.readSeq);
    // Read here after the server counted (the marker request is on its way): nothing up to it is unread.
    this.serverUnread = this.markedSeq >= c.lastSeq ? 0 : c.unread;
    this.baseSeq = Math.max(this.baseSeq, c.lastSeq);
  }

  /**
   * The conversation's history started again (a `restart` event), after its messages lost their old
   * seqs: the `unread` messages it had stay unread, counted as messages without a seq, and the
   * server's count and marker start from 0.
   */
  restarted(unread: number): void {
    this.unseqUnread = unread;
    this.serverUnread = 0;
    this.baseSeq = 0;
    this.markedSeq = 0;
  }

  /** Read up to `seq`: nothing up to it counts any more. */
  read(seq: number): void {
    this.serverUnread = 0;
    this.unseqUnread = 0;
    this.baseSeq = Math.max(this.baseSeq, seq);
  }

  /** Insert a message from history where its seq (or, next to messages without one, its time) puts it. */
  insert(m: ChatMessage): void {
    const at = this.messages.findIndex((x) => (x.seq !== null && m.seq !== null ? x.seq > m.seq : x.time > m.time));
    if (at < 0) this.messages.push(m);
    else this.messages.splice(at, 0, m);
  }

  replace(previous: ChatMessage, next: ChatMessage): void {
    const i = this.messages.lastIndexOf(previous);
    if (i >= 0) this.messages[i] = next;
  }
}

/** A history entry as a message of conversation `peer` (of `group`), seen by `uid`, whose peer read up to `readBy`. */
export function messageOfStored(s: StoredMessage, peer: string, group: string | null, uid: string, readBy: number): ChatMessage {
  const out = s.from === uid;
  return {
    id: s.fp,
    peer,
    group,
    from: s.from,
    direction: out ? 'out' : 'in',
    content: s.content,
    typeu: s.typeu,
    time: s.sentAt,
    seq: s.seq,
    state: out ? (group === null && s.seq <= readBy ? 'read' : 'sent') : 'received',
    error: null,
  };
}
