import { findRoute, liveRoute, type NodeRegistry, type Route, type RouteStore } from '@switchboard/cluster';
import type { NodeId, UserId } from '@switchboard/core';

/** How the resolver reuses routes of users on other nodes (docs/operations.md, "Route cache"). */
export interface RouteCacheOptions {
  /** How long a remote route is reused without asking the route store; 0 turns the cache off. */
  ttlMs: number;
  /** Most routes kept (the oldest forgotten first). */
  maxEntries: number;
  /** Counts hits and misses of `cachedRemote`. */
  count?: (result: 'hit' | 'miss') => void;
}

interface CachedRoute {
  route: Route;
  until: number;
}

/**
 * Where a user is, for this gateway: the route store's answer filtered by node liveness. Liveness
 * comes from a set of live nodes that the node reporter refreshes from the registry each interval;
 * a node missing from it (started since the last refresh) is looked up in the registry once and
 * then trusted until the next refresh. This node is live until it closes.
 *
 * The relay's lookups (`cachedRemote`) reuse a remote user's route for up to `ttlMs`, so a cross-node
 * message does not pay a route-store round trip each. A cached route is dropped when a presence
 * broadcast names its user (a login or a logout anywhere: `forget`), when the bridge comes back
 * after an outage (broadcasts may be lost: `forgetAll`), when a node it points at leaves the live
 * set, and when the node it points at answers a delivery with `miss`. Logins, kicks and the
 * resends of custody ask the route store itself.
 */
export class RouteResolver {
  private readonly liveNodes = new Set<NodeId>();
  private readonly cache = new Map<UserId, CachedRoute>();

  constructor(
    private readonly nodeId: NodeId,
    private readonly routes: RouteStore,
    private readonly registry: NodeRegistry,
    private readonly selfAlive: () => boolean,
    private readonly cacheOpts: RouteCacheOptions = { ttlMs: 0, maxEntries: 0 },
  ) {}

  /** Replace the live set with the registry's current list (called by the node reporter). */
  setLiveNodes(ids: Iterable<NodeId>): void {
    this.liveNodes.clear();
    for (const id of ids) this.liveNodes.add(id);
  }

  readonly isNodeAlive = async (id: NodeId): Promise<boolean> => {
    if (id === this.nodeId) return this.selfAlive();
    if (this.liveNodes.has(id)) return true;
    // A node that started after our last registry read.
    const rec = await this.registry.get(id);
    if (rec) this.liveNodes.add(id);
    return rec !== null;
  };

  /** The user's route on a live node (this one included), or null. Rejects when the route store fails. */
  live(userId: UserId): Promise<Route | null> {
    return liveRoute(this.routes, this.isNodeAlive, userId);
  }

  /** The user's route on another live node, or null, from the route store. Rejects when the route store fails. */
  async remote(userId: UserId): Promise<Route | null> {
    const r = await this.live(userId);
    return r && r.nodeId !== this.nodeId ? r : null;
  }

  /**
   * As `remote`, but a route found within the cache's lifetime is reused (synchronously) while its
   * node is in the live set. Only routes to other nodes are kept; "no route" is always asked again.
   */
  cachedRemote(userId: UserId): Route | Promise<Route | null> {
    const { ttlMs, count } = this.cacheOpts;
    if (ttlMs <= 0) return this.remote(userId);
    const hit = this.cache.get(userId);
    if (hit !== undefined) {
      if (hit.until > Date.now() && this.liveNodes.has(hit.route.nodeId)) {
        count?.('hit');
        return hit.route;
      }
      this.cache.delete(userId);
    }
    count?.('miss');
    return this.remote(userId).then((r) => {
      if (r !== null) this.remember(userId, r);
      return r;
    });
  }

  private remember(userId: UserId, route: Route): void {
    this.cache.delete(userId);
    this.cache.set(userId, { route, until: Date.now() + this.cacheOpts.ttlMs });
    if (this.cache.size > this.cacheOpts.maxEntries) this.cache.delete(this.cache.keys().next().value as UserId);
  }

  /** Drop the cached route of `userId` (it logged in or out somewhere, or its node missed it). */
  forget(userId: UserId): void {
    this.cache.delete(userId);
  }

  /** Drop every cached route (the bridge was down: presence broadcasts may have been lost). */
  forgetAll(): void {
    this.cache.clear();
  }

  /** Routes cached now (for tests and the admin view). */
  get cachedSize(): number {
    return this.cache.size;
  }

  /** The user's route and whether its node is live, or null. Rejects when the route store fails. */
  find(userId: UserId): Promise<{ route: Route; live: boolean } | null> {
    return findRoute(this.routes, this.isNodeAlive, userId);
  }
}
