import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** Cache lifetime of the hashed build assets (`/assets/*`), s: their names change with their content. */
export const WEB_ASSET_MAX_AGE_S = 31_536_000;

/** What `GET /` answers when the web build is missing. */
export const WEB_NOT_BUILT_MESSAGE =
  'The web chat page is not built. Build it with `pnpm --filter @switchboard/web build` ' +
  '(`pnpm start` and `pnpm cluster` do this by themselves), then reload.';

/**
 * Serve the static web build (the chat page, architecture §7 "Web") from `root` at `/`. Routes
 * registered on `app` (API, admin) win over the files. When `root/index.html` does not exist,
 * `GET /` answers 501 with a message saying how to build it, and nothing else is served.
 */
export async function registerWeb(app: FastifyInstance, root: string): Promise<void> {
  if (!existsSync(join(root, 'index.html'))) {
    app.log.warn({ root }, 'web build missing: / answers 501 until it is built');
    const notBuilt = async (_req: unknown, reply: import('fastify').FastifyReply) =>
      reply.code(501).type('text/plain; charset=utf-8').send(`${WEB_NOT_BUILT_MESSAGE}\n(looked in ${root})\n`);
    app.get('/', { schema: { hide: true } }, notBuilt);
    app.get('/index.html', { schema: { hide: true } }, notBuilt);
    return;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    index: ['index.html'],
    cacheControl: false,
    setHeaders(reply, path) {
      reply.header('cache-control', /[\\/]assets[\\/]/.test(path) ? `public, max-age=${WEB_ASSET_MAX_AGE_S}, immutable` : 'no-cache');
    },
  });
}
