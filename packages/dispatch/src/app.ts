import Fastify, { LogController } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Registry, Counter, collectDefaultMetrics } from 'prom-client';
import { cachedNodeList } from './live-nodes.js';
import { registerHttpMetrics } from './http-metrics.js';
import { httpsServerFactory } from './tls.js';
import type { DispatchOptions } from './options.js';
import { NodePicker } from './picker.js';
import { registerAdminRoutes } from './routes/admin.js';
import { registerGroupRoutes } from './routes/groups.js';
import { registerClientRoutes } from './routes/client.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerHistoryRoutes } from './routes/history.js';
import { registerPushRoutes } from './routes/push.js';
import { registerOnlineUsersRoute, registerPresenceRoutes } from './routes/presence.js';
import { registerSdRoutes } from './routes/sd.js';
import { StatsHistory, STATS_SAMPLE_INTERVAL_MS } from './stats.js';
import { registerWeb } from './web.js';

/** The dispatch service (architecture §7): hands each client the least-loaded live gateway; cluster admin and push API. */
export function buildDispatch(opts: DispatchOptions) {
  const app = Fastify({
    loggerInstance: opts.log.child({ component: 'dispatch' }),
    logController: new LogController({ disableRequestLogging: true }),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
    ...(opts.tls ? { serverFactory: httpsServerFactory(opts.tls) } : {}),
  });
  const picker = new NodePicker();
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const dispatches = new Counter({ name: 'switchboard_dispatches_total', help: 'Dispatch answers by result', labelNames: ['result'] as const, registers: [registry] });
  const pushes = new Counter({ name: 'switchboard_pushes_total', help: 'Push API messages by outcome', labelNames: ['status'] as const, registers: [registry] });
  // Every known outcome from the start, at 0: an idle dispatch shows 0, not "no data".
  for (const result of ['ok', 'no_gateway', 'unavailable']) dispatches.inc({ result }, 0);
  for (const status of ['relayed', 'stored', 'dropped', 'full']) pushes.inc({ status }, 0);
  registerHttpMetrics(app, registry);
  const history = new StatsHistory();
  const liveNodes = cachedNodeList(opts.nodes);

  const sampler = setInterval(() => {
    liveNodes().then(
      (nodes) => history.add(nodes),
      (err: unknown) => {
        // A missed sample is a gap in the chart; /readyz and /api/dispatch report the outage itself.
        opts.log.debug({ err }, 'stats sample skipped: node registry unreachable');
      },
    );
  }, STATS_SAMPLE_INTERVAL_MS);
  sampler.unref();
  app.addHook('onClose', async () => clearInterval(sampler));

  app.register(swagger, {
    openapi: {
      info: { title: 'Switchboard dispatch', version: '0.1.0', description: 'Dispatch, cluster admin and push API of a Switchboard cluster.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });

  // The Swagger UI page for that document at /docs/, its assets served from the package (no CDN).
  app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true, uiConfig: { docExpansion: 'list', deepLinking: false } });

  app.register(async (api) => {
    api.get('/docs/openapi.json', { schema: { hide: true } }, async () => app.swagger());
    registerClientRoutes(api, { liveNodes, picker, senseMode: opts.senseMode, dispatches, log: opts.log });
    registerHealthRoutes(api, {
      liveNodes,
      registry,
      ...(opts.backendsUp ? { backendsUp: opts.backendsUp } : {}),
      ...(opts.metricsGuard ? { guard: opts.metricsGuard } : {}),
    });
    registerHistoryRoutes(api, {
      history: opts.history ?? null,
      auth: opts.userAuth,
      routes: opts.routes,
      nodes: opts.nodes,
      log: opts.log,
      groups: opts.groups ?? null,
      ...(opts.bridge ? { bridge: opts.bridge } : {}),
    });
    registerPresenceRoutes(api, { routes: opts.routes, nodes: opts.nodes, presence: opts.presence ?? null, auth: opts.userAuth, log: opts.log });
    api.register(async (admin) => {
      admin.addHook('onRequest', opts.guard);
      const cluster = { nodes: opts.nodes, routes: opts.routes, offline: opts.offline, log: opts.log, ...(opts.bridge ? { bridge: opts.bridge } : {}) };
      registerAdminRoutes(admin, { ...cluster, liveNodes, history });
      registerOnlineUsersRoute(admin, { routes: opts.routes, liveNodes });
      registerPushRoutes(admin, {
        ...cluster,
        pushes,
        history: opts.history ?? null,
        ...(opts.adminToken ? { adminToken: opts.adminToken } : {}),
        ...(opts.groupPrefix !== undefined ? { groupPrefix: opts.groupPrefix } : {}),
      });
      registerGroupRoutes(admin, opts);
      registerSdRoutes(admin, { liveNodes });
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
