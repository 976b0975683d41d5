import type { UserId } from '@switchboard/core';
import { groupArgs, type GroupInfo, type GroupStore, type GroupStoreOptions, type MembershipOutcome } from '../group-store.js';

interface Group {
  name: string;
  /** uid → since. */
  members: Map<UserId, number>;
}

/**
 * In-process GroupStore: the standalone default and the unit-test twin of RedisGroupStore (one
 * contract suite). Every change is synchronous, so the cap and the per-user index are exact. Not durable.
 */
export class MemoryGroupStore implements GroupStore {
  private groups = new Map<string, Group>();
  /** uid → ids of the groups it is a member of. */
  private byUser = new Map<UserId, Set<string>>();
  private readonly max: number;

  constructor(opts: GroupStoreOptions = {}) {
    ({ maxMembers: this.max } = groupArgs.options(opts));
  }

  async put(gid: string, group: { name: string; members: readonly UserId[] }, since: number): Promise<MembershipOutcome> {
    const members = groupArgs.put(gid, group, since);
    if (members.length > this.max) return 'too_many_members';
    const old = this.groups.get(gid)?.members ?? new Map<UserId, number>();
    const next = new Map<UserId, number>(members.map((m) => [m, old.get(m) ?? since]));
    for (const m of old.keys()) if (!next.has(m)) this.unindex(m, gid);
    for (const m of next.keys()) this.index(m, gid);
    this.groups.set(gid, { name: group.name, members: next });
    return 'ok';
  }

  async addMembers(gid: string, members: readonly UserId[], since: number): Promise<MembershipOutcome> {
    const add = groupArgs.add(gid, members, since);
    const g = this.groups.get(gid);
    if (!g) return 'no_such_group';
    const fresh = add.filter((m) => !g.members.has(m));
    if (fresh.length > 0 && g.members.size + fresh.length > this.max) return 'too_many_members';
    for (const m of fresh) {
      g.members.set(m, since);
      this.index(m, gid);
    }
    return 'ok';
  }

  async restartJoins(gid: string): Promise<void> {
    const g = groupArgs.isGid(gid) ? this.groups.get(gid) : undefined;
    if (g) for (const m of g.members.keys()) g.members.set(m, 0);
  }

  async removeMember(gid: string, uid: UserId): Promise<boolean> {
    const g = groupArgs.isGid(gid) ? this.groups.get(gid) : undefined;
    if (!g?.members.delete(uid)) return false;
    this.unindex(uid, gid);
    return true;
  }

  async delete(gid: string): Promise<boolean> {
    const g = groupArgs.isGid(gid) ? this.groups.get(gid) : undefined;
    if (!g) return false;
    for (const m of g.members.keys()) this.unindex(m, gid);
    this.groups.delete(gid);
    return true;
  }

  async get(gid: string): Promise<GroupInfo | null> {
    const g = this.group(gid);
    return g ? { id: gid, name: g.name, members: [...g.members.keys()] } : null;
  }

  async members(gid: string): Promise<Map<UserId, number> | null> {
    const g = this.group(gid);
    return g ? new Map(g.members) : null;
  }

  async memberSince(gid: string, uid: UserId): Promise<number | null> {
    return this.group(gid)?.members.get(uid) ?? null;
  }

  async groupsOf(uid: UserId): Promise<Array<{ id: string; name: string }>> {
    return [...(this.byUser.get(uid) ?? [])].map((id) => ({ id, name: this.groups.get(id)!.name }));
  }

  async close(): Promise<void> {}

  private group(gid: string): Group | undefined {
    return groupArgs.isGid(gid) ? this.groups.get(gid) : undefined;
  }

  private index(uid: UserId, gid: string): void {
    let s = this.byUser.get(uid);
    if (!s) this.byUser.set(uid, (s = new Set()));
    s.add(gid);
  }

  private unindex(uid: UserId, gid: string): void {
    const s = this.byUser.get(uid);
    if (!s) return;
    s.delete(gid);
    if (s.size === 0) this.byUser.delete(uid);
  }
}
