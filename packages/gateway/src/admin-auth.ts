import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/**
 * Guard for admin and push endpoints (architecture §2 `IM_ADMIN_TOKEN`): with a token set, requests
 * need `Authorization: Bearer <token>` (401 otherwise); without one, only loopback clients get in (403).
 */
export function adminGuard(token: string | undefined) {
  const expected = token ? Buffer.from(`Bearer ${token}`) : null;
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
