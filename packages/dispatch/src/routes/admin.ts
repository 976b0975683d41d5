import type { FastifyInstance } from 'fastify';
import { loadScore, type Bridge, type NodeRecord, type NodeRegistry, type OfflineStore, type RouteStore } from '@switchboard/cluster';
import { UnroutableError, type Logger, type NodeId, type UserId } from '@switchboard/core';
import { logAdminAction } from '../http-metrics.js';
import { liveRoute } from '../live-route.js';
import * as S from '../schemas.js';
import { totals, type StatsHistory } from '../stats.js';

export interface AdminRouteDeps {
  nodes: NodeRegistry;
  routes: RouteStore;
  offline: OfflineStore;
  bridge?: Bridge;
  liveNodes: () => Promise<NodeRecord[]>;
  history: StatsHistory;
  log: Logger;
}

/** The cluster admin API: nodes, totals, a user's route, kick, drain. Registered behind the admin guard. */
export function registerAdminRoutes(admin: FastifyInstance, d: AdminRouteDeps): void {
  admin.get('/admin/nodes', { schema: S.nodesSchema }, async () => {
    const nodes = await d.nodes.list();
    nodes.sort((a, b) => a.startedAt - b.startedAt);
    return { nodes: nodes.map((n) => ({ ...n, load: loadScore(n) })) };
  });

  admin.get('/admin/stats', { schema: S.statsSchema }, async () => {
    const nodes = await d.liveNodes();
    return { ...totals(nodes), draining: nodes.filter((n) => n.state === 'draining').length, history: d.history.list() };
  });

  admin.get<{ Params: { uid: string } }>('/admin/users/:uid', { schema: S.userSchema }, async (req) => {
    const uid = req.params.uid as UserId;
    const route = await liveRoute(d.routes, d.nodes, uid);
    return { userId: uid, online: route !== null, route, offlineQueue: await d.offline.count(uid) };
  });

  admin.post<{ Params: { uid: string }; Body: { reason?: string } | null }>('/admin/users/:uid/kick', { schema: S.kickSchema }, async (req, reply) => {
    if (!d.bridge) return reply.code(503).send({ error: 'unavailable', message: 'dispatch has no bridge to the gateways' });
    const uid = req.params.uid as UserId;
    const reason = req.body?.reason ?? null;
    const route = await liveRoute(d.routes, d.nodes, uid);
    if (!route) {
      logAdminAction(d.log, req, 'kick', { userId: uid, reason, result: 'not_online' });
      return reply.code(404).send({ error: 'not_found', message: `${uid} is not online` });
    }
    try {
      await d.bridge.send(route.nodeId, {
        type: 'kick',
        origin: d.bridge.nodeId,
        userId: uid,
        connId: route.connId,
        code: 2,
        reason,
      });
    } catch (err) {
      logAdminAction(d.log, req, 'kick', { userId: uid, reason, nodeId: route.nodeId, result: err instanceof UnroutableError ? 'gateway_gone' : 'failed' });
      if (err instanceof UnroutableError) return reply.code(404).send({ error: 'not_found', message: `${uid}'s gateway just left` });
      throw err;
    }
    logAdminAction(d.log, req, 'kick', { userId: uid, reason, nodeId: route.nodeId, connId: route.connId, result: 'kicked' });
    return { kicked: true, userId: uid, nodeId: route.nodeId };
  });

  admin.post<{ Params: { id: string } }>('/admin/nodes/:id/drain', { schema: S.drainSchema }, async (req, reply) => {
    const id = req.params.id as NodeId;
    if (!(await d.nodes.get(id))) {
      logAdminAction(d.log, req, 'drain', { nodeId: id, result: 'not_found' });
      return reply.code(404).send({ error: 'not_found', message: `no live node ${id}` });
    }
    await d.nodes.requestDrain(id);
    // Faster than the node's next registry read, when the bridge is there. Without it the node
    // still drains at that read, so a failed notice is only logged.
    await d.bridge?.send(id, { type: 'control', origin: d.bridge.nodeId, action: 'drain' }).catch((err: unknown) => {
      d.log.warn({ err, nodeId: id }, 'drain notice not sent; the node drains at its next registry read');
    });
    logAdminAction(d.log, req, 'drain', { nodeId: id, result: 'requested' });
    return reply.code(202).send({ draining: true, nodeId: id });
  });
}
