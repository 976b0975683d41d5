/** What one member's receipt of a group message was, once past the member's own dedupe by fp. */
export type Receipt =
  /** A member who was online at the send (and is not the sender) got it: a delivery owed. */
  | 'expected'
  /** A member of the group who was not online at the send (or its sender) got it, e.g. by catch-up. */
  | 'unexpected'
  /** The same member got it again past its dedupe: an application duplicate. */
  | 'duplicate'
  /** A user who is not a member of the message's group got it. */
  | 'not-member';

/** Member deliveries owed but not made, as the report counts them. */
export interface LostSummary {
  /** (message, member) pairs: a member online at the send never got the message. */
  lost: number;
  /** Of those, pairs whose message was acked to its sender (the gateway had accepted it). */
  lostAfterAck: number;
  /** Messages with at least one such member. */
  messagesWithLoss: number;
}

/**
 * Who should get which group message, and who did. Groups are contiguous blocks of `members` user
 * indexes (user i is member i mod `members` of group ⌊i / members⌋). Per message (by the tracker's
 * sequence number): its group, and two bitsets over the group's members, those expected (online at the
 * send, not the sender) and those who got it; 500 members cost 126 bytes per message.
 */
export class GroupLedger {
  private readonly stride: number;
  private cap = 0;
  private n = 0;
  private groupOf = new Int32Array(0);
  private expected = new Uint8Array(0);
  private got = new Uint8Array(0);
  /** Deliveries owed so far, and those made. */
  private owed = 0;
  private made = 0;
  /** Receipts by members not owed the message (still deliveries: counted in `delivered`). */
  unexpected = 0;
  /** Sum over messages of the other gateways with online members at the send (the broker messages a message should cost). */
  private remoteNodesSum = 0;

  constructor(readonly members: number) {
    this.stride = Math.ceil(members / 8);
    this.grow(1 << 10);
  }

  /** Messages registered. */
  get count(): number {
    return this.n;
  }

  /** Deliveries owed and not made yet. */
  get outstanding(): number {
    return this.owed - this.made;
  }

  /** Unique member deliveries (owed or not). */
  get delivered(): number {
    return this.made + this.unexpected;
  }

  /** Deliveries owed over all messages. */
  get expectedDeliveries(): number {
    return this.owed;
  }

  /** Mean over messages of the other gateways that had online members at the send; NaN before any message. */
  get meanRemoteNodes(): number {
    return this.n > 0 ? this.remoteNodesSum / this.n : NaN;
  }

  /**
   * Message `seq` (the next one: seqs come from the tracker in order) was sent to `group`; `owedTo`
   * are the user indexes owed it, `remoteNodes` the other gateways among theirs.
   */
  onSent(seq: number, group: number, owedTo: Iterable<number>, remoteNodes: number): void {
    if (seq !== this.n) throw new RangeError(`group message ${seq} registered out of order (expected ${this.n})`);
    if (this.n === this.cap) this.grow(this.cap * 2);
    this.n++;
    this.groupOf[seq] = group;
    this.remoteNodesSum += remoteNodes;
    for (const user of owedTo) {
      const pos = this.position(seq, user);
      if (pos < 0) throw new RangeError(`user ${user} is not a member of group ${group}`);
      const byte = seq * this.stride + (pos >> 3);
      const bit = 1 << (pos & 7);
      if ((this.expected[byte]! & bit) === 0) {
        this.expected[byte]! |= bit;
        this.owed++;
      }
    }
  }

  /** User `user` got message `seq` (past its dedupe). */
  onReceived(seq: number, user: number): Receipt {
    const pos = seq < this.n ? this.position(seq, user) : -1;
    if (pos < 0) return 'not-member';
    const byte = seq * this.stride + (pos >> 3);
    const bit = 1 << (pos & 7);
    if ((this.got[byte]! & bit) !== 0) return 'duplicate';
    this.got[byte]! |= bit;
    if ((this.expected[byte]! & bit) === 0) {
      this.unexpected++;
      return 'unexpected';
    }
    this.made++;
    return 'expected';
  }

  /** Whether `user` was owed message `seq` and got it. */
  gotIt(seq: number, user: number): boolean {
    const pos = this.position(seq, user);
    if (pos < 0) return false;
    return (this.got[seq * this.stride + (pos >> 3)]! & (1 << (pos & 7))) !== 0;
  }

  /** The (message, user) pairs owed and not delivered, at most `limit` of them, oldest message first. */
  missing(limit = Infinity): Array<{ seq: number; user: number }> {
    const out: Array<{ seq: number; user: number }> = [];
    for (let seq = 0; seq < this.n && out.length < limit; seq++) {
      this.eachMissing(seq, (user) => {
        if (out.length < limit) out.push({ seq, user });
      });
    }
    return out;
  }

  /** Deliveries owed and not made, also counted by whether the message was acked to its sender. */
  lost(acked: (seq: number) => boolean): LostSummary {
    const r: LostSummary = { lost: 0, lostAfterAck: 0, messagesWithLoss: 0 };
    for (let seq = 0; seq < this.n; seq++) {
      let k = 0;
      this.eachMissing(seq, () => k++);
      if (k === 0) continue;
      r.lost += k;
      r.messagesWithLoss++;
      if (acked(seq)) r.lostAfterAck += k;
    }
    return r;
  }

  /** Call `fn` with every user owed message `seq` who did not get it. */
  private eachMissing(seq: number, fn: (user: number) => void): void {
    const base = seq * this.stride;
    const first = this.groupOf[seq]! * this.members;
    for (let b = 0; b < this.stride; b++) {
      const open = this.expected[base + b]! & ~this.got[base + b]!;
      if (open === 0) continue;
      for (let bit = 0; bit < 8; bit++) if (open & (1 << bit)) fn(first + b * 8 + bit);
    }
  }

  /** `user`'s position among the members of message `seq`'s group, or -1 when it is not one. */
  private position(seq: number, user: number): number {
    const pos = user - this.groupOf[seq]! * this.members;
    return pos >= 0 && pos < this.members ? pos : -1;
  }

  private grow(cap: number): void {
    const groupOf = new Int32Array(cap);
    groupOf.set(this.groupOf);
    const expected = new Uint8Array(cap * this.stride);
    expected.set(this.expected);
    const got = new Uint8Array(cap * this.stride);
    got.set(this.got);
    this.groupOf = groupOf;
    this.expected = expected;
    this.got = got;
    this.cap = cap;
  }
}
