import type { NodeId, UserId } from '@switchboard/core';
import type { RouteResolver } from './route-resolver.js';

/** How long a group member's route is reused for fan-out, ms. Catch-up covers what a stale one misses. */
export const MEMBER_ROUTE_CACHE_MS = 1_000;
/** Most members whose route is kept; past it the cache starts over. */
const MAX_ENTRIES = 100_000;

/**
 * Which gateway each group member is on, for fan-out: the route resolver's answer, reused for
 * MEMBER_ROUTE_CACHE_MS. A 500-member group at 40 messages/s would otherwise cost 20,000 route
 * lookups a second; with it, each member costs one per second. A route that changed meanwhile (a
 * login elsewhere, a logout, a dead node) sends that member's copy to the wrong place or nowhere for
 * at most that long: the member gets it from history, by the catch-up a login runs once more after
 * MEMBER_ROUTE_CACHE_MS, or by hole catch-up on its next live message. C2C routing never uses this.
 */
export class MemberRoutes {
  private readonly cache = new Map<UserId, { node: NodeId | null; until: number }>();

  constructor(
    private readonly resolver: RouteResolver,
    private readonly now: () => number = Date.now,
  ) {}

  /** Each member's node, or null when it is offline or its lookup failed (failures are not kept). */
  async nodesOf(members: readonly UserId[]): Promise<Array<[UserId, NodeId | null]>> {
    const t = this.now();
    const out: Array<[UserId, NodeId | null]> = [];
    const missing: UserId[] = [];
    for (const m of members) {
      const hit = this.cache.get(m);
      if (hit && hit.until > t) out.push([m, hit.node]);
      else missing.push(m);
    }
    if (missing.length === 0) return out;
    const found = await Promise.all(missing.map((m) => this.resolver.remote(m).then((r) => r?.nodeId ?? null, () => undefined)));
    if (this.cache.size + missing.length > MAX_ENTRIES) this.cache.clear();
    const until = this.now() + MEMBER_ROUTE_CACHE_MS;
    missing.forEach((m, i) => {
      const node = found[i];
      if (node !== undefined) this.cache.set(m, { node, until });
      out.push([m, node ?? null]);
    });
    return out;
  }
}
