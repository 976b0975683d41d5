import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryNodeRegistry, MemoryOfflineStore, MemoryRouteStore } from '@switchboard/cluster';
import { silentLogger } from '@switchboard/core';
import { buildDispatch } from '@switchboard/dispatch';
import { repoRoot } from '@switchboard/testkit';
import { ensureWebBuild } from './browser.js';

// Dispatch serves the web build at `/` (in process, with fastify's inject).

function dispatchWith(webRoot: string) {
  return buildDispatch({
    nodes: new MemoryNodeRegistry(),
    routes: new MemoryRouteStore(),
    offline: new MemoryOfflineStore(),
    log: silentLogger(),
    senseMode: '15S',
    guard: async () => {},
    webRoot,
  }).app;
}

describe('dispatch web serving', () => {
  const dist = join(repoRoot(), 'packages', 'web', 'dist');
  let app: ReturnType<typeof dispatchWith>;
  beforeAll(async () => {
    ensureWebBuild();
    app = dispatchWith(dist);
    await app.ready();
  });
  afterAll(() => app?.close());

  it('build present - / is the chat page (no-cache), its hashed assets are served immutable, the API still answers', async () => {
    const page = await app.inject({ method: 'GET', url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.body).toContain('<title>Switchboard chat</title>');
    expect(page.body).toBe(readFileSync(join(dist, 'index.html'), 'utf8'));
    const js = readdirSync(join(dist, 'assets')).find((f) => f.endsWith('.js'))!;
    expect(page.body).toContain(`./assets/${js}`);
    const asset = await app.inject({ method: 'GET', url: `/assets/${js}` });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toMatch(/javascript/);
    expect(asset.headers['cache-control']).toMatch(/immutable/);
    expect((await app.inject({ method: 'GET', url: '/api/dispatch?uid=a' })).statusCode).toBe(503); // no gateway here
    expect((await app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await app.inject({ method: 'GET', url: '/no-such-file.txt' })).statusCode).toBe(404);
  });

  it('build missing - / answers 501 saying how to build the page', async () => {
    const empty = dispatchWith(mkdtempSync(join(tmpdir(), 'no-web-build-')));
    try {
      const res = await empty.inject({ method: 'GET', url: '/' });
      expect(res.statusCode).toBe(501);
      expect(res.body).toMatch(/not built.*pnpm --filter @switchboard\/web build/);
      expect((await empty.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await empty.close();
    }
  });
});
