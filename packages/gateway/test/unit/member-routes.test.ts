import { describe, expect, it } from 'vitest';
import { MemoryNodeRegistry, MemoryRouteStore } from '@switchboard/cluster';
import type { ConnId, NodeId, UserId } from '@switchboard/core';
import { MEMBER_ROUTE_CACHE_MS, MemberRoutes } from '../../src/delivery/member-routes.js';
import { RouteResolver } from '../../src/delivery/route-resolver.js';

const u = (s: string) => s as UserId;
const n = (s: string) => s as NodeId;
const login = async (routes: MemoryRouteStore, uid: string, node: string, at: number) => {
  const r = await routes.claim({ userId: u(uid), nodeId: n(node), connId: `${node}-${uid}-${at}` as ConnId, firstLoginTime: at, since: at }, at);
  expect(r.outcome).toBe('claimed');
};

describe('MemberRoutes', () => {
  const setup = () => {
    const routes = new MemoryRouteStore();
    const registry = new MemoryNodeRegistry();
    const resolver = new RouteResolver(n('self'), routes, registry, () => true);
    resolver.setLiveNodes([n('self'), n('b'), n('c')]);
    let lookups = 0;
    const counting = Object.assign(Object.create(resolver) as RouteResolver, {
      remote: (uid: UserId) => {
        lookups++;
        return resolver.remote(uid);
      },
    });
    let t = 1_000;
    const mr = new MemberRoutes(counting, () => t);
    return { routes, mr, lookups: () => lookups, advance: (ms: number) => (t += ms) };
  };

  it('nodesOf - one lookup per member within the window, a fresh one after it, offline members included', async () => {
    const { routes, mr, lookups, advance } = setup();
    await login(routes, 'm1', 'b', 1);
    await login(routes, 'm2', 'c', 1);
    const first = new Map(await mr.nodesOf([u('m1'), u('m2'), u('off')]));
    expect(first).toEqual(new Map([[u('m1'), n('b')], [u('m2'), n('c')], [u('off'), null]]));
    expect(lookups()).toBe(3);
    // m1 moves to c: the cached answer stands within the window…
    await login(routes, 'm1', 'c', 2);
    advance(MEMBER_ROUTE_CACHE_MS - 1);
    expect(new Map(await mr.nodesOf([u('m1'), u('off')])).get(u('m1'))).toBe(n('b'));
    expect(lookups()).toBe(3);
    // …and not after it.
    advance(2);
    expect(new Map(await mr.nodesOf([u('m1'), u('off')]))).toEqual(new Map([[u('m1'), n('c')], [u('off'), null]]));
    expect(lookups()).toBe(5);
  });
});
