import { afterEach, describe, expect, it } from 'vitest';
import { asUserId, silentLogger } from '@switchboard/core';
import { MemoryGroupStore, MemoryHistoryStore, MemoryNodeRegistry, MemoryOfflineStore, MemoryRouteStore, groupConversation, type HistoryStore } from '@switchboard/cluster';
import { buildDispatch } from '@switchboard/dispatch';
import { adminGuard, createUserAuthenticator } from '@switchboard/gateway';

const log = silentLogger();
type App = ReturnType<typeof buildDispatch>['app'];
const apps: App[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

/** Dispatch on memory backends with history and groups, IM_AUTH=none (the token is the user id). */
function setup(opts: { groups?: boolean } = {}) {
  const history = new MemoryHistoryStore();
  const groups = new MemoryGroupStore();
  const { app } = buildDispatch({
    nodes: new MemoryNodeRegistry(),
    routes: new MemoryRouteStore(),
    offline: new MemoryOfflineStore(),
    log,
    senseMode: '15S',
    guard: adminGuard(undefined),
    history,
    userAuth: createUserAuthenticator({ mode: 'none', log }),
    ...(opts.groups === false ? {} : { groups }),
  });
  apps.push(app);
  const as = (user: string) => ({ authorization: `Bearer ${user}` });
  const get = async (user: string, url: string) => {
    const r = await app.inject({ method: 'GET', url, headers: as(user) });
    return { status: r.statusCode, body: r.json() as Record<string, unknown> };
  };
  const post = async (user: string, url: string, payload: unknown) => {
    const r = await app.inject({ method: 'POST', url, headers: as(user), payload: payload as Record<string, unknown> });
    return { status: r.statusCode, body: r.json() as Record<string, unknown> };
  };
  const admin = (method: 'PUT' | 'POST', url: string, payload: unknown) => app.inject({ method, url, remoteAddress: '127.0.0.1', payload: payload as Record<string, unknown> });
  return { app, history, groups, get, post, admin };
}

let clock = Date.now() - 60_000;
/** `n` group messages of `from` (fp `<gid>-<seq>`). */
async function say(history: HistoryStore, gid: string, from: string, n: number): Promise<void> {
  const conv = groupConversation(gid);
  for (let i = 0; i < n; i++) {
    const seq = (await history.lastSeq(conv)) + 1;
    await history.append(conv, { fp: `${gid}-${seq}`, from: asUserId(from), to: `g:${gid}`, dataContent: `${from} ${seq}`, typeu: -1, sentAt: ++clock }, { indexFor: [] });
  }
}

describe('user API - groups', () => {
  it('GET /api/groups lists the groups the user is in; GET /api/history?group= is for members only, from their join on', async () => {
    const t = setup();
    expect((await t.admin('PUT', '/admin/groups/team', { name: 'The Team', members: ['alice', 'bob'] })).statusCode).toBe(200);
    expect((await t.admin('PUT', '/admin/groups/other', { name: 'Other', members: ['bob'] })).statusCode).toBe(200);
    await say(t.history, 'team', 'alice', 3);
    expect((await t.admin('POST', '/admin/groups/team/members', { members: ['carol'] })).statusCode).toBe(200);
    await say(t.history, 'team', 'bob', 2);

    expect(await t.get('alice', '/api/groups')).toEqual({ status: 200, body: { groups: [{ id: 'team', name: 'The Team' }] } });
    expect((await t.get('bob', '/api/groups')).body).toEqual({ groups: [{ id: 'other', name: 'Other' }, { id: 'team', name: 'The Team' }] });

    const alice = await t.get('alice', '/api/history?group=team');
    expect(alice.status).toBe(200);
    expect((alice.body['messages'] as Array<{ seq: number }>).map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    const carol = await t.get('carol', '/api/history?group=team');
    expect((carol.body['messages'] as Array<{ seq: number; from: string }>).map((m) => [m.seq, m.from])).toEqual([[4, 'bob'], [5, 'bob']]);
    const paged = await t.get('alice', '/api/history?group=team&before=3&limit=1');
    expect((paged.body['messages'] as Array<{ seq: number }>).map((m) => m.seq)).toEqual([2]);

    for (const url of ['/api/history?group=team', '/api/history?group=nosuch']) {
      expect(await t.get('mallory', url)).toMatchObject({ status: 403, body: { error: 'not_a_member' } });
    }
    expect(await t.get('alice', '/api/history?group=team&peer=bob')).toMatchObject({ status: 400 });
    expect(await t.get('alice', '/api/history')).toMatchObject({ status: 400 });
  });

  it('GET /api/conversations lists groups with name and unread (not counting what came before the join); read takes {group, seq}', async () => {
    const t = setup();
    await t.admin('PUT', '/admin/groups/team', { name: 'The Team', members: ['alice', 'bob'] });
    await t.admin('PUT', '/admin/groups/quiet', { name: 'Quiet', members: ['carol'] });
    await say(t.history, 'team', 'alice', 3);
    await t.admin('POST', '/admin/groups/team/members', { members: ['carol'] });
    await say(t.history, 'team', 'bob', 2);

    const bob = (await t.get('bob', '/api/conversations')).body['conversations'] as Array<Record<string, unknown>>;
    expect(bob).toEqual([expect.objectContaining({ group: 'team', name: 'The Team', unread: 3, lastSeq: 5, readSeq: 0 })]);
    const carol = (await t.get('carol', '/api/conversations')).body['conversations'] as Array<Record<string, unknown>>;
    expect(carol.find((c) => c['group'] === 'team')).toMatchObject({ unread: 2, readSeq: 3, last: expect.objectContaining({ seq: 5 }) });
    expect(carol.find((c) => c['group'] === 'quiet')).toMatchObject({ name: 'Quiet', last: null, unread: 0 });

    expect(await t.post('bob', '/api/conversations/read', { group: 'team', seq: 2 })).toEqual({ status: 200, body: { group: 'team', readSeq: 2 } });
    expect(((await t.get('bob', '/api/conversations')).body['conversations'] as Array<Record<string, unknown>>)[0]).toMatchObject({ unread: 1, readSeq: 2 });
    expect(await t.post('mallory', '/api/conversations/read', { group: 'team', seq: 5 })).toMatchObject({ status: 403 });
    expect(await t.post('bob', '/api/conversations/read', { seq: 5 })).toMatchObject({ status: 400 });
  });

  it('without a group store: group routes answer 404 groups_off; peers work as before', async () => {
    const t = setup({ groups: false });
    expect(await t.get('alice', '/api/groups')).toMatchObject({ status: 404, body: { error: 'groups_off' } });
    expect(await t.get('alice', '/api/history?group=team')).toMatchObject({ status: 404, body: { error: 'groups_off' } });
    expect(await t.get('alice', '/api/history?peer=bob')).toEqual({ status: 200, body: { messages: [] } });
  });

  it('without a token: 401 on every group route', async () => {
    const t = setup();
    for (const url of ['/api/groups', '/api/history?group=team']) expect((await t.app.inject({ method: 'GET', url })).statusCode).toBe(401);
  });
});
