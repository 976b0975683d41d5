import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** Cache lifetime of the hashed build assets (`/assets/*`), s: their names change with their content. */
export const WEB_ASSET_MAX_AGE_S = 31_536_000;

/** What `GET /` (and `GET /admin/`) answers when the web build is missing. */
export const WEB_NOT_BUILT_MESSAGE =
  'The web pages (chat and admin dashboard) are not built. Build them with `pnpm --filter @switchboard/web build` ' +
  '(`pnpm start` and `pnpm cluster` do this by themselves), then reload.';

/**
 * Serve the static web build (architecture §7 "Web") from `root` at `/`: the chat page at `/`, the
 * admin dashboard (`root/admin/index.html`) at `/admin/`, their files under `/assets/`. Routes
 * registered on `app` (API, the JSON admin API under `/admin/*`) win over the files; `/admin`
 * redirects to `/admin/` so the page's relative asset URLs resolve. When `root/index.html` does
 * not exist, `GET /` and `GET /admin/` answer 501 with a message saying how to build it, and
 * nothing else is served.
 */
export async function registerWeb(app: FastifyInstance, root: string): Promise<void> {
  if (!existsSync(join(root, 'index.html'))) {
    app.log.warn({ root }, 'web build missing: / answers 501 until it is built');
    const notBuilt = async (_req: unknown, reply: import('fastify').FastifyReply) =>
      reply.code(501).type('text/plain; charset=utf-8').send(`${WEB_NOT_BUILT_MESSAGE}\n(looked in ${root})\n`);
    app.get('/', { schema: { hide: true } }, notBuilt);
    app.get('/index.html', { schema: { hide: true } }, notBuilt);
    app.get('/admin/', { schema: { hide: true } }, notBuilt);
    app.get('/admin', { schema: { hide: true } }, notBuilt);
    return;
  }
  app.get('/admin', { schema: { hide: true } }, async (_req, reply) => reply.redirect('admin/', 301));
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
