import Fastify, { LogController } from 'fastify';
import type { Logger } from '@switchboard/core';
import type { Gateway } from './gateway.js';
import { adminGuard } from './admin-auth.js';

/** The gateway's admin port (architecture §8): health, readiness, metrics, connections, drain, kick. */
export function buildGatewayAdmin(gw: Gateway, opts: { adminToken?: string; log: Logger }) {
  const app = Fastify({ loggerInstance: opts.log.child({ component: 'admin' }), logController: new LogController({ disableRequestLogging: true }) });
  const guard = adminGuard(opts.adminToken);

  app.get('/healthz', async () => ({ status: 'ok', nodeId: gw.nodeId }));
  app.get('/readyz', async (_req, reply) => {
    const r = gw.isReady();
    return reply.code(r.ready ? 200 : 503).send({ ready: r.ready, reason: r.reason ?? null, state: gw.state, nodeId: gw.nodeId });
  });
  app.get('/metrics', async (_req, reply) => {
    return reply.type(gw.metrics.registry.contentType).send(await gw.metrics.registry.metrics());
  });
  app.register(async (admin) => {
    admin.addHook('onRequest', guard);
    admin.get<{ Querystring: { offset?: string; limit?: string } }>('/admin/connections', async (req) => {
      const offset = clampInt(req.query.offset, 0, 0, Number.MAX_SAFE_INTEGER);
      const limit = clampInt(req.query.limit, 100, 1, 1000);
      return gw.listConnections(offset, limit);
    });
    admin.post('/admin/drain', async (_req, reply) => {
      void gw.drain();
      return reply.code(202).send({ draining: true, nodeId: gw.nodeId });
    });
    admin.post<{ Params: { uid: string }; Body: { reason?: string } | undefined }>('/admin/users/:uid/kick', async (req, reply) => {
      const reason = typeof req.body?.reason === 'string' ? req.body.reason : null;
      const ok = await gw.kickUser(req.params.uid, reason);
      return reply.code(ok ? 200 : 404).send({ kicked: ok, userId: req.params.uid });
    });
  });
  return app;
}

function clampInt(v: string | undefined, dflt: number, min: number, max: number): number {
  const n = v === undefined ? dflt : Number.parseInt(v, 10);
  return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : dflt;
}
