import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { Standalone } from '../client/standalone.js';
import { ChatPage, ensureWebBuild, launchChromium, screenshotDir } from './browser.js';

// Presence and typing between two chat pages (docs/presence.md) against a real
// `switchboard standalone`: the online dot and "last seen" in the list and the conversation header,
// "typing…" while the other side types, at 1280 px in English and 360 px in Chinese.

let server: Standalone;
let browser: Browser;
let shots: string;

async function open(uid: string, viewport: { width: number; height: number }, locale: string): Promise<ChatPage> {
  const ctx = await browser.newContext({ viewport, locale, deviceScaleFactor: 1 });
  const p = new ChatPage(await ctx.newPage(), uid);
  await p.page.goto(`${server.dispatchUrl}/`);
  return p;
}

function headerPresence(p: ChatPage) {
  return p.page.locator('#peer-presence');
}

beforeAll(async () => {
  ensureWebBuild();
  shots = screenshotDir();
  [server, browser] = await Promise.all([Standalone.start(), launchChromium()]);
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('chat page presence and typing', () => {
  it('two pages - online dot and header follow the peer logging in and out ("last seen"); "typing…" shows while the other types and goes with the message', async () => {
    const alice = await open('pr-alice', { width: 1280, height: 800 }, 'en-US');
    await alice.login();
    await alice.openPeer('pr-bob');
    // Bob has never been online.
    await expect.poll(() => headerPresence(alice).textContent()).toBe('offline');

    const bob = await open('pr-bob', { width: 360, height: 740 }, 'zh-CN');
    await bob.page.getByLabel('用户 ID', { exact: true }).fill('pr-bob');
    await bob.page.getByRole('button', { name: '登录', exact: true }).click();
    await bob.lamp('online');
    await expect.poll(() => headerPresence(alice).textContent()).toBe('online');
    await alice.conversation('pr-bob').locator('.presence-dot[data-online="true"]').waitFor();

    // Bob (on a phone, in Chinese) opens alice: she is online; he types, she sees it.
    await bob.page.getByLabel('发起聊天', { exact: true }).fill('pr-alice');
    await bob.page.getByRole('button', { name: '打开', exact: true }).click();
    await expect.poll(() => headerPresence(bob).textContent()).toBe('在线');
    await bob.page.getByRole('textbox', { name: '消息' }).pressSequentially('你好');
    await alice.page.locator('#typing', { hasText: 'typing…' }).waitFor();
    await alice.shot(shots, 'chat-presence-typing.png');
    await bob.page.getByRole('textbox', { name: '消息' }).press('Enter');
    await alice.incoming('你好');
    await alice.page.locator('#typing').waitFor({ state: 'hidden' });

    // Alice types back: bob sees it in Chinese; it goes by itself a few seconds after she stops.
    await alice.page.getByRole('textbox', { name: 'Message' }).pressSequentially('hi');
    await bob.page.locator('#typing', { hasText: '对方正在输入…' }).waitFor();
    await bob.page.locator('#typing').waitFor({ state: 'hidden', timeout: 10_000 });

    // Bob logs out: alice sees him offline, last seen today.
    await bob.page.getByRole('button', { name: '退出登录' }).click();
    await expect.poll(() => headerPresence(alice).textContent(), { timeout: 10_000 }).toMatch(/^last seen \d\d:\d\d$/);
    await alice.conversation('pr-bob').locator('.presence-dot[data-online="false"]').waitFor();
    expect([...alice.errors, ...bob.errors]).toEqual([]);
    await Promise.all([alice.close(), bob.close()]);
  });
});
