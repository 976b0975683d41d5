import Fastify, { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import { Registry, Counter, collectDefaultMetrics } from 'prom-client';
import { loadScore, type Bridge, type NodeRecord, type NodeRegistry, type OfflineStore, type RouteStore } from '@switchboard/cluster';
import { newFingerprint, UnroutableError, type Logger, type NodeId, type UserId } from '@switchboard/core';
import { PacketType, SERVER_UID, encodePacket } from '@switchboard/protocol';
import { NodePicker } from './picker.js';
import { StatsHistory, STATS_SAMPLE_INTERVAL_MS, totals } from './stats.js';
import * as S from './schemas.js';
import { registerWeb } from './web.js';

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
  /** Guard for admin and push routes (shared with the gateway's admin port). */
  guard: (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /**
   * Dispatch's own place on the bridge, to send kicks and pushes to the gateway holding a user.
   * Without it those endpoints answer 503. Started by `buildDispatch`'s caller.
   */
  bridge?: Bridge;
  /**
   * Directory of the web build (`packages/web/dist`) served at `/`. When it has no `index.html`,
   * `/` answers 501 saying how to build it. @default not served
   */
  webRoot?: string;
}

/** The dispatch service (architecture §7): hands each client the least-loaded live gateway; cluster admin and push API. */
export function buildDispatch(opts: DispatchOptions) {
  const app = Fastify({
    loggerInstance: opts.log.child({ component: 'dispatch' }),
    logController: new LogController({ disableRequestLogging: true }),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
  });
  const picker = new NodePicker();
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const dispatches = new Counter({ name: 'switchboard_dispatches_total', help: 'Dispatch answers by result', labelNames: ['result'] as const, registers: [registry] });
  const pushes = new Counter({ name: 'switchboard_pushes_total', help: 'Push API messages by outcome', labelNames: ['status'] as const, registers: [registry] });
  const history = new StatsHistory();

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
  const sampler = setInterval(() => {
    liveNodes().then(
      (nodes) => history.add(nodes),
      () => {},
    );
  }, STATS_SAMPLE_INTERVAL_MS);
  sampler.unref();
  app.addHook('onClose', async () => clearInterval(sampler));

  /** The live route of a user, or null (none, or its node is gone). */
  const liveRoute = async (uid: UserId) => {
    const route = await opts.routes.lookup(uid);
    if (!route) return null;
    return (await opts.nodes.get(route.nodeId)) ? route : null;
  };

  app.register(swagger, {
    openapi: {
      info: { title: 'Switchboard dispatch', version: '0.1.0', description: 'Dispatch, cluster admin and push API of a Switchboard cluster.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });

  app.register(async (api) => {
    api.get('/docs/openapi.json', { schema: { hide: true } }, async () => app.swagger());

    api.get<{ Querystring: { uid: string } }>('/api/dispatch', { schema: S.dispatchSchema }, async (_req, reply) => {
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
    });

    api.get('/healthz', { schema: S.healthSchema }, async () => ({ status: 'ok' }));
    api.get('/readyz', { schema: S.readySchema }, async (_req, reply) => {
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
    api.get('/metrics', { schema: { hide: true } }, async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));

    api.register(async (admin) => {
      admin.addHook('onRequest', opts.guard);

      admin.get('/admin/nodes', { schema: S.nodesSchema }, async () => {
        const nodes = await opts.nodes.list();
        nodes.sort((a, b) => a.startedAt - b.startedAt);
        return { nodes: nodes.map((n) => ({ ...n, load: loadScore(n) })) };
      });

      admin.get('/admin/stats', { schema: S.statsSchema }, async () => {
        const nodes = await liveNodes();
        return { ...totals(nodes), draining: nodes.filter((n) => n.state === 'draining').length, history: history.list() };
      });

      admin.get<{ Params: { uid: string } }>('/admin/users/:uid', { schema: S.userSchema }, async (req) => {
        const uid = req.params.uid as UserId;
        const route = await liveRoute(uid);
        return { userId: uid, online: route !== null, route, offlineQueue: await opts.offline.count(uid) };
      });

      admin.post<{ Params: { uid: string }; Body: { reason?: string } | null }>(
        '/admin/users/:uid/kick',
        { schema: S.kickSchema },
        async (req, reply) => {
          if (!opts.bridge) return reply.code(503).send({ error: 'unavailable', message: 'dispatch has no bridge to the gateways' });
          const uid = req.params.uid as UserId;
          const route = await liveRoute(uid);
          if (!route) return reply.code(404).send({ error: 'not_found', message: `${uid} is not online` });
          try {
            await opts.bridge.send(route.nodeId, {
              type: 'kick',
              origin: opts.bridge.nodeId,
              userId: uid,
              connId: route.connId,
              code: 2,
              reason: req.body?.reason ?? null,
            });
          } catch (err) {
            if (err instanceof UnroutableError) return reply.code(404).send({ error: 'not_found', message: `${uid}'s gateway just left` });
            throw err;
          }
          return { kicked: true, userId: uid, nodeId: route.nodeId };
        },
      );

      admin.post<{ Params: { id: string } }>('/admin/nodes/:id/drain', { schema: S.drainSchema }, async (req, reply) => {
        const id = req.params.id as NodeId;
        if (!(await opts.nodes.get(id))) return reply.code(404).send({ error: 'not_found', message: `no live node ${id}` });
        await opts.nodes.requestDrain(id);
        // Faster than the node's next registry read, when the bridge is there.
        await opts.bridge?.send(id, { type: 'control', origin: opts.bridge.nodeId, action: 'drain' }).catch(() => {});
        return reply.code(202).send({ draining: true, nodeId: id });
      });

      admin.post<{ Body: { to: string; dataContent: string; typeu?: number; qos?: boolean } }>(
        '/api/messages',
        { schema: S.pushSchema },
        async (req, reply) => {
          const { to, dataContent } = req.body;
          const typeu = req.body.typeu ?? -1;
          const qos = req.body.qos ?? true;
          const uid = to as UserId;
          const fp = newFingerprint();
          const route = await liveRoute(uid);
          if (route && opts.bridge) {
            try {
              await opts.bridge.send(route.nodeId, { type: 'push', origin: opts.bridge.nodeId, to: uid, fp, dataContent, typeu, qos });
              pushes.inc({ status: 'relayed' });
              return reply.code(202).send({ fp, status: 'relayed' });
            } catch (err) {
              if (!(err instanceof UnroutableError)) opts.log.warn({ err }, 'push relay failed; storing offline');
            }
          }
          if (!qos) {
            pushes.inc({ status: 'dropped' });
            return reply.code(202).send({ fp, status: 'dropped' });
          }
          const packet = encodePacket({
            bridge: false,
            type: PacketType.DATA,
            dataContent,
            from: SERVER_UID,
            to,
            fp,
            QoS: true,
            typeu,
            sm: Date.now(),
          });
          const outcome = await opts.offline.store(uid, { fp, packet });
          if (outcome === 'full') {
            pushes.inc({ status: 'full' });
            return reply.code(409).send({ error: 'offline_queue_full', message: `${to}'s offline queue is full` });
          }
          pushes.inc({ status: 'stored' });
          return reply.code(202).send({ fp, status: 'stored' });
        },
      );
    });
  });

  if (opts.webRoot !== undefined) app.register(async (web) => registerWeb(web, opts.webRoot!));

  app.setErrorHandler(async (err: Error & { statusCode?: number; validation?: unknown }, _req, reply) => {
    if (err.validation) return reply.code(400).send({ error: 'bad_request', message: err.message });
    const status = (err as { status?: number }).status ?? err.statusCode ?? 500;
    if (status >= 500) opts.log.warn({ err }, 'request failed');
    return reply.code(status).send({ error: status === 503 ? 'unavailable' : 'internal', message: err.message });
  });

  return { app, registry };
}
