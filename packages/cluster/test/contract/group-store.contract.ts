import { afterEach, describe, expect, it } from 'vitest';
import { asUserId, InvalidArgumentError, type UserId } from '@switchboard/core';
import { MAX_GROUP_NAME_LENGTH, type GroupStore, type GroupStoreOptions } from '../../src/group-store.js';

/** A fresh, isolated store built with these options, and how to dispose of it. */
export interface GroupStoreSubject {
  store: GroupStore;
  /** Another store over the same data (Redis: its own client on the same prefix; memory: the same object). */
  twin(): Promise<GroupStore>;
  cleanup(): Promise<void>;
}
export type GroupStoreFactory = (opts: GroupStoreOptions) => Promise<GroupStoreSubject>;

const u = asUserId;
const alice = u('alice');
const bob = u('bob');
const carol = u('carol');
const users = (n: number, tag = 'u'): UserId[] => Array.from({ length: n }, (_, i) => u(`${tag}${i}`));
const sorted = (xs: readonly string[]): string[] => [...xs].sort();

/**
 * The GroupStore contract (group-store.ts TSDoc): groups exist from put to delete, members keep their
 * join seq, changes are all or nothing within the member cap (also under concurrency), groupsOf
 * answers exactly the memberships, arguments are validated.
 */
export function groupStoreContract(name: string, factory: GroupStoreFactory): void {
  describe(`${name} (GroupStore contract)`, () => {
    const subjects: GroupStoreSubject[] = [];
    const twins: GroupStore[] = [];
    let s: GroupStoreSubject;
    const make = async (opts: GroupStoreOptions = {}): Promise<GroupStore> => {
      s = await factory(opts);
      subjects.push(s);
      return s.store;
    };
    const twin = async (): Promise<GroupStore> => {
      const t = await s.twin();
      if (t !== s.store) twins.push(t);
      return t;
    };
    const groupIds = async (store: GroupStore, uid: UserId): Promise<string[]> => sorted((await store.groupsOf(uid)).map((g) => g.id));
    /** Every member lists the group in groupsOf, and none of `others` does. */
    const expectIndexed = async (store: GroupStore, gid: string, others: readonly UserId[] = []): Promise<void> => {
      const members = (await store.members(gid)) ?? new Map();
      for (const m of members.keys()) expect(await groupIds(store, m), m).toContain(gid);
      for (const o of others) if (!members.has(o)) expect(await groupIds(store, o), o).not.toContain(gid);
    };

    afterEach(async () => {
      for (const t of twins.splice(0)) await t.close();
      for (const x of subjects.splice(0)) {
        await x.store.close();
        await x.cleanup();
      }
    });

    it('unknown group - reads answer null, false and [], addMembers no_such_group', async () => {
      const store = await make();
      expect(await store.get('team')).toBeNull();
      expect(await store.members('team')).toBeNull();
      expect(await store.memberSince('team', alice)).toBeNull();
      expect(await store.removeMember('team', alice)).toBe(false);
      expect(await store.delete('team')).toBe(false);
      expect(await store.addMembers('team', [alice], 0)).toBe('no_such_group');
      expect(await store.groupsOf(alice)).toEqual([]);
      expect(await store.get('team')).toBeNull(); // the refused add created nothing
    });

    it('put - creates the group with every member at since; get, members, memberSince and groupsOf agree', async () => {
      const store = await make();
      expect(await store.put('team', { name: 'The Team', members: [alice, bob] }, 7)).toBe('ok');
      const g = await store.get('team');
      expect(g).toMatchObject({ id: 'team', name: 'The Team' });
      expect(sorted(g!.members)).toEqual(['alice', 'bob']);
      expect(await store.members('team')).toEqual(new Map([[alice, 7], [bob, 7]]));
      expect(await store.memberSince('team', alice)).toBe(7);
      expect(await store.memberSince('team', carol)).toBeNull();
      expect(await store.groupsOf(alice)).toEqual([{ id: 'team', name: 'The Team' }]);
      expect(await store.groupsOf(carol)).toEqual([]);
    });

    it('put - replaces name and members: those kept keep their since, new ones get the new since, others are removed', async () => {
      const store = await make();
      await store.put('team', { name: 'old', members: [alice, bob] }, 3);
      expect(await store.put('team', { name: 'new', members: [bob, carol] }, 9)).toBe('ok');
      expect(await store.members('team')).toEqual(new Map([[bob, 3], [carol, 9]]));
      expect(await store.groupsOf(alice)).toEqual([]);
      expect(await store.groupsOf(bob)).toEqual([{ id: 'team', name: 'new' }]);
      expect(await store.groupsOf(carol)).toEqual([{ id: 'team', name: 'new' }]);
      // No members at all is a group still.
      expect(await store.put('team', { name: 'empty', members: [] }, 10)).toBe('ok');
      expect(await store.get('team')).toEqual({ id: 'team', name: 'empty', members: [] });
      expect(await store.members('team')).toEqual(new Map());
      await expectIndexed(store, 'team', [alice, bob, carol]);
    });

    it('addMembers - adds the new ones at since, those already in keep theirs, duplicates count once', async () => {
      const store = await make();
      await store.put('team', { name: 't', members: [alice] }, 1);
      expect(await store.addMembers('team', [alice, bob, bob, carol], 5)).toBe('ok');
      expect(await store.members('team')).toEqual(new Map([[alice, 1], [bob, 5], [carol, 5]]));
      expect(await store.addMembers('team', [], 6)).toBe('ok');
      await expectIndexed(store, 'team');
    });

    it('restartJoins - every member\'s since becomes 0, members and memberships unchanged; an unknown or bad gid is a no-op', async () => {
      const store = await make();
      await store.put('team', { name: 't', members: [alice] }, 0);
      await store.addMembers('team', [bob, carol], 7);
      await store.put('other', { name: 'o', members: [bob] }, 3);
      await store.restartJoins('team');
      expect(await store.members('team')).toEqual(new Map([[alice, 0], [bob, 0], [carol, 0]]));
      expect(await (await twin()).memberSince('team', carol)).toBe(0);
      expect(await store.members('other')).toEqual(new Map([[bob, 3]]));
      await store.restartJoins('nope');
      await store.restartJoins('bad gid!');
      expect(await store.get('nope')).toBeNull();
      await expectIndexed(store, 'team');
    });

    it('removeMember - true once, then false; the last member leaving keeps the group', async () => {
      const store = await make();
      await store.put('team', { name: 't', members: [alice, bob] }, 0);
      expect(await store.removeMember('team', alice)).toBe(true);
      expect(await store.removeMember('team', alice)).toBe(false);
      expect(await store.removeMember('team', carol)).toBe(false);
      expect(await store.groupsOf(alice)).toEqual([]);
      expect(await store.removeMember('team', bob)).toBe(true);
      expect(await store.get('team')).toEqual({ id: 'team', name: 't', members: [] });
      expect(await store.addMembers('team', [carol], 4)).toBe('ok');
      expect(await store.members('team')).toEqual(new Map([[carol, 4]]));
    });

    it('delete - true once, then false; the members lose the group; a group put again starts afresh', async () => {
      const store = await make();
      await store.put('team', { name: 't', members: [alice, bob] }, 2);
      await store.put('other', { name: 'o', members: [alice] }, 0);
      expect(await store.delete('team')).toBe(true);
      expect(await store.delete('team')).toBe(false);
      expect(await store.get('team')).toBeNull();
      expect(await store.members('team')).toBeNull();
      expect(await store.memberSince('team', alice)).toBeNull();
      expect(await store.groupsOf(alice)).toEqual([{ id: 'other', name: 'o' }]);
      expect(await store.groupsOf(bob)).toEqual([]);
      await store.put('team', { name: 't2', members: [bob] }, 8);
      expect(await store.members('team')).toEqual(new Map([[bob, 8]]));
    });

    it('groupsOf - every group of the user, with its current name', async () => {
      const store = await make();
      for (let i = 0; i < 12; i++) await store.put(`g${i}`, { name: `group ${i}`, members: i % 2 === 0 ? [alice, bob] : [bob] }, i);
      await store.put('g0', { name: 'renamed', members: [alice, bob] }, 99);
      const mine = await store.groupsOf(alice);
      expect(sorted(mine.map((g) => g.id))).toEqual(sorted(['g0', 'g2', 'g4', 'g6', 'g8', 'g10']));
      expect(mine.find((g) => g.id === 'g0')?.name).toBe('renamed');
      expect(await store.memberSince('g0', alice)).toBe(0);
      expect(await groupIds(store, bob)).toHaveLength(12);
    });

    it('cap - put over it is too_many_members and changes nothing; exactly the cap (duplicates counted once) is ok', async () => {
      const store = await make({ maxMembers: 5 });
      await store.put('team', { name: 't', members: [alice] }, 1);
      expect(await store.put('team', { name: 'x', members: users(6) }, 2)).toBe('too_many_members');
      expect(await store.get('team')).toEqual({ id: 'team', name: 't', members: [alice] });
      expect(await store.put('fresh', { name: 'x', members: users(6) }, 2)).toBe('too_many_members');
      expect(await store.get('fresh')).toBeNull();
      for (const m of users(6)) expect(await store.groupsOf(m)).toEqual([]);
      expect(await store.put('team', { name: 't', members: [...users(5), ...users(5)] }, 3)).toBe('ok');
      expect((await store.members('team'))?.size).toBe(5);
      await expectIndexed(store, 'team', [alice, ...users(6)]);
    });

    it('cap - addMembers over it adds none of them; members already in do not count', async () => {
      const store = await make({ maxMembers: 4 });
      await store.put('team', { name: 't', members: [alice, bob] }, 0);
      expect(await store.addMembers('team', users(3), 1)).toBe('too_many_members');
      expect(sorted([...(await store.members('team'))!.keys()])).toEqual(['alice', 'bob']);
      for (const m of users(3)) expect(await store.groupsOf(m)).toEqual([]);
      expect(await store.addMembers('team', [alice, bob, ...users(2)], 1)).toBe('ok');
      expect(await store.addMembers('team', [alice, ...users(2)], 2)).toBe('ok'); // full, but nothing new
      expect(await store.addMembers('team', [carol], 2)).toBe('too_many_members');
      expect(await store.addMembers('team', users(10), 2)).toBe('too_many_members');
      expect(await store.addMembers('nope', users(10), 2)).toBe('no_such_group');
      expect((await store.members('team'))?.size).toBe(4);
    });

    it('cap - holds when adds race (two clients): the group never exceeds it and every ok add is whole', async () => {
      const store = await make({ maxMembers: 10 });
      const other = await twin();
      await store.put('team', { name: 't', members: [] }, 0);
      const batches = Array.from({ length: 12 }, (_, i) => users(3, `b${i}-`));
      const outcomes = await Promise.all(batches.map((b, i) => (i % 2 === 0 ? store : other).addMembers('team', b, i)));
      const members = (await store.members('team'))!;
      expect(members.size).toBeLessThanOrEqual(10);
      expect(outcomes.filter((o) => o === 'ok')).toHaveLength(3);
      batches.forEach((b, i) => {
        for (const m of b) expect(members.has(m), m).toBe(outcomes[i] === 'ok');
      });
      await expectIndexed(store, 'team', batches.flat());
    });

    it('concurrency - racing puts, adds, removals and deletes leave groupsOf equal to the members', async () => {
      const store = await make({ maxMembers: 50 });
      const other = await twin();
      const pool = users(8, 'p');
      await store.put('team', { name: 't', members: pool.slice(0, 4) }, 0);
      const ops: Array<Promise<unknown>> = [];
      for (let round = 0; round < 6; round++) {
        const a = round % 2 === 0 ? store : other;
        const b = a === store ? other : store;
        ops.push(a.addMembers('team', pool.slice(round % 4, (round % 4) + 3), round));
        ops.push(b.removeMember('team', pool[(round * 3) % 8]!));
        ops.push(a.put('team', { name: `t${round}`, members: pool.filter((_, i) => (i + round) % 3 !== 0) }, round));
        ops.push(b.addMembers('team', [pool[(round * 5) % 8]!], round));
      }
      await Promise.all(ops);
      await expectIndexed(store, 'team', pool);
      await Promise.all([store.delete('team'), other.addMembers('team', pool, 9)]);
      await expectIndexed(store, 'team', pool);
    });

    it('odd ids - any member id a client can log in with round-trips', async () => {
      const store = await make();
      const odd = ['a:b', '{x}', 'x}y{', '用户', 'with space', 'g:lookalike', '🙂', 'x'.repeat(128), '"q"\\'].map(u);
      expect(await store.put('g.odd_-1', { name: '名前 🙂', members: odd }, 0)).toBe('ok');
      expect(sorted((await store.get('g.odd_-1'))!.members)).toEqual(sorted(odd));
      for (const m of odd) expect(await store.groupsOf(m), m).toEqual([{ id: 'g.odd_-1', name: '名前 🙂' }]);
      expect(await store.removeMember('g.odd_-1', odd[1]!)).toBe(true);
      expect(await store.groupsOf(odd[1]!)).toEqual([]);
    });

    it('arguments - bad gid, name, members or since are InvalidArgumentError for writes; reads answer an unknown group', async () => {
      const store = await make();
      const bad = async (p: Promise<unknown>) => expect(p).rejects.toBeInstanceOf(InvalidArgumentError);
      for (const gid of ['', 'a:b', 'a b', 'x}y', '{z}', 'é', 'x'.repeat(65)]) {
        await bad(store.put(gid, { name: 'n', members: [] }, 0));
        await bad(store.addMembers(gid, [alice], 0));
        expect(await store.get(gid), gid).toBeNull();
        expect(await store.members(gid)).toBeNull();
        expect(await store.memberSince(gid, alice)).toBeNull();
        expect(await store.removeMember(gid, alice)).toBe(false);
        expect(await store.delete(gid)).toBe(false);
      }
      await bad(store.put('team', { name: '', members: [] }, 0));
      await bad(store.put('team', { name: 'x'.repeat(MAX_GROUP_NAME_LENGTH + 1), members: [] }, 0));
      expect(await store.put('team', { name: '🙂'.repeat(MAX_GROUP_NAME_LENGTH), members: [] }, 0)).toBe('ok'); // code points
      for (const m of ['', '0', '-1', 'x'.repeat(129), 42 as unknown as string]) {
        await bad(store.put('team', { name: 'n', members: [alice, u(m)] }, 0));
        await bad(store.addMembers('team', [u(m)], 0));
      }
      for (const since of [-1, 1.5, NaN, Infinity]) {
        await bad(store.put('team', { name: 'n', members: [alice] }, since));
        await bad(store.addMembers('team', [alice], since));
      }
      expect(await store.get('team')).toEqual({ id: 'team', name: '🙂'.repeat(MAX_GROUP_NAME_LENGTH), members: [] });
      expect(await store.groupsOf(alice)).toEqual([]);
    });
  });
}
