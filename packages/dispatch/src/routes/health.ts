import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { NodeRecord } from '@switchboard/cluster';
import * as S from '../schemas.js';

export interface HealthRouteDeps {
  liveNodes: () => Promise<NodeRecord[]>;
  /** Whether Redis answers. @default always */
  backendsUp?: () => boolean;
  registry: Registry;
}

/** `GET /healthz` (liveness), `GET /readyz` (Redis and a live gateway) and `GET /metrics` (Prometheus). */
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
  api.get('/metrics', { schema: { hide: true } }, async (_req, reply) => reply.type(d.registry.contentType).send(await d.registry.metrics()));
}
