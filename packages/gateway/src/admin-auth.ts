import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/**
 * Guard for admin and push endpoints (architecture §2 `IM_ADMIN_TOKEN`): with a token set, requests
 * need `Authorization: Bearer <token>` (401 otherwise); without one, only loopback clients get in (403).
 */
export function adminGuard(token: string | undefined) {
  const expected = bearer(token);
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (expected) {
      const got = Buffer.from(req.headers.authorization ?? '');
      if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
        await reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized', message: 'a valid admin bearer token is required' });
      }
      return;
    }
    if (!LOOPBACK.has(req.socket.remoteAddress ?? '')) {
      await reply.code(403).send({ error: 'forbidden', message: 'admin endpoints answer only on loopback while IM_ADMIN_TOKEN is unset' });
    }
  };
}

const bearer = (token: string | undefined): Buffer | null => (token ? Buffer.from(`Bearer ${token}`) : null);

function matches(req: FastifyRequest, expected: Buffer | null): boolean {
  if (expected === null) return false;
  const got = Buffer.from(req.headers.authorization ?? '');
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/**
 * Guard for `/metrics`: with `IM_METRICS_TOKEN` set, `Authorization: Bearer <metrics token>` (or the
 * admin token) is required from everyone (401). Without it, loopback clients (a Prometheus on the
 * same host, the compose monitoring profile) get in as they are, and anyone else needs the admin
 * token (401), or gets 403 while `IM_ADMIN_TOKEN` is unset too.
 */
export function metricsGuard(metricsToken: string | undefined, adminToken: string | undefined) {
  const metrics = bearer(metricsToken);
  const admin = bearer(adminToken);
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (matches(req, metrics) || matches(req, admin)) return;
    if (metrics === null && LOOPBACK.has(req.socket.remoteAddress ?? '')) return;
    if (metrics !== null || admin !== null) {
      await reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized', message: 'a valid metrics (or admin) bearer token is required' });
      return;
    }
    await reply.code(403).send({ error: 'forbidden', message: '/metrics answers only on loopback while IM_METRICS_TOKEN and IM_ADMIN_TOKEN are unset' });
  };
}
