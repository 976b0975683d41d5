import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import type { NodeRecord } from '@switchboard/cluster';
import * as S from '../schemas.js';

export interface HealthRouteDeps {
  liveNodes: () => Promise<NodeRecord[]>;
  /** Whether Redis answers. @default always */
  backendsUp?: () => boolean;
  registry: Registry;
  /**
   * Guard of `GET /metrics`: the gateway's `metricsGuard(IM_METRICS_TOKEN, IM_ADMIN_TOKEN)`, so dispatch's
   * `/metrics` follows the same rule as a gateway's. @default none (open to every client)
   */
  guard?: (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
}

/**
 * `GET /healthz` (liveness), `GET /readyz` (Redis and a live gateway), both open, and `GET /metrics`
 * (Prometheus) behind `d.guard`.
 */
export function registerHealthRoutes(api: FastifyInstance, d: HealthRouteDeps): void {
  api.get('/healthz', { schema: S.healthSchema }, async () => ({ status: 'ok' }));
  api.get('/readyz', { schema: S.readySchema }, async (_req, reply) => {
    if (d.backendsUp && !d.backendsUp()) return reply.code(503).send({ ready: false, reason: 'redis unreachable' });
    try {
      const nodes = await d.liveNodes();
      const active = nodes.filter((n) => n.state === 'active').length;
      if (active === 0) return reply.code(503).send({ ready: false, reason: 'no live gateway' });
      return { ready: true, gateways: active };
    } catch {
      // The registry read failed: not ready, and the answer says why.
      return reply.code(503).send({ ready: false, reason: 'redis unreachable' });
    }
  });
  const metricsRoute = d.guard ? { schema: { hide: true }, onRequest: d.guard } : { schema: { hide: true } };
  api.get('/metrics', metricsRoute, async (_req, reply) => reply.type(d.registry.contentType).send(await d.registry.metrics()));
}
