import type { Packet } from '@switchboard/protocol';
import { SimUser, type UserContext } from '../load/sim-user.js';
import { MsgFlag, contentSentAt } from '../load/tracker.js';
import type { GroupLedger } from './group-ledger.js';

/** What the members of a group run share beyond the load mode's user context. */
export interface GroupWorld {
  readonly ledger: GroupLedger;
  /** Members per group: user i is a member of group ⌊i / members⌋. */
  readonly members: number;
  /** The address of group `g` (the gateways' group prefix and its id). */
  address(g: number): string;
  /** Group packets whose `to` was not the group's address or whose `from` was not `<address>:<sender>` (docs/groups.md). */
  addressMismatches: number;
}

/**
 * A simulated MobileIMSDK client that is a member of one group: it sends QoS group messages to the
 * group's address (resent like any QoS message until acked) and receives the other members' as
 * `from` = `<address>:<sender>`, acking and deduping them by fp like a one-to-one message. In the
 * tracker a group message's `receiver` is its group; who is owed it is kept in the ledger.
 */
export class GroupUser extends SimUser {
  constructor(
    index: number,
    uid: string,
    transport: 'ws' | 'tcp',
    ctx: UserContext,
    private readonly world: GroupWorld,
  ) {
    super(index, uid, transport, ctx);
  }

  /** The group this user is a member of. */
  get group(): number {
    return Math.floor(this.index / this.world.members);
  }

  /**
   * Originate a QoS group message to group `group` (this user's own: the load driver asks for it).
   * Every other member online now is owed it; the gateways they are on, other than this user's, are
   * the broker messages it should cost.
   */
  override sendNew(group: number, sentAt: number, measured: boolean): void {
    const { ctx, world } = this;
    const owed: number[] = [];
    const remote = new Set<string>();
    for (let j = group * world.members, end = j + world.members; j < end; j++) {
      const u = ctx.users[j]!;
      if (j === this.index || !u.online) continue;
      owed.push(j);
      if (u.node !== this.node) remote.add(u.node);
    }
    let flags = measured ? MsgFlag.MEASURED : 0;
    if (remote.size > 0) {
      flags |= MsgFlag.CROSS_NODE;
      ctx.stats.crossNode++;
    }
    const seq = ctx.tracker.add(this.index, group, sentAt, flags);
    world.ledger.onSent(seq, group, owed, remote.size);
    this.post(seq, world.address(group), sentAt, measured);
  }

  /** A group message passed this member's dedupe: count it against what the member was owed. */
  protected override deliver(seq: number, p: Packet): void {
    const { ctx, world } = this;
    const tr = ctx.tracker;
    const address = world.address(tr.receiver[seq]!);
    if (p.to !== address || p.from !== `${address}:${ctx.users[tr.sender[seq]!]!.uid}`) world.addressMismatches++;
    const receipt = world.ledger.onReceived(seq, this.index);
    if (receipt === 'not-member') {
      ctx.stats.misrouted++;
    } else if (receipt === 'duplicate') {
      ctx.stats.appDuplicates++;
    } else {
      const now = performance.now();
      ctx.stats.onDelivered(now, now - contentSentAt(p.dataContent), tr.has(seq, MsgFlag.MEASURED));
    }
  }
}
