import Fastify, { LogController } from 'fastify';
import { Registry, Counter, collectDefaultMetrics } from 'prom-client';
import type { NodeRecord, NodeRegistry, OfflineStore, RouteStore } from '@switchboard/cluster';
import type { Logger, NodeId, UserId } from '@switchboard/core';
import { NodePicker } from './picker.js';

/** Reconnect policy handed to clients with every dispatch answer. */
export const DEFAULT_RECONNECT = { initialDelayMs: 500, maxDelayMs: 15_000, multiplier: 2, jitter: 0.5 } as const;
/** How long dispatch reuses one read of the node registry. */
export const NODE_LIST_CACHE_MS = 250;

export interface DispatchOptions {
  nodes: NodeRegistry;
  routes: RouteStore;
  offline: OfflineStore;
  log: Logger;
  /** Sense mode the gateways run, told to clients. */
  senseMode: string;
  adminToken?: string;
  /** Whether Redis answers (readiness). @default always */
  backendsUp?: () => boolean;
  /** Guard for admin routes (shared with the gateway's admin port). */
  guard: (req: import('fastify').FastifyRequest, reply: import('fastify').FastifyReply) => Promise<void>;
}

/** The dispatch service (architecture §7): hands each client the least-loaded live gateway. */
export function buildDispatch(opts: DispatchOptions) {
  const app = Fastify({ loggerInstance: opts.log.child({ component: 'dispatch' }), logController: new LogController({ disableRequestLogging: true }) });
  const picker = new NodePicker();
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const dispatches = new Counter({ name: 'switchboard_dispatches_total', help: 'Dispatch answers by result', labelNames: ['result'] as const, registers: [registry] });
  let cache: { at: number; nodes: Promise<NodeRecord[]> } | null = null;
  const liveNodes = (): Promise<NodeRecord[]> => {
    const now = Date.now();
    if (!cache || now - cache.at > NODE_LIST_CACHE_MS) {
      const nodes = opts.nodes.list();
      cache = { at: now, nodes };
      nodes.catch(() => {
        cache = null;
      });
    }
    return cache.nodes;
  };

  app.get<{ Querystring: { uid?: string } }>(
    '/api/dispatch',
    { schema: { querystring: { type: 'object', properties: { uid: { type: 'string', minLength: 1, maxLength: 128 } }, required: ['uid'] } } },
    async (_req, reply) => {
      let nodes: NodeRecord[];
      try {
        nodes = await liveNodes();
      } catch (err) {
        dispatches.inc({ result: 'unavailable' });
        opts.log.warn({ err }, 'node registry unreachable');
        return reply.code(503).send({ error: 'unavailable', reason: 'node registry unreachable' });
      }
      const n = picker.pick(nodes);
      if (!n) {
        dispatches.inc({ result: 'no_gateway' });
        return reply.code(503).send({ error: 'unavailable', reason: nodes.length ? 'every gateway is draining' : 'no live gateway' });
      }
      dispatches.inc({ result: 'ok' });
      return {
        node: n.id,
        ws: `ws://${n.host}:${n.ports.ws}/websocket`,
        tcp: { host: n.host, port: n.ports.tcp },
        udp: { host: n.host, port: n.ports.udp },
        senseMode: opts.senseMode,
        reconnect: DEFAULT_RECONNECT,
      };
    },
  );

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    if (opts.backendsUp && !opts.backendsUp()) return reply.code(503).send({ ready: false, reason: 'redis unreachable' });
    try {
      const nodes = await liveNodes();
      const active = nodes.filter((n) => n.state === 'active').length;
      if (active === 0) return reply.code(503).send({ ready: false, reason: 'no live gateway' });
      return { ready: true, gateways: active };
    } catch {
      return reply.code(503).send({ ready: false, reason: 'redis unreachable' });
    }
  });
  app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));

  app.register(async (admin) => {
    admin.addHook('onRequest', opts.guard);
    admin.get('/admin/nodes', async () => {
      const nodes = await opts.nodes.list();
      nodes.sort((a, b) => a.startedAt - b.startedAt);
      return { nodes };
    });
    admin.get<{ Params: { uid: string } }>('/admin/users/:uid', async (req) => {
      const uid = req.params.uid as UserId;
      const route = await opts.routes.lookup(uid);
      const online = route !== null && (await opts.nodes.get(route.nodeId)) !== null;
      return { userId: uid, online, route: online ? route : null, offlineQueue: await opts.offline.count(uid) };
    });
    admin.post<{ Params: { id: string } }>('/admin/nodes/:id/drain', async (req, reply) => {
      const id = req.params.id as NodeId;
      if (!(await opts.nodes.get(id))) return reply.code(404).send({ error: 'not_found', message: `no live node ${id}` });
      await opts.nodes.requestDrain(id);
      return reply.code(202).send({ draining: true, nodeId: id });
    });
  });

  return { app, registry };
}
