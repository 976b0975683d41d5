import type { NodeRegistry, Route, RouteStore } from '@switchboard/cluster';
import type { UserId } from '@switchboard/core';

/** The live route of a user, or null (none, or its node is gone). */
export async function liveRoute(routes: RouteStore, nodes: NodeRegistry, uid: UserId): Promise<Route | null> {
  const route = await routes.lookup(uid);
  if (!route) return null;
  return (await nodes.get(route.nodeId)) ? route : null;
}
