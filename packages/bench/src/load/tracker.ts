import { randomBytes } from 'node:crypto';

/** Per-message flags kept by the tracker. */
export const MsgFlag = {
  /** The sender got the type-4 ack. */
  ACKED: 1,
  /** The receiver's application got it (first copy after dedupe). */
  DELIVERED: 2,
  /** First sent inside the measured window: its latencies count. */
  MEASURED: 4,
  /** The sender ran out of resends and reported it lost (MobileIMSDK `messagesLost`). */
  GAVE_UP: 8,
  /** Sender and receiver were on different gateways when it was sent. */
  CROSS_NODE: 16,
} as const;

/**
 * Every message the bench originates, by sequence number, in flat typed arrays (a million messages
 * cost about 20 MB). The fingerprint encodes the sequence number so the receiver finds the record
 * without a lookup table: `fp` = a random UUID-shaped run tag `xxxxxxxx-xxxx-4xxx-8xxx-` followed by
 * the sequence number as 12 hex digits, 36 characters like a MobileIMSDK UUID v4 fingerprint.
 */
export class MessageTracker {
  /** The first 24 characters of every fingerprint of this run. */
  readonly runTag: string;
  private n = 0;
  private cap: number;
  sentAt: Float64Array;
  sender: Uint32Array;
  receiver: Uint32Array;
  flags: Uint8Array;

  constructor(initialCapacity = 1 << 16, runTag?: string) {
    this.runTag = runTag ?? MessageTracker.newRunTag();
    this.cap = initialCapacity;
    this.sentAt = new Float64Array(this.cap);
    this.sender = new Uint32Array(this.cap);
    this.receiver = new Uint32Array(this.cap);
    this.flags = new Uint8Array(this.cap);
  }

  static newRunTag(): string {
    const h = randomBytes(10).toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(12, 15)}-8${h.slice(15, 18)}-`;
  }

  /** Messages originated so far. */
  get count(): number {
    return this.n;
  }

  /** Register a new message; returns its sequence number. `sentAt` is a performance.now() time, ms. */
  add(sender: number, receiver: number, sentAt: number, flags = 0): number {
    if (this.n === this.cap) this.grow();
    const seq = this.n++;
    this.sentAt[seq] = sentAt;
    this.sender[seq] = sender;
    this.receiver[seq] = receiver;
    this.flags[seq] = flags;
    return seq;
  }

  has(seq: number, flag: number): boolean {
    return (this.flags[seq]! & flag) !== 0;
  }

  set(seq: number, flag: number): void {
    this.flags[seq]! |= flag;
  }

  /** The fingerprint of message `seq`. */
  fp(seq: number): string {
    return this.runTag + seq.toString(16).padStart(12, '0');
  }

  /** The sequence number a fingerprint of this run encodes, or -1 (another run's or a foreign fp). */
  seqOf(fp: string | null): number {
    if (fp === null || fp.length !== 36 || !fp.startsWith(this.runTag)) return -1;
    const seq = parseInt(fp.slice(24), 16);
    return Number.isInteger(seq) && seq >= 0 && seq < this.n ? seq : -1;
  }

  /** Sequence numbers of messages without `flag`. */
  without(flag: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.n; i++) if ((this.flags[i]! & flag) === 0) out.push(i);
    return out;
  }

  /** How many messages have every bit of `all` and none of `none`. */
  countWhere(all: number, none = 0): number {
    let c = 0;
    for (let i = 0; i < this.n; i++) {
      const f = this.flags[i]!;
      if ((f & all) === all && (f & none) === 0) c++;
    }
    return c;
  }

  private grow(): void {
    this.cap *= 2;
    const grow = <T extends Float64Array | Uint32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(this.cap);
      b.set(a);
      return b;
    };
    this.sentAt = grow(this.sentAt, (n) => new Float64Array(n));
    this.sender = grow(this.sender, (n) => new Uint32Array(n));
    this.receiver = grow(this.receiver, (n) => new Uint32Array(n));
    this.flags = grow(this.flags, (n) => new Uint8Array(n));
  }
}

/**
 * Message content of `size` bytes that carries the send time (performance.now() ms, so the receiver
 * in the same process can compute send→deliver) and the sequence number: `"<ms>|<seq>|xxxx…"`.
 */
export function makeContent(sentAt: number, seq: number, size: number): string {
  const head = sentAt.toFixed(3) + '|' + seq + '|';
  return head.length >= size ? head : head + PAD.slice(0, size - head.length);
}

const PAD = 'x'.repeat(8_192);

/** The send time a `makeContent` string carries, or NaN. */
export function contentSentAt(content: string | null): number {
  if (content === null) return NaN;
  const bar = content.indexOf('|');
  return bar <= 0 ? NaN : Number(content.slice(0, bar));
}
