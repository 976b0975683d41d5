import { STATUS_CODES, type ServerOptions } from 'node:http';
import type { Duplex } from 'node:stream';
import Fastify, { LogController } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Registry, Counter, collectDefaultMetrics } from 'prom-client';
import { DISPATCH_KEEP_ALIVE_MS, DISPATCH_REQUEST_TIMEOUT_MS, DISPATCH_TIMEOUT_CHECK_MS } from './defaults.js';
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

/** The `error` code of an error answer, by HTTP status (docs/operations.md "Dispatch's HTTP"). */
const ERROR_CODES: Readonly<Record<number, string>> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  408: 'request_timeout',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
  431: 'headers_too_large',
  503: 'unavailable',
};

/** The `error` code of an error answer with HTTP `status`. */
export function httpErrorCode(status: number): string {
  return ERROR_CODES[status] ?? (status >= 500 ? 'internal' : 'bad_request');
}

/** The dispatch service (architecture §7): hands each client the least-loaded live gateway; cluster admin and push API. */
export function buildDispatch(opts: DispatchOptions) {
  const server = serverOptions(opts);
  const app = Fastify({
    loggerInstance: opts.log.child({ component: 'dispatch' }),
    logController: new LogController({ disableRequestLogging: true }),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
    // Plain HTTP: Fastify's own server (it also binds both address families of `localhost`), with Node's
    // timeout options; HTTPS: our factory, with the same options.
    ...(opts.tls ? { serverFactory: httpsServerFactory(opts.tls, server) } : { http: server, requestTimeout: server.requestTimeout! }),
    clientErrorHandler,
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
    return reply.code(status).send({ error: httpErrorCode(status), message: err.message });
  });
  app.setNotFoundHandler(async (req, reply) =>
    reply.code(404).send({ error: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]!.slice(0, 200)}` }),
  );

  return { app, registry };
}

/** The HTTP server's timeouts (keep-alive as Fastify's default, which a serverFactory does not get). */
function serverOptions(opts: DispatchOptions): ServerOptions {
  const ms = opts.requestTimeoutMs ?? DISPATCH_REQUEST_TIMEOUT_MS;
  return { requestTimeout: ms, headersTimeout: ms, connectionsCheckingInterval: Math.min(DISPATCH_TIMEOUT_CHECK_MS, ms), keepAliveTimeout: DISPATCH_KEEP_ALIVE_MS };
}

/**
 * Errors of the HTTP parser, before any route (Fastify's default handler, with the error answer's
 * shape): 408 for a request that did not arrive in time, 431 for headers over the limit, else 400.
 */
function clientErrorHandler(this: { log: { trace(o: object, m: string): void } }, err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, error, message] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'request_timeout', 'the request did not arrive in time']
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'headers_too_large', 'the request headers are too large']
        : [400, 'bad_request', 'malformed HTTP request'];
  this.log.trace({ err }, 'client error');
  const body = JSON.stringify({ error, message });
  // Not after a response went out already (a route answered while the body was still coming), as Node does.
  const sent = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
  if (socket.writable && !sent) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(err);
}
