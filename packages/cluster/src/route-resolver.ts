import type { NodeId, UserId } from '@switchboard/core';
import type { Route, RouteStore } from './route-store.js';

/** Whether a node is live; a cache policy is the caller's (a gateway keeps a set refreshed by its reports). */
export type NodeLiveness = (id: NodeId) => boolean | Promise<boolean>;

/** A user's registered route and whether its node is live, or null when the user has none. */
export async function findRoute(routes: RouteStore, isLive: NodeLiveness, userId: UserId): Promise<{ route: Route; live: boolean } | null> {
  const route = await routes.lookup(userId);
  if (!route) return null;
  return { route, live: await isLive(route.nodeId) };
}

/**
 * "Where is this user": its route when it points at a live node, else null (no route, or the node
 * died and its routes were not purged yet). Rejects when the route store fails. Used by every path
 * that delivers to, kicks or pushes to a user: the gateways' relay, nudge and kick, and dispatch.
 */
export async function liveRoute(routes: RouteStore, isLive: NodeLiveness, userId: UserId): Promise<Route | null> {
  const found = await findRoute(routes, isLive, userId);
  return found && found.live ? found.route : null;
}
