import type { ChainableCommander, Redis } from 'ioredis';
import type { Logger, UserId } from '@switchboard/core';
import { groupArgs, type GroupInfo, type GroupStore, type GroupStoreOptions, type MembershipOutcome } from '../group-store.js';
import { closeRedis, guard, resolveClient, type RedisClientOption } from './connect.js';
import { redisKeys, type RedisKeys } from './keys.js';
import { runScript } from './scripts.js';

export type RedisGroupStoreOptions = RedisClientOption &
  GroupStoreOptions & {
    /** Key prefix (`IM_KEY_PREFIX`). @default 'im' */
    prefix?: string;
    log?: Logger;
  };

/** Most fields of one HMGET (a member list far over the cap is read in parts). */
const HMGET_BATCH = 5_000;

/**
 * GroupStore on Redis. Per group, in one hash slot (`{grp:<gid>}`): `…:meta` (`name`; exists while
 * the group does) and `…:members` (member → since), changed by `group-put.lua`, `group-add.lua`
 * (both check the member cap in the same step as the write, so racing changes cannot exceed it),
 * `group-delete.lua`, `group-restart.lua` (every since back to 0), and a plain HDEL for one removal.
 * Per user, in the user's slot: `{<user>}:groups` (set of gids), the index `groupsOf` reads. Layout:
 * redis/keys.ts.
 *
 * The index is written with separate commands (other slots), so it can lag the groups. It is kept a
 * superset of the truth, and `groupsOf` checks each entry against the group's members, listing only
 * real memberships and dropping the stale entries:
 * - an add writes the user's entry before the group change (a crash in between leaves an extra
 *   entry, never a missing one) and again after it (an entry dropped meanwhile by a racing removal
 *   comes back);
 * - an entry is dropped only for a user who is not a member, after the group change; after the SREM
 *   the membership is read again and an entry dropped for a user added meanwhile is written back.
 * So after any interleaving of changes, and after a crash between the two writes of one change, every
 * member's index holds the group. Every failure is an UnavailableError with the ioredis error as `cause`.
 */
export class RedisGroupStore implements GroupStore {
  private readonly redis: Redis;
  private readonly owned: boolean;
  private readonly keys: RedisKeys;
  private readonly max: number;

  constructor(opts: RedisGroupStoreOptions) {
    ({ maxMembers: this.max } = groupArgs.options(opts));
    this.keys = redisKeys(opts.prefix);
    ({ redis: this.redis, owned: this.owned } = resolveClient(opts, opts.log, 'group-store'));
  }

  async put(gid: string, group: { name: string; members: readonly UserId[] }, since: number): Promise<MembershipOutcome> {
    const members = groupArgs.put(gid, group, since);
    if (members.length > this.max) return 'too_many_members';
    return guard('group put', async () => {
      await this.link(gid, members);
      const r = (await runScript(this.redis, 'sbGroupPut', this.groupKeys(gid), [group.name, since, this.max, ...members])) as (number | string)[];
      if (r[0] !== 1) {
        await this.unlink(gid, members);
        return 'too_many_members';
      }
      const added = r.slice(2, 2 + Number(r[1])) as UserId[];
      await Promise.all([this.link(gid, added), this.unlink(gid, r.slice(2 + added.length) as UserId[])]);
      return 'ok';
    });
  }

  async addMembers(gid: string, members: readonly UserId[], since: number): Promise<MembershipOutcome> {
    let add = groupArgs.add(gid, members, since);
    return guard('group addMembers', async () => {
      // More than a whole group's worth: only those not in yet go on (members in stay as they are),
      // and when they are still too many the add is refused before any index write.
      if (add.length > this.max) {
        add = await this.notMembers(gid, add);
        if (add.length > this.max) return (await this.redis.exists(this.keys.groupMeta(gid))) === 1 ? 'too_many_members' : 'no_such_group';
      }
      await this.link(gid, add);
      const r = (await runScript(this.redis, 'sbGroupAdd', this.groupKeys(gid), [since, this.max, ...add])) as (number | string)[];
      if (r[0] !== 1) {
        await this.unlink(gid, add);
        return r[0] === -1 ? 'no_such_group' : 'too_many_members';
      }
      await this.link(gid, r.slice(1) as UserId[]);
      return 'ok';
    });
  }

  async removeMember(gid: string, uid: UserId): Promise<boolean> {
    if (!groupArgs.isGid(gid)) return false;
    return guard('group removeMember', async () => {
      const removed = (await this.redis.hdel(this.keys.groupMembers(gid), uid)) === 1;
      if (removed) await this.unlink(gid, [uid]);
      return removed;
    });
  }

  async delete(gid: string): Promise<boolean> {
    if (!groupArgs.isGid(gid)) return false;
    return guard('group delete', async () => {
      const r = (await runScript(this.redis, 'sbGroupDelete', this.groupKeys(gid), [])) as (number | string)[];
      if (r[0] !== 1) return false;
      await this.unlink(gid, r.slice(1) as UserId[]);
      return true;
    });
  }

  async get(gid: string): Promise<GroupInfo | null> {
    if (!groupArgs.isGid(gid)) return null;
    return guard('group get', async () => {
      const [name, members] = await this.read(gid, this.redis.multi().hget(this.keys.groupMeta(gid), 'name').hkeys(this.keys.groupMembers(gid)));
      return name === null ? null : { id: gid, name: name as string, members: members as UserId[] };
    });
  }

  async members(gid: string): Promise<Map<UserId, number> | null> {
    if (!groupArgs.isGid(gid)) return null;
    return guard('group members', async () => {
      const [exists, all] = await this.read(gid, this.redis.multi().exists(this.keys.groupMeta(gid)).hgetall(this.keys.groupMembers(gid)));
      if (exists !== 1) return null;
      return new Map(Object.entries(all as Record<string, string>).map(([m, since]) => [m as UserId, Number(since)]));
    });
  }

  async restartJoins(gid: string): Promise<void> {
    if (!groupArgs.isGid(gid)) return;
    await guard('group restartJoins', () => runScript(this.redis, 'sbGroupRestart', [this.keys.groupMembers(gid)], []));
  }

  async memberSince(gid: string, uid: UserId): Promise<number | null> {
    if (!groupArgs.isGid(gid)) return null;
    return guard('group memberSince', async () => {
      const since = await this.redis.hget(this.keys.groupMembers(gid), uid);
      return since === null ? null : Number(since);
    });
  }

  async groupsOf(uid: UserId): Promise<Array<{ id: string; name: string }>> {
    return guard('group groupsOf', async () => {
      const ids = await this.redis.smembers(this.keys.userGroups(uid));
      const rows = await Promise.all(
        ids.map(async (id) => {
          // Not a group id at all (written by hand?): no group can have it, so it goes without a check.
          if (!groupArgs.isGid(id)) return { id, stale: true, name: null, check: false };
          const [since, name] = await Promise.all([this.redis.hget(this.keys.groupMembers(id), uid), this.redis.hget(this.keys.groupMeta(id), 'name')]);
          return { id, stale: since === null, name: since === null ? null : name, check: true };
        }),
      );
      await Promise.all(rows.filter((r) => r.stale).map((r) => (r.check ? this.unlink(r.id, [uid]) : this.redis.srem(this.keys.userGroups(uid), r.id))));
      return rows.filter((r) => r.name !== null).map((r) => ({ id: r.id, name: r.name! }));
    });
  }

  async close(): Promise<void> {
    if (this.owned) await closeRedis(this.redis);
  }

  private groupKeys(gid: string): [string, string] {
    return [this.keys.groupMeta(gid), this.keys.groupMembers(gid)];
  }

  /** Run a read-only MULTI on one group's keys; its two replies. */
  private async read(gid: string, multi: ChainableCommander): Promise<[unknown, unknown]> {
    const res = await multi.exec();
    if (!res) throw new Error(`group ${gid}: transaction aborted`);
    for (const [err] of res) if (err) throw err;
    return [res[0]![1], res[1]![1]];
  }

  /** Write `gid` into each user's index. */
  private async link(gid: string, uids: readonly UserId[]): Promise<void> {
    await Promise.all(uids.map((u) => this.redis.sadd(this.keys.userGroups(u), gid)));
  }

  /**
   * Drop `gid` from the index of each of `uids` that is not a member of it, then read the membership
   * again and write back the entries of those added meanwhile (their add's own index write may have
   * come before our SREM).
   */
  private async unlink(gid: string, uids: readonly UserId[]): Promise<void> {
    const gone = await this.notMembers(gid, uids);
    if (gone.length === 0) return;
    await Promise.all(gone.map((u) => this.redis.srem(this.keys.userGroups(u), gid)));
    const stillGone = new Set(await this.notMembers(gid, gone));
    await this.link(gid, gone.filter((u) => !stillGone.has(u)));
  }

  /** Those of `uids` that are not members of `gid` now. */
  private async notMembers(gid: string, uids: readonly UserId[]): Promise<UserId[]> {
    const out: UserId[] = [];
    for (let i = 0; i < uids.length; i += HMGET_BATCH) {
      const batch = uids.slice(i, i + HMGET_BATCH);
      const since = await this.redis.hmget(this.keys.groupMembers(gid), ...batch);
      batch.forEach((u, j) => since[j] === null && out.push(u));
    }
    return out;
  }
}
