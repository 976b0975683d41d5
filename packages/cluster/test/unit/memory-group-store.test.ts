import { describe, expect, it } from 'vitest';
import { asUserId, InvalidArgumentError } from '@switchboard/core';
import { MemoryGroupStore } from '../../src/memory/memory-group-store.js';
import { DEFAULT_GROUP_MAX_MEMBERS, memberIdProblem } from '../../src/group-store.js';
import { groupStoreContract } from '../contract/group-store.contract.js';

groupStoreContract('MemoryGroupStore', async (opts) => {
  const store = new MemoryGroupStore(opts);
  return { store, twin: async () => store, cleanup: async () => {} };
});

describe('MemoryGroupStore options', () => {
  it('refuses a maxMembers that is not a positive integer; the default is DEFAULT_GROUP_MAX_MEMBERS', async () => {
    for (const bad of [0, -1, 1.5, NaN]) expect(() => new MemoryGroupStore({ maxMembers: bad }), String(bad)).toThrow(InvalidArgumentError);
    const store = new MemoryGroupStore();
    const many = (n: number) => Array.from({ length: n }, (_, i) => asUserId(`u${i}`));
    expect(await store.put('big', { name: 'b', members: many(DEFAULT_GROUP_MAX_MEMBERS + 1) }, 0)).toBe('too_many_members');
    expect(await store.put('big', { name: 'b', members: many(DEFAULT_GROUP_MAX_MEMBERS) }, 0)).toBe('ok');
  });
});

describe('memberIdProblem', () => {
  it('accepts what a client can log in with, refuses the rest and, given a prefix, ids starting with it', () => {
    for (const ok of ['alice', 'a:b', '用户', 'x'.repeat(128), '00', '-', 'g']) expect(memberIdProblem(ok, 'g:'), ok).toBeNull();
    for (const bad of ['', '0', '-1', 'x'.repeat(129), 7, null, undefined]) expect(memberIdProblem(bad), String(bad)).not.toBeNull();
    expect(memberIdProblem('g:team')).toBeNull();
    expect(memberIdProblem('g:team', 'g:')).toMatch(/prefix/);
  });
});
