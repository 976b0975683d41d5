import { findRoute, liveRoute, type NodeRegistry, type Route, type RouteStore } from '@switchboard/cluster';
import type { NodeId, UserId } from '@switchboard/core';

/**
 * Where a user is, for this gateway: the route store's answer filtered by node liveness. Liveness
 * comes from a set of live nodes that the node reporter refreshes from the registry each interval;
 * a node missing from it (started since the last refresh) is looked up in the registry once and
 * then trusted until the next refresh. This node is live until it closes.
 */
export class RouteResolver {
  private readonly liveNodes = new Set<NodeId>();

  constructor(
    private readonly nodeId: NodeId,
    private readonly routes: RouteStore,
    private readonly registry: NodeRegistry,
    private readonly selfAlive: () => boolean,
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

  /** The user's route on another live node, or null. Rejects when the route store fails. */
  async remote(userId: UserId): Promise<Route | null> {
    const r = await this.live(userId);
    return r && r.nodeId !== this.nodeId ? r : null;
  }

  /** The user's route and whether its node is live, or null. Rejects when the route store fails. */
  find(userId: UserId): Promise<{ route: Route; live: boolean } | null> {
    return findRoute(this.routes, this.isNodeAlive, userId);
  }
}
