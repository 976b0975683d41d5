import type { ConnId, NodeId, UserId } from '@switchboard/core';

/** Where a user's one live session is: which node, which connection. */
export interface Route {
  userId: UserId;
  nodeId: NodeId;
  connId: ConnId;
  /** The `firstLoginTime` (ms) the server answered for this session; the kick rule compares it. */
  firstLoginTime: number;
  /** When the route was claimed (ms since epoch). */
  since: number;
}

/**
 * Outcome of a login's claim on a user's route, per MobileIMSDK's `firstLoginTime` kick rule
 * made cluster-wide (architecture §6):
 * - `claimed`: the new route is now the user's route. `replaced` is the route it displaced (null
 *   when there was none or it was this same connection); `kickReplaced` says whether the displaced
 *   session must get kickout code 1 (false when the login times are equal: same device reconnecting).
 * - `rejected`: the newcomer is older than the current session (its `firstLoginTime` is smaller):
 *   nothing changed; the caller kicks the newcomer.
 */
export type ClaimResult =
  | { outcome: 'claimed'; replaced: Route | null; kickReplaced: boolean }
  | { outcome: 'rejected'; current: Route };

/** One route per user across the cluster. All methods are atomic per user. */
export interface RouteStore {
  /**
   * Claim the user's route for a new login, applying the kick rule atomically.
   * `clientFirstLoginTime` is what the client sent (≤ 0 = fresh login, always wins);
   * `route.firstLoginTime` is what the server answers (the client's value if > 0, else now).
   * `staleConnId`: the caller found the current route on a dead node; a current route with
   * that connection counts as absent (never reject a login because of a dead node's route).
   * A claim from the connection that already owns the route just refreshes it.
   */
  claim(route: Route, clientFirstLoginTime: number, opts?: { staleConnId?: ConnId }): Promise<ClaimResult>;
  /** The user's current route, or null. The route's node may be dead; callers check liveness. */
  lookup(userId: UserId): Promise<Route | null>;
  /** Delete the route only if `connId` still owns it (compare-and-delete). True when deleted. */
  unregister(userId: UserId, connId: ConnId): Promise<boolean>;
  /**
   * Delete every route that names `nodeId` (compare-and-delete each). Returns the users whose route
   * this call deleted (each once; they are now offline unless they log in again), so the caller can
   * report them offline (presence).
   */
  purgeNode(nodeId: NodeId): Promise<UserId[]>;
  /** Number of routes that name `nodeId`. */
  countNode(nodeId: NodeId): Promise<number>;
  close(): Promise<void>;
}

/**
 * The kick rule as a pure function, shared by the memory store and mirrored by the Redis Lua script.
 * `current` is the user's route (already filtered for staleness), `next` the claim.
 */
export function decideClaim(current: Route | null, next: Route, clientFirstLoginTime: number): ClaimResult {
  if (current === null || current.connId === next.connId) return { outcome: 'claimed', replaced: null, kickReplaced: false };
  if (clientFirstLoginTime <= 0 || clientFirstLoginTime > current.firstLoginTime) {
    return { outcome: 'claimed', replaced: current, kickReplaced: true };
  }
  if (clientFirstLoginTime === current.firstLoginTime) return { outcome: 'claimed', replaced: current, kickReplaced: false };
  return { outcome: 'rejected', current };
}
