import { liveRoute as clusterLiveRoute, type NodeRegistry, type Route, type RouteStore } from '@switchboard/cluster';
import type { UserId } from '@switchboard/core';

/**
 * The live route of a user, or null (none, or its node is gone): `liveRoute` of `@switchboard/cluster`
 * (the gateways' rule) with the node registry as the liveness check, read fresh on each call.
 */
export function liveRoute(routes: RouteStore, nodes: NodeRegistry, uid: UserId): Promise<Route | null> {
  return clusterLiveRoute(routes, async (id) => (await nodes.get(id)) !== null, uid);
}
