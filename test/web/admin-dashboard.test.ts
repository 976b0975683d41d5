import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Locator, Page } from 'playwright-core';
import { loadScore, MemoryNodeRegistry, MemoryOfflineStore, MemoryRouteStore } from '@switchboard/cluster';
import { silentLogger } from '@switchboard/core';
import { buildDispatch } from '@switchboard/dispatch';
import { adminGuard } from '@switchboard/gateway';
import { KickoutCode, PacketType } from '@switchboard/protocol';
import { connectClient, repoRoot, type TestClient } from '@switchboard/testkit';
import { loadScore as pageLoadScore } from '../../packages/web/src/admin/format.js';
import { Standalone } from '../client/standalone.js';
import { ensureWebBuild, launchChromium, screenshotDir } from './browser.js';

// The admin dashboard (/admin/) in headless Chromium against a real `switchboard standalone` with
// an admin token. The tests run in order on one page: token prompt, live gateway row, charts, user
// lookup and kick, and last the drain, after which the standalone process exits by design. First,
// in process: how dispatch serves the page next to the JSON admin API under /admin/*.

const TOKEN = 'dashboard-test-token';
/**
 * Extra clients connected from the charts test on. Over 100 connections a gateway closes its clients
 * in two batches a few seconds apart when it drains, so its `draining` state lasts long enough for
 * the dashboard to see it from the server (below that it drains and leaves within milliseconds).
 */
const CROWD = 100;

let server: Standalone;
/** A second install without IM_ADMIN_TOKEN: its admin API answers loopback clients without a token. */
let open: Standalone;
let browser: Browser;
let page: Page;
let shots: string;
let nodeId: string;
const errors: string[] = [];
const clients: TestClient[] = [];

function wsUrl(): string {
  return `ws://127.0.0.1:${server.ports.ws}/websocket`;
}

async function login(uid: string): Promise<TestClient> {
  const c = await connectClient({ url: wsUrl(), uid });
  clients.push(c);
  return c;
}

function row(): Locator {
  return page.locator(`#gateway-rows tr[data-node="${nodeId}"]`);
}

/** Wait until `locator`'s text is exactly `text`. */
async function textIs(locator: Locator, text: string, timeoutMs = 8_000): Promise<void> {
  await expect.poll(() => locator.textContent(), { timeout: timeoutMs, interval: 100 }).toBe(text);
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: `${shots}/${name}`, fullPage: true });
}

beforeAll(async () => {
  ensureWebBuild();
  shots = screenshotDir();
  [server, open, browser] = await Promise.all([
    Standalone.start({ IM_ADMIN_TOKEN: TOKEN, IM_UDP_PORT: '0' }),
    Standalone.start({ IM_UDP_PORT: '0' }),
    launchChromium(),
  ]);
  nodeId = (server.proc.ready as unknown as { nodeId: string }).nodeId;
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
  page = await ctx.newPage();
  page.on('pageerror', (err) => errors.push(err.message));
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close({ abrupt: true })));
  await browser?.close();
  await Promise.all([server?.stop(), open?.stop()]);
});

describe('dispatch serving /admin/', () => {
  function dispatchWith(webRoot: string) {
    return buildDispatch({
      nodes: new MemoryNodeRegistry(),
      routes: new MemoryRouteStore(),
      offline: new MemoryOfflineStore(),
      log: silentLogger(),
      senseMode: '15S',
      guard: adminGuard(TOKEN),
      webRoot,
    }).app;
  }

  it('build present - /admin/ is the page without a token, /admin redirects to it, its assets are immutable, the API under /admin/* still needs the token', async () => {
    const dist = join(repoRoot(), 'packages', 'web', 'dist');
    const app = dispatchWith(dist);
    try {
      const page = await app.inject({ method: 'GET', url: '/admin/' });
      expect(page.statusCode).toBe(200);
      expect(page.headers['cache-control']).toBe('no-cache');
      expect(page.body).toBe(readFileSync(join(dist, 'admin', 'index.html'), 'utf8'));
      expect(page.body).toContain('<title>Switchboard admin</title>');
      const redirect = await app.inject({ method: 'GET', url: '/admin' });
      expect([redirect.statusCode, redirect.headers['location']]).toEqual([301, 'admin/']);
      const js = readdirSync(join(dist, 'assets', 'admin')).find((f) => f.endsWith('.js'))!;
      expect(page.body).toContain(`../assets/admin/${js}`);
      const asset = await app.inject({ method: 'GET', url: `/assets/admin/${js}` });
      expect([asset.statusCode, asset.headers['cache-control']]).toEqual([200, expect.stringMatching(/immutable/)]);
      expect((await app.inject({ method: 'GET', url: '/admin/nodes' })).statusCode).toBe(401);
      const auth = { authorization: `Bearer ${TOKEN}` };
      expect((await app.inject({ method: 'GET', url: '/admin/nodes', headers: auth })).json()).toEqual({ nodes: [] });
      expect((await app.inject({ method: 'GET', url: '/admin/users/bob', headers: auth })).json()).toMatchObject({ online: false });
      expect((await app.inject({ method: 'POST', url: '/admin/nodes/gw-x/drain', headers: auth })).statusCode).toBe(404);
      expect((await app.inject({ method: 'GET', url: '/admin/no-such-page' })).statusCode).toBe(404);
    } finally {
      await app.close();
    }
  });

  it('build missing - /admin/ and /admin answer 501 saying how to build the pages', async () => {
    const app = dispatchWith(mkdtempSync(join(tmpdir(), 'no-web-build-')));
    try {
      for (const url of ['/admin/', '/admin']) {
        const res = await app.inject({ method: 'GET', url });
        expect(res.statusCode, url).toBe(501);
        expect(res.body).toMatch(/not built.*pnpm --filter @switchboard\/web build/);
      }
    } finally {
      await app.close();
    }
  });
});

describe('admin dashboard', () => {
  it('token - /admin leads to the prompt; a wrong token is refused with a message; the right one opens the dashboard and is kept for the tab', async () => {
    const res = await page.goto(`${server.dispatchUrl}/admin`);
    expect(res?.url()).toBe(`${server.dispatchUrl}/admin/`);
    await expect(page.title()).resolves.toBe('Switchboard admin');
    const token = page.getByLabel('Admin token', { exact: true });
    await token.fill('not-the-token');
    await page.getByRole('button', { name: 'Open dashboard' }).click();
    const alert = page.locator('#token-error');
    await alert.waitFor();
    await expect(alert.textContent()).resolves.toMatch(/refused this token \(401\)/);
    await expect(page.locator('#dash-view').isHidden()).resolves.toBe(true);
    await shot('admin-token-refused.png');

    await token.fill(TOKEN);
    await page.getByRole('button', { name: 'Open dashboard' }).click();
    await row().waitFor();
    await expect(page.evaluate(() => sessionStorage.getItem('switchboard.adminToken'))).resolves.toBe(TOKEN);
    await page.reload();
    await row().waitFor(); // no prompt: the tab kept the token
    await expect(page.locator('#token-view').isHidden()).resolves.toBe(true);
  });

  it('token - an empty token opens the dashboard of an install without IM_ADMIN_TOKEN (loopback)', async () => {
    const ctx = await browser.newContext();
    try {
      const p = await ctx.newPage();
      await p.goto(`${open.dispatchUrl}/admin/`);
      await p.getByRole('button', { name: 'Open dashboard' }).click();
      const openNode = (open.proc.ready as unknown as { nodeId: string }).nodeId;
      await p.locator(`#gateway-rows tr[data-node="${openNode}"]`).waitFor();
      await expect(p.evaluate(() => sessionStorage.getItem('switchboard.adminToken'))).resolves.toBe('');
    } finally {
      await ctx.close();
      await open.stop();
    }
  });

  it('gateways - the row shows the gateway with its ports, and its connection count follows clients as they log in and out', async () => {
    await textIs(row().locator('.col-state'), 'active');
    await expect(row().locator('.col-address').textContent()).resolves.toContain(`ws ${server.ports.ws}`);
    await textIs(row().locator('.col-connections'), '0');
    await textIs(page.locator('#total-gateways'), '1');

    const [alice, bob] = [await login('adm-alice'), await login('adm-bob')];
    await login('adm-carol');
    await textIs(row().locator('.col-connections'), '3');
    await textIs(page.locator('#total-connections'), '3');
    await clients.pop()!.close();
    await textIs(row().locator('.col-connections'), '2');
    expect(Number(await row().locator('.col-load').textContent())).toBeGreaterThanOrEqual(2);
    expect(alice.kickouts.length + bob.kickouts.length).toBe(0);
    // The page's load column uses dispatch's formula.
    for (const n of [{ connections: 3, loopLagMs: 1.5, cpu: 0.25 }, { connections: 0, loopLagMs: 0, cpu: 0 }]) {
      expect(pageLoadScore(n)).toBe(loadScore(n));
    }
  });

  it('charts - uPlot draws messages per second and connections from the /admin/stats history', async () => {
    const [alice, bob] = clients as [TestClient, TestClient];
    for (let i = 0; i < CROWD; i += 25) {
      await Promise.all(Array.from({ length: 25 }, (_, j) => login(`adm-crowd-${i + j}`)));
    }
    // A burst of traffic (~25 messages/s for 3 s) for the messages chart.
    const acks: Promise<number>[] = [];
    for (let i = 0; i < 75; i++) {
      const fp = await alice.send('adm-bob', `burst ${i}`);
      acks.push(alice.waitForAck(fp, { timeoutMs: 10_000 }));
      if (i % 5 === 4) await new Promise((r) => setTimeout(r, 200));
    }
    await Promise.all(acks);
    await bob.waitForMessage((p) => p.dataContent === 'burst 74');

    const chart = (id: string) => page.locator(`#${id}`);
    await page.waitForFunction(
      () => /peak [1-9]/.test(document.getElementById('chart-msgrate')?.getAttribute('aria-label') ?? ''),
      undefined,
      { timeout: 10_000 },
    );
    for (const id of ['chart-msgrate', 'chart-connections']) {
      await expect(chart(id).locator('canvas').count()).resolves.toBe(1);
      expect(Number(await chart(id).getAttribute('data-points'))).toBeGreaterThanOrEqual(3);
      // The line and its fill are drawn: many coloured, non-grey pixels on the canvas.
      const coloured = await chart(id)
        .locator('canvas')
        .evaluate((c: HTMLCanvasElement) => {
          const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
          let n = 0;
          for (let i = 0; i < d.length; i += 4) {
            const [r, g, b, a] = [d[i]!, d[i + 1]!, d[i + 2]!, d[i + 3]!];
            if (a > 0 && Math.max(r, g, b) - Math.min(r, g, b) > 40) n++;
          }
          return n;
        });
      expect(coloured, id).toBeGreaterThan(500);
    }
    await textIs(row().locator('.col-connections'), String(2 + CROWD));
    await expect
      .poll(() => chart('chart-connections').getAttribute('aria-label'), { timeout: 5_000 })
      .toMatch(new RegExp(`^Connections over the last \\d+ seconds: now ${2 + CROWD}, peak ${2 + CROWD}$`));
  });

  it('users - lookup shows online with its route, and an offline user with a queue; kick asks first, then signs the user out with code 2', async () => {
    const [alice, bob] = clients as [TestClient, TestClient];
    // A message for a user who is not online waits in the offline queue.
    await bob.waitForAck(await bob.send('adm-dave', 'for later'));
    const uid = page.getByLabel('User id', { exact: true });
    await uid.fill('adm-dave');
    await page.getByRole('button', { name: 'Look up' }).click();
    await textIs(page.locator('#user-id'), 'adm-dave');
    await textIs(page.locator('#user-online'), 'offline');
    await textIs(page.locator('#user-queue'), '1 message');
    await expect(page.getByRole('button', { name: 'Kick adm-dave' }).isDisabled()).resolves.toBe(true);

    await uid.fill('adm-alice');
    await page.getByRole('button', { name: 'Look up' }).click();
    await textIs(page.locator('#user-id'), 'adm-alice');
    await textIs(page.locator('#user-online'), 'online');
    await textIs(page.locator('#user-node'), nodeId);
    await textIs(page.locator('#user-queue'), '0 messages');
    await shot('admin-dashboard.png');

    // Cancel leaves the user alone.
    const kick = page.getByRole('button', { name: 'Kick adm-alice' });
    await kick.click();
    const dialog = page.getByRole('dialog', { name: 'Kick adm-alice?' });
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await new Promise((r) => setTimeout(r, 300));
    expect(alice.kickouts).toEqual([]);

    await kick.click();
    await dialog.waitFor();
    await dialog.getByLabel(/^Reason/).fill('maintenance window');
    await shot('admin-kick-confirm.png');
    await dialog.getByRole('button', { name: 'Kick adm-alice' }).click();
    await alice.waitForPacket(PacketType.KICKOUT, undefined, { timeoutMs: 5_000 });
    expect(alice.kickouts).toEqual([expect.objectContaining({ code: KickoutCode.ADMIN, reason: 'maintenance window' })]);
    await dialog.waitFor({ state: 'hidden' });
    await textIs(page.locator('#action-status'), `Kicked adm-alice from ${nodeId}.`);
    await textIs(page.locator('#user-online'), 'offline');
    expect(bob.kickouts).toEqual([]);
  });

  it('drain - asks first, then the gateway row shows draining; the standalone process drains and exits, and the page says dispatch is unreachable', async () => {
    await page.getByRole('button', { name: `Drain ${nodeId}` }).click();
    const dialog = page.getByRole('dialog', { name: `Drain ${nodeId}?` });
    await dialog.waitFor();
    await expect(dialog.textContent()).resolves.toMatch(/only active gateway/);
    await shot('admin-drain-confirm.png');
    await dialog.getByRole('button', { name: `Drain ${nodeId}` }).click();
    await row().and(page.locator('[data-state="draining"]')).waitFor({ timeout: 5_000 });
    await textIs(row().locator('.col-state'), 'draining');
    await expect(row().getByRole('button', { name: `Drain ${nodeId}` }).isDisabled()).resolves.toBe(true);
    // Dispatch itself lists the gateway as draining (not only the page's note of its request).
    await row().and(page.locator('[data-reported-state="draining"]')).waitFor({ timeout: 2_500 });
    await shot('admin-draining.png');

    const exit = await server.proc.waitForExit(15_000);
    expect(exit.code).toBe(0);
    const banner = page.locator('#poll-error');
    await banner.waitFor({ timeout: 8_000 });
    await expect(banner.textContent()).resolves.toMatch(/Cannot reach dispatch/);
    await expect(page.locator('#live').getAttribute('data-state')).resolves.toBe('stale');
    expect(errors).toEqual([]);
  });
});
