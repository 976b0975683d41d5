import Fastify, { LogController } from 'fastify';
import swagger from '@fastify/swagger';
import type { Logger } from '@switchboard/core';
import type { Gateway } from './gateway.js';
import { adminGuard, metricsGuard } from './admin-auth.js';

const security = [{ bearer: [] }];
const error = { type: 'object', properties: { error: { type: 'string' }, message: { type: 'string' } } } as const;

const schemas = {
  health: {
    summary: 'Liveness: the process is up',
    response: { 200: { type: 'object', properties: { status: { type: 'string' }, nodeId: { type: 'string' } } } },
  },
  ready: {
    summary: 'Readiness: 503 while starting, draining, or while Redis or RabbitMQ is unreachable',
    response: {
      200: { $ref: 'Readiness#' },
      503: { $ref: 'Readiness#' },
    },
  },
  connections: {
    summary: "This node's connections, oldest first",
    security,
    querystring: {
      type: 'object',
      properties: { offset: { type: 'integer', minimum: 0, default: 0 }, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
    },
    response: {
      200: {
        type: 'object',
        properties: {
          total: { type: 'integer' },
          offset: { type: 'integer' },
          limit: { type: 'integer' },
          connections: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                connId: { type: 'string' },
                userId: { type: ['string', 'null'] },
                transport: { type: 'string' },
                remote: { type: 'string' },
                state: { type: 'string' },
                connectedAt: { type: 'integer' },
                lastSeen: { type: 'integer' },
              },
            },
          },
        },
      },
      401: error,
      403: error,
    },
  },
  drain: {
    summary: 'Drain this node, then exit',
    security,
    response: { 202: { type: 'object', properties: { draining: { type: 'boolean' }, nodeId: { type: 'string' } } }, 401: error, 403: error },
  },
  kick: {
    summary: 'Kick a user wherever they are connected (kickout code 2)',
    security,
    params: { type: 'object', properties: { uid: { type: 'string', minLength: 1, maxLength: 128 } }, required: ['uid'] },
    body: { type: ['object', 'null'], properties: { reason: { type: 'string', maxLength: 256 } } },
    response: {
      200: { $ref: 'KickResult#' },
      404: { $ref: 'KickResult#' },
      401: error,
      403: error,
    },
  },
} as const;

/**
 * The gateway's admin port (architecture §8): health, readiness, metrics, connections, drain, kick.
 * `/metrics` has its own rule (`metricsGuard`: `metricsToken`, else loopback or the admin token).
 */
export function buildGatewayAdmin(gw: Gateway, opts: { adminToken?: string; metricsToken?: string; log: Logger }) {
  const app = Fastify({ loggerInstance: opts.log.child({ component: 'admin' }), logController: new LogController({ disableRequestLogging: true }) });
  const guard = adminGuard(opts.adminToken);
  app.addSchema({
    $id: 'Readiness',
    type: 'object',
    properties: { ready: { type: 'boolean' }, reason: { type: ['string', 'null'] }, state: { type: 'string' }, nodeId: { type: 'string' } },
  });
  app.addSchema({ $id: 'KickResult', type: 'object', properties: { kicked: { type: 'boolean' }, userId: { type: 'string' } } });
  app.register(swagger, {
    openapi: {
      info: { title: 'Switchboard gateway admin', version: '0.1.0' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });

  app.register(async (api) => {
    api.get('/docs/openapi.json', { schema: { hide: true } }, async () => app.swagger());
    api.get('/healthz', { schema: schemas.health }, async () => ({ status: 'ok', nodeId: gw.nodeId }));
    api.get('/readyz', { schema: schemas.ready }, async (_req, reply) => {
      const r = gw.isReady();
      return reply.code(r.ready ? 200 : 503).send({ ready: r.ready, reason: r.reason ?? null, state: gw.state, nodeId: gw.nodeId });
    });
    api.get('/metrics', { schema: { hide: true }, onRequest: metricsGuard(opts.metricsToken, opts.adminToken) }, async (_req, reply) => {
      return reply.type(gw.metrics.registry.contentType).send(await gw.metrics.registry.metrics());
    });
    api.register(async (admin) => {
      admin.addHook('onRequest', guard);
      admin.get<{ Querystring: { offset: number; limit: number } }>('/admin/connections', { schema: schemas.connections }, async (req) =>
        gw.listConnections(req.query.offset, req.query.limit),
      );
      admin.post('/admin/drain', { schema: schemas.drain }, async (req, reply) => {
        gw.log.info({ admin: 'drain', nodeId: gw.nodeId, remote: req.ip }, 'admin drain');
        void gw.drain();
        return reply.code(202).send({ draining: true, nodeId: gw.nodeId });
      });
      admin.post<{ Params: { uid: string }; Body: { reason?: string } | null }>('/admin/users/:uid/kick', { schema: schemas.kick }, async (req, reply) => {
        const reason = typeof req.body?.reason === 'string' ? req.body.reason : null;
        const ok = await gw.kickUser(req.params.uid, reason);
        gw.log.info({ admin: 'kick', userId: req.params.uid, reason, result: ok ? 'kicked' : 'not_online', remote: req.ip }, 'admin kick');
        return reply.code(ok ? 200 : 404).send({ kicked: ok, userId: req.params.uid });
      });
    });
  });
  return app;
}
