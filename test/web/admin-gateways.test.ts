import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { connectClient, type TestClient } from '@switchboard/testkit';
import { Standalone } from '../client/standalone.js';
import { ensureWebBuild, launchChromium, screenshotDir } from './browser.js';

// The dashboard's gateways table at the widths operators use (1100 px and 1280 px): the whole row,
// Drain included, without sideways scrolling; and "Find a user's gateway", which asks dispatch's
// GET /admin/users/:uid and marks the row of the gateway holding the user.

const TOKEN = 'gateways-test-token';

let server: Standalone;
let browser: Browser;
let shots: string;
let nodeId: string;
const clients: TestClient[] = [];

async function dashboard(width: number, locale = 'en-US'): Promise<{ page: Page; errors: string[] }> {
  const ctx = await browser.newContext({ viewport: { width, height: 800 }, deviceScaleFactor: 1, locale });
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(`${server.dispatchUrl}/admin/`);
  const zh = locale.startsWith('zh');
  await page.getByLabel(zh ? '管理令牌' : 'Admin token', { exact: true }).fill(TOKEN);
  await page.getByRole('button', { name: zh ? '打开后台' : 'Open dashboard' }).click();
  await page.locator(`#gateway-rows tr[data-node="${nodeId}"]`).waitFor();
  return { page, errors };
}

/** The Drain button is wholly inside the table's box and the viewport, and the table does not scroll sideways. */
function drainFits(page: Page) {
  return page.evaluate((id) => {
    const wrap = document.querySelector('.table-wrap')!;
    const button = document.querySelector(`tr[data-node="${id}"] button`)!.getBoundingClientRect();
    const box = wrap.getBoundingClientRect();
    return {
      inTable: button.left >= box.left && button.right <= box.right,
      inViewport: button.right <= window.innerWidth,
      tableScrolls: wrap.scrollWidth > wrap.clientWidth,
    };
  }, nodeId);
}

beforeAll(async () => {
  ensureWebBuild();
  shots = screenshotDir();
  [server, browser] = await Promise.all([Standalone.start({ IM_ADMIN_TOKEN: TOKEN }), launchChromium()]);
  nodeId = (server.proc.ready as unknown as { nodeId: string }).nodeId;
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close({ abrupt: true })));
  await browser?.close();
  await server?.stop();
});

describe('admin dashboard gateways table', () => {
  it('1100 px and 1280 px - the Drain button is visible, nothing scrolls sideways', async () => {
    for (const width of [1100, 1280]) {
      const { page, errors } = await dashboard(width);
      await expect(drainFits(page), `${width} px`).resolves.toEqual({ inTable: true, inViewport: true, tableScrolls: false });
      await expect(page.getByRole('button', { name: `Drain ${nodeId}` }).isVisible()).resolves.toBe(true);
      expect(errors).toEqual([]);
      await page.context().close();
    }
  });

  it('zh-CN - a Chinese browser gets Chinese labels (the table still fits at 1100 px); the switch to English relabels at once', async () => {
    const { page, errors } = await dashboard(1100, 'zh-CN');
    await expect(page.title()).resolves.toBe('Switchboard 管理后台');
    await page.getByRole('heading', { name: '网关', exact: true }).waitFor();
    await page.getByRole('searchbox', { name: '查找用户所在网关' }).waitFor();
    await expect(page.locator('#gateways thead').textContent()).resolves.toContain('连接数');
    await expect(drainFits(page)).resolves.toEqual({ inTable: true, inViewport: true, tableScrolls: false });
    await page.getByRole('combobox', { name: '语言' }).selectOption('en');
    await page.getByRole('heading', { name: 'Gateways', exact: true }).waitFor();
    await expect(page.evaluate(() => [document.documentElement.lang, document.title, localStorage.getItem('switchboard.lang')])).resolves.toEqual([
      'en',
      'Switchboard admin',
      'en',
    ]);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it("find a user's gateway - an online user's row is marked with the connection; an offline one is said offline with its queue", async () => {
    const { page, errors } = await dashboard(1100);
    clients.push(await connectClient({ url: `ws://127.0.0.1:${server.ports.ws}/websocket`, uid: 'gw-find-ann' }));
    const row = page.locator(`#gateway-rows tr[data-node="${nodeId}"]`);
    const find = page.getByRole('searchbox', { name: "Find a user's gateway" });
    await find.fill('gw-find-ann');
    await page.getByRole('button', { name: 'Find', exact: true }).click();
    await expect.poll(() => page.locator('#find-result').textContent()).toMatch(new RegExp(`^gw-find-ann is on ${nodeId} \\(connection \\S+, since `));
    await expect(row.getAttribute('class')).resolves.toContain('found');
    // The mark stays across the 2-second refreshes.
    await new Promise((r) => setTimeout(r, 2_500));
    await expect(row.getAttribute('class')).resolves.toContain('found');
    await expect(drainFits(page)).resolves.toEqual({ inTable: true, inViewport: true, tableScrolls: false });
    await page.screenshot({ path: `${shots}/admin-find-user.png` });

    await find.fill('gw-find-nobody');
    await page.getByRole('button', { name: 'Find', exact: true }).click();
    await expect.poll(() => page.locator('#find-result').textContent()).toBe('gw-find-nobody is offline; 0 messages in its offline queue.');
    await expect(page.locator('#gateway-rows tr.found').count()).resolves.toBe(0);
    expect(errors).toEqual([]);
    await page.context().close();
  });
});
