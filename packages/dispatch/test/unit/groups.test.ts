import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asUserId, silentLogger } from '@switchboard/core';
import {
  groupConversation,
  MemoryGroupStore,
  MemoryHistoryStore,
  MemoryNodeRegistry,
  MemoryOfflineStore,
  MemoryRouteStore,
  type GroupStore,
} from '@switchboard/cluster';
import { buildDispatch, type DispatchOptions } from '@switchboard/dispatch';
import { adminGuard } from '@switchboard/gateway';

const TOKEN = 's3cret-token';
const auth = { authorization: `Bearer ${TOKEN}` };

describe('dispatch group admin API', () => {
  const log = silentLogger();
  const base = { nodes: new MemoryNodeRegistry(), routes: new MemoryRouteStore(), offline: new MemoryOfflineStore(), log, senseMode: '15S' };
  const groups = new MemoryGroupStore({ maxMembers: 5 });
  const history = new MemoryHistoryStore();
  // The history option is read when DispatchOptions has it (it is passed through whole).
  const opts = { ...base, guard: adminGuard(TOKEN), adminToken: TOKEN, groups, groupMaxMembers: 5, history } as DispatchOptions;
  const { app } = buildDispatch(opts);
  const bare = buildDispatch({ ...base, guard: adminGuard(TOKEN), adminToken: TOKEN }).app;
  const put = (gid: string, payload: unknown) => app.inject({ method: 'PUT', url: `/admin/groups/${gid}`, headers: auth, payload: payload as object });
  const add = (gid: string, members: unknown) => app.inject({ method: 'POST', url: `/admin/groups/${gid}/members`, headers: auth, payload: { members } });
  const get = (gid: string) => app.inject({ url: `/admin/groups/${gid}`, headers: auth });

  beforeAll(async () => {
    await app.ready();
    await bare.ready();
  });
  afterAll(async () => {
    await app.close();
    await bare.close();
  });

  it('auth - every group route answers 401 without the token or with a wrong one, like /admin/*', async () => {
    const routes = [
      { method: 'PUT', url: '/admin/groups/t', payload: { name: 'x', members: [] } },
      { method: 'POST', url: '/admin/groups/t/members', payload: { members: ['a'] } },
      { method: 'DELETE', url: '/admin/groups/t/members/a' },
      { method: 'DELETE', url: '/admin/groups/t' },
      { method: 'GET', url: '/admin/groups/t' },
    ] as const;
    for (const r of routes) {
      expect((await app.inject(r)).statusCode, `${r.method} ${r.url}`).toBe(401);
      expect((await app.inject({ ...r, headers: { authorization: 'Bearer wrong' } })).statusCode, `${r.method} ${r.url}`).toBe(401);
    }
    expect(await groups.get('t')).toBeNull();
  });

  it('lifecycle - put, get, add, remove, delete, with 404s for what is not there', async () => {
    const created = await put('team', { name: 'The Team', members: ['bob', 'alice', 'bob'] });
    expect(created.statusCode).toBe(200);
    expect(created.json()).toEqual({ id: 'team', name: 'The Team', members: ['alice', 'bob'] });
    expect((await get('team')).json()).toEqual({ id: 'team', name: 'The Team', members: ['alice', 'bob'] });
    expect((await get('nope')).statusCode).toBe(404);

    const added = await add('team', ['carol', 'alice']);
    expect(added.statusCode).toBe(200);
    expect(added.json().members).toEqual(['alice', 'bob', 'carol']);
    expect((await add('nope', ['carol'])).statusCode).toBe(404);

    const removed = await app.inject({ method: 'DELETE', url: '/admin/groups/team/members/bob', headers: auth });
    expect(removed.statusCode).toBe(204);
    expect((await app.inject({ method: 'DELETE', url: '/admin/groups/team/members/bob', headers: auth })).statusCode).toBe(404);
    expect((await app.inject({ method: 'DELETE', url: '/admin/groups/nope/members/bob', headers: auth })).statusCode).toBe(404);

    const replaced = await put('team', { name: 'Renamed', members: ['dave'] });
    expect(replaced.json()).toEqual({ id: 'team', name: 'Renamed', members: ['dave'] });
    expect(await groups.groupsOf(asUserId('alice'))).toEqual([]);

    expect((await app.inject({ method: 'DELETE', url: '/admin/groups/team', headers: auth })).statusCode).toBe(204);
    expect((await app.inject({ method: 'DELETE', url: '/admin/groups/team', headers: auth })).statusCode).toBe(404);
    expect((await get('team')).statusCode).toBe(404);
  });

  it('since - new members join at the group history’s lastSeq; members already in keep theirs', async () => {
    const conv = groupConversation('hist');
    const msg = (i: number) => ({ fp: `f${i}`, from: asUserId('alice'), to: 'g:hist', dataContent: 'x', typeu: 0, sentAt: Date.now() });
    await put('hist', { name: 'h', members: ['alice'] });
    for (let i = 1; i <= 3; i++) await history.append(conv, msg(i), { indexFor: [] });
    expect((await add('hist', ['bob'])).statusCode).toBe(200);
    await history.append(conv, msg(4), { indexFor: [] });
    expect((await put('hist', { name: 'h', members: ['alice', 'bob', 'carol'] })).statusCode).toBe(200);
    expect(await groups.members('hist')).toEqual(
      new Map([
        [asUserId('alice'), 0],
        [asUserId('bob'), 3],
        [asUserId('carol'), 4],
      ]),
    );
  });

  it('cap - over IM_GROUP_MAX_MEMBERS is 409 too_many_members and changes nothing; duplicates count once', async () => {
    const users = (n: number, tag = 'u') => Array.from({ length: n }, (_, i) => `${tag}${i}`);
    const over = await put('capped', { name: 'c', members: users(6) });
    expect(over.statusCode).toBe(409);
    expect(over.json()).toMatchObject({ error: 'too_many_members' });
    expect((await get('capped')).statusCode).toBe(404);
    expect((await put('capped', { name: 'c', members: [...users(5), ...users(5), ...users(5)] })).statusCode).toBe(200);
    expect((await add('capped', ['x'])).statusCode).toBe(409);
    expect((await add('capped', users(5))).statusCode).toBe(200); // all in already
    expect((await get('capped')).json().members).toHaveLength(5);
  });

  it('cap - concurrent adds racing for the last places: exactly the cap gets in', async () => {
    await put('race', { name: 'r', members: [] });
    const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => add('race', [`r${i}`])));
    expect(rs.filter((r) => r.statusCode === 200)).toHaveLength(5);
    expect(rs.filter((r) => r.statusCode === 409)).toHaveLength(15);
    expect((await get('race')).json().members).toHaveLength(5);
  });

  it('validation - bad gid, name, members or body are 400 and write nothing', async () => {
    for (const gid of ['a:b', 'x'.repeat(65), '%7Bx%7D', 'caf%C3%A9']) {
      expect((await put(gid, { name: 'n', members: [] })).statusCode, gid).toBe(400);
      expect((await get(gid)).statusCode, gid).toBe(400);
    }
    const bad = [
      {},
      { name: 'n' },
      { members: [] },
      { name: '', members: [] },
      { name: 'x'.repeat(201), members: [] },
      { name: 'n', members: 'alice' },
      { name: 'n', members: [''] },
      { name: 'n', members: [1] },
      { name: 'n', members: ['x'.repeat(129)] },
      { name: 'n', members: ['0'] },
      { name: 'n', members: ['alice', '-1'] },
      { name: 'n', members: ['g:team'] },
      { name: 'n', members: [], extra: 1 },
    ];
    for (const body of bad) {
      const r = await put('valid', body);
      expect(r.statusCode, JSON.stringify(body).slice(0, 60)).toBe(400);
      expect(r.json().error).toBe('bad_request');
    }
    expect((await put('valid', { name: '🙂'.repeat(200), members: ['a:b', '用户', 'x'.repeat(128), 'g', '{z}'] })).statusCode).toBe(200);
    expect((await add('valid', ['g:x'])).statusCode).toBe(400);
    expect((await add('valid', [])).statusCode).toBe(200);
    const notJson = await app.inject({ method: 'PUT', url: '/admin/groups/valid', headers: { ...auth, 'content-type': 'application/json' }, payload: '{"name":' });
    expect(notJson.statusCode).toBe(400);
    expect((await get('valid')).json().members).toHaveLength(5);
  });

  it('huge bodies - 100k members is refused whole: 413 over the body limit, else 409, never a partial write', async () => {
    const long = Array.from({ length: 100_000 }, (_, i) => `user-${String(i).padStart(12, '0')}`);
    const r = await put('huge', { name: 'h', members: long });
    expect(r.statusCode).toBe(413);
    const short = Array.from({ length: 100_000 }, (_, i) => `${i + 1}`);
    const r2 = await put('huge', { name: 'h', members: short });
    expect(r2.statusCode).toBe(409);
    // A huge list of one id repeated is one member.
    expect((await put('huge', { name: 'h', members: Array.from({ length: 100_000 }, () => 'same') })).json().members).toEqual(['same']);
  });

  it('without a group store - the routes answer 503', async () => {
    const r = await bare.inject({ method: 'PUT', url: '/admin/groups/t', headers: auth, payload: { name: 'x', members: [] } });
    expect(r.statusCode).toBe(503);
    expect((await bare.inject({ url: '/admin/groups/t', headers: auth })).statusCode).toBe(503);
  });

  it('GET /docs/openapi.json - documents the group routes', async () => {
    const doc = (await app.inject({ url: '/docs/openapi.json' })).json();
    expect(doc.paths['/admin/groups/{gid}']).toHaveProperty('put');
    expect(doc.paths['/admin/groups/{gid}']).toHaveProperty('get');
    expect(doc.paths['/admin/groups/{gid}']).toHaveProperty('delete');
    expect(doc.paths['/admin/groups/{gid}/members']).toHaveProperty('post');
    expect(doc.paths['/admin/groups/{gid}/members/{uid}']).toHaveProperty('delete');
  });
});

/** A store whose every call fails as Redis does when it is down. */
function downStore(): GroupStore {
  const fail = async (): Promise<never> => {
    const { UnavailableError } = await import('@switchboard/core');
    throw new UnavailableError('redis unavailable: group get failed');
  };
  return { put: fail, addMembers: fail, removeMember: fail, delete: fail, get: fail, members: fail, restartJoins: fail, memberSince: fail, groupsOf: fail, close: async () => {} };
}

describe('dispatch group admin API, store down', () => {
  it('answers 503 unavailable', async () => {
    const { app } = buildDispatch({
      nodes: new MemoryNodeRegistry(),
      routes: new MemoryRouteStore(),
      offline: new MemoryOfflineStore(),
      log: silentLogger(),
      senseMode: '15S',
      guard: adminGuard(undefined),
      groups: downStore(),
    });
    const r = await app.inject({ url: '/admin/groups/team' });
    expect(r.statusCode).toBe(503);
    expect(r.json()).toMatchObject({ error: 'unavailable' });
    await app.close();
  });
});
