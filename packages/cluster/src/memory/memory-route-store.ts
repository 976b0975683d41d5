import type { ConnId, NodeId, UserId } from '@switchboard/core';
import { decideClaim, type ClaimResult, type Route, type RouteStore } from '../route-store.js';

/** In-process RouteStore: the standalone default and the unit-test twin of RedisRouteStore. */
export class MemoryRouteStore implements RouteStore {
  private routes = new Map<UserId, Route>();

  async claim(route: Route, clientFirstLoginTime: number, opts: { staleConnId?: ConnId } = {}): Promise<ClaimResult> {
    let current = this.routes.get(route.userId) ?? null;
    if (current && opts.staleConnId !== undefined && current.connId === opts.staleConnId) current = null;
    const result = decideClaim(current, route, clientFirstLoginTime);
    if (result.outcome === 'claimed') this.routes.set(route.userId, { ...route });
    return result;
  }

  async lookup(userId: UserId): Promise<Route | null> {
    const r = this.routes.get(userId);
    return r ? { ...r } : null;
  }

  async unregister(userId: UserId, connId: ConnId): Promise<boolean> {
    const r = this.routes.get(userId);
    if (!r || r.connId !== connId) return false;
    this.routes.delete(userId);
    return true;
  }

  async purgeNode(nodeId: NodeId): Promise<UserId[]> {
    const purged: UserId[] = [];
    for (const [uid, r] of this.routes) {
      if (r.nodeId === nodeId) {
        this.routes.delete(uid);
        purged.push(uid);
      }
    }
    return purged;
  }

  async countNode(nodeId: NodeId): Promise<number> {
    let n = 0;
    for (const r of this.routes.values()) if (r.nodeId === nodeId) n++;
    return n;
  }

  async close(): Promise<void> {}
}
