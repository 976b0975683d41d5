import type { FastifyBaseLogger, FastifyInstance, FastifyRequest, RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { Logger } from '@switchboard/core';

/**
 * Dispatch's HTTP metrics, by route pattern (`/admin/users/:uid/kick`, never the user id, so the
 * series stay few; `unmatched` for 404s): `switchboard_http_requests_total{method,route,status}` and
 * `switchboard_http_request_duration_seconds{method,route}`.
 */
export function registerHttpMetrics<L extends FastifyBaseLogger>(app: FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, L>, registry: Registry): void {
  const requests = new Counter({
    name: 'switchboard_http_requests_total',
    help: 'HTTP requests answered by dispatch, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'switchboard_http_request_duration_seconds',
    help: 'Time from request to response, by method and route pattern',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    duration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });
}

/**
 * Logs an admin action (kick, drain, push, group changes) at info, with what was done and who asked
 * (the client address): `{ admin: action, ...what, remote }` and the message `admin <action>`.
 * Message bodies are never logged, only their size.
 */
export function logAdminAction(log: Logger, req: FastifyRequest, action: string, what: Record<string, unknown>): void {
  log.info({ admin: action, ...what, remote: req.ip }, `admin ${action}`);
}
