import type { FastifyReply, FastifyRequest } from 'fastify';
import type { UserId } from '@switchboard/core';

/**
 * What a user API request carries (docs/history.md "Authentication"). The same shape as the
 * gateway's `UserCredentials`: the CLI injects the gateway's `createUserAuthenticator`, dispatch
 * does not depend on the gateway package.
 */
export interface UserCredentials {
  /** The bearer token, or null. */
  token: string | null;
  /** The `X-Switchboard-User` header, or null. */
  user: string | null;
  /** Remote address, for logs. */
  remote: string;
}

/** The user a request acts as, or why not: 401 (no or bad credentials), 503 (auth backend unreachable). */
export type UserAuthResult = { ok: true; user: string } | { ok: false; status: 401 | 503; message: string };

/** Verifies a user API request as `IM_AUTH` verifies logins. */
export type UserAuthenticator = (creds: UserCredentials) => Promise<UserAuthResult>;

/** The header naming the user in `IM_AUTH=http` (the webhook needs a user id next to the token). */
export const USER_HEADER = 'x-switchboard-user';

/** The token of `Authorization: Bearer <token>` (scheme case-insensitive), else null. */
export function bearerToken(header: string | undefined): string | null {
  const m = header === undefined ? null : /^Bearer +(.+)$/is.exec(header);
  return m ? m[1]! : null;
}

/**
 * The user `req` acts as, or null with the answer sent: 401 `unauthorized` (with
 * `WWW-Authenticate: Bearer`), 503 `unavailable` when the auth backend is down or no authenticator
 * was configured.
 */
export async function authenticateUser(auth: UserAuthenticator | undefined, req: FastifyRequest, reply: FastifyReply): Promise<UserId | null> {
  if (!auth) {
    await reply.code(503).send({ error: 'unavailable', message: 'user authentication is not configured on this dispatch (IM_AUTH jwt needs IM_JWT_SECRET)' });
    return null;
  }
  const header = req.headers[USER_HEADER];
  const r = await auth({
    token: bearerToken(req.headers.authorization),
    user: typeof header === 'string' ? header : null,
    remote: `http ${req.ip}`,
  });
  if (r.ok) return r.user as UserId;
  if (r.status === 401) await reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized', message: r.message });
  else await reply.code(503).send({ error: 'unavailable', message: r.message });
  return null;
}
