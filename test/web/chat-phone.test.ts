import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { Standalone } from '../client/standalone.js';
import { ChatPage, ensureWebBuild, launchChromium, screenshotDir } from './browser.js';

// The chat page on a phone (360 px) and a desktop (1280 px), in Chinese and English, against a real
// `switchboard standalone`: the list and the conversation as two screens, the language switch,
// the reconnect state, the unread count in the title and the opt-in notification (window.Notification
// is a stub the test installs before the page's script runs).

const PHONE = { width: 360, height: 740 };
const DESKTOP = { width: 1280, height: 800 };

let server: Standalone;
let browser: Browser;
let shots: string;
const pages: ChatPage[] = [];

interface NotificationLog {
  asked: number;
  shown: Array<{ title: string; body: string }>;
}

async function open(uid: string, viewport: { width: number; height: number }, locale: string, stubNotifications = false): Promise<ChatPage> {
  const ctx = await browser.newContext({ viewport, locale, deviceScaleFactor: 1 });
  if (stubNotifications) {
    await ctx.addInitScript(() => {
      const log = { asked: 0, shown: [] as Array<{ title: string; body: string }> };
      (window as unknown as { __notifications: typeof log }).__notifications = log;
      class StubNotification {
        static permission: NotificationPermission = 'default';
        static async requestPermission(): Promise<NotificationPermission> {
          log.asked++;
          StubNotification.permission = 'granted';
          return 'granted';
        }
        onclick: (() => void) | null = null;
        constructor(title: string, options?: NotificationOptions) {
          log.shown.push({ title, body: options?.body ?? '' });
        }
        close(): void {}
      }
      Object.defineProperty(window, 'Notification', { value: StubNotification, configurable: true, writable: true });
    });
  }
  const p = new ChatPage(await ctx.newPage(), uid);
  pages.push(p);
  await p.page.goto(`${server.dispatchUrl}/`);
  return p;
}

/** Log in with the form's labels in `lang`. */
async function login(p: ChatPage, lang: 'en' | 'zh-CN'): Promise<void> {
  await p.page.getByLabel(lang === 'en' ? 'User id' : '用户 ID', { exact: true }).fill(p.uid);
  await p.page.getByRole('button', { name: lang === 'en' ? 'Log in' : '登录', exact: true }).click();
  await p.lamp('online');
}

function notifications(page: Page): Promise<NotificationLog> {
  return page.evaluate(() => (window as unknown as { __notifications: NotificationLog }).__notifications);
}

/** Pretend the tab went to the background (headless tabs are always visible). */
async function hide(page: Page): Promise<void> {
  await page.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
    document.dispatchEvent(new Event('visibilitychange'));
  });
}

/** The message box's placeholder is whole: as its value it would neither scroll nor wrap out of the box. */
function placeholderFits(page: Page) {
  return page.locator('#message-input').evaluate((el) => {
    const ta = el as HTMLTextAreaElement;
    const placeholder = ta.placeholder;
    ta.value = placeholder;
    const fits = ta.scrollHeight <= ta.clientHeight + 1 && ta.scrollWidth <= ta.clientWidth + 1;
    ta.value = '';
    return { placeholder, fits };
  });
}

function noHorizontalScroll(page: Page): Promise<boolean> {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
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

describe('chat page on a phone and a desktop, in two languages', () => {
  it('phone, zh-CN - a Chinese browser gets Chinese; the list and the conversation are two screens with a back button; the switch to English is remembered', async () => {
    const p = await open('ph-li', PHONE, 'zh-CN');
    await expect(p.page.evaluate(() => document.documentElement.lang)).resolves.toBe('zh-CN');
    await expect(p.page.title()).resolves.toBe('Switchboard 聊天');
    await login(p, 'zh-CN');
    await expect(p.page.locator('#conn-text').textContent()).resolves.toMatch(/^在线/);
    // The list screen: the list is the whole width, the conversation is not shown.
    const sidebar = p.page.locator('aside.sidebar');
    const conversation = p.page.locator('section.conversation');
    await expect(sidebar.isVisible()).resolves.toBe(true);
    await expect(conversation.isVisible()).resolves.toBe(false);
    expect((await sidebar.boundingBox())!.width).toBe(PHONE.width);
    await p.page.getByLabel('发起聊天', { exact: true }).fill('ph-wang');
    await p.page.getByRole('button', { name: '打开', exact: true }).click();
    // The conversation screen, with a back button and the whole placeholder.
    await expect(sidebar.isVisible()).resolves.toBe(false);
    await expect(conversation.isVisible()).resolves.toBe(true);
    await expect(p.page.locator('#peer-title').textContent()).resolves.toBe('ph-wang');
    await expect(placeholderFits(p.page)).resolves.toEqual({ placeholder: '输入消息', fits: true });
    const send = (await p.page.getByRole('button', { name: '发送', exact: true }).boundingBox())!;
    expect(send.x + send.width).toBeLessThanOrEqual(PHONE.width);
    await p.page.getByRole('textbox', { name: '消息' }).fill('你好，在吗？');
    await p.page.getByRole('textbox', { name: '消息' }).press('Enter');
    await p.page.locator('li.msg.out .state', { hasText: '已发送' }).waitFor();
    await expect(noHorizontalScroll(p.page)).resolves.toBe(true);
    await p.shot(shots, 'chat-phone-conversation.png');
    await p.page.getByRole('button', { name: '返回会话列表' }).click();
    await expect(sidebar.isVisible()).resolves.toBe(true);
    await expect(conversation.isVisible()).resolves.toBe(false);
    await p.conversation('ph-wang').waitFor();
    await p.shot(shots, 'chat-phone-list.png');
    // Switch to English: every text changes at once, and a reload keeps it.
    await p.page.getByRole('combobox', { name: '语言' }).selectOption('en');
    await p.page.getByLabel('Chat with', { exact: true }).waitFor();
    await expect(p.page.locator('#conn-text').textContent()).resolves.toMatch(/^online/);
    await expect(p.page.title()).resolves.toBe('Switchboard chat');
    await p.reload();
    await p.page.getByLabel('Chat with', { exact: true }).waitFor();
    await expect(p.page.evaluate(() => [document.documentElement.lang, localStorage.getItem('switchboard.lang')])).resolves.toEqual(['en', 'en']);
    await p.conversation('ph-wang').click();
    await p.page.locator('li.msg.out .state', { hasText: /^sent$/ }).waitFor();
    await expect(placeholderFits(p.page)).resolves.toEqual({ placeholder: 'Message', fits: true });
    expect(p.errors).toEqual([]);
    await p.close();
  });

  it('desktop, en - the list and the conversation side by side, no back button; switching to Chinese relabels the open conversation', async () => {
    const p = await open('dk-amy', DESKTOP, 'en-US');
    await login(p, 'en');
    await p.openPeer('dk-ben');
    await p.send('Hello from the desktop');
    await p.outgoing('Hello from the desktop', 'sent');
    await expect(p.page.locator('aside.sidebar').isVisible()).resolves.toBe(true);
    await expect(p.page.locator('section.conversation').isVisible()).resolves.toBe(true);
    await expect(p.page.locator('#back-button').isVisible()).resolves.toBe(false);
    await expect(placeholderFits(p.page)).resolves.toEqual({ placeholder: 'Message (Enter to send, Shift+Enter for a new line)', fits: true });
    await p.page.getByRole('combobox', { name: 'Language' }).selectOption('zh-CN');
    await p.page.locator('li.msg.out .state', { hasText: '已发送' }).waitFor();
    await p.page.getByLabel('发起聊天', { exact: true }).waitFor();
    await expect(placeholderFits(p.page)).resolves.toEqual({ placeholder: '输入消息（Enter 发送，Shift+Enter 换行）', fits: true });
    await expect(p.page.getByRole('status').getAttribute('aria-label')).resolves.toBe('连接状态：在线');
    await expect(noHorizontalScroll(p.page)).resolves.toBe(true);
    expect(p.errors).toEqual([]);
    await p.close();
  });

  it('unread and notifications - the title counts unread; a notification only when opted in (asked on the click) and the tab is hidden', async () => {
    const sender = await open('nt-sam', DESKTOP, 'en-US');
    const optedIn = await open('nt-olga', DESKTOP, 'en-US', true);
    const optedOut = await open('nt-otto', PHONE, 'zh-CN', true);
    await Promise.all([login(sender, 'en'), login(optedIn, 'en'), login(optedOut, 'zh-CN')]);
    // Nothing asks for the permission by itself.
    await expect(notifications(optedIn.page)).resolves.toEqual({ asked: 0, shown: [] });
    await optedIn.page.getByLabel('Notify me when this tab is hidden').check();
    await expect.poll(async () => (await notifications(optedIn.page)).asked).toBe(1);
    await expect(optedIn.page.getByLabel('Notify me when this tab is hidden').isChecked()).resolves.toBe(true);

    // Visible tab: the count in the title, no notification.
    await sender.openPeer('nt-olga');
    await sender.send('first, while you look');
    await optedIn.title('(1) Switchboard chat');
    await optedIn.unread('nt-sam', 1);
    // Hidden tab: a notification, and the count goes on.
    await hide(optedIn.page);
    await hide(optedOut.page);
    await sender.send('second, while you are away');
    await optedIn.title('(2) Switchboard chat');
    await expect.poll(async () => (await notifications(optedIn.page)).shown).toEqual([{ title: 'New message from nt-sam', body: 'second, while you are away' }]);
    // Not opted in: the title counts, nothing is shown or asked.
    await sender.openPeer('nt-otto');
    await sender.send('are you there?');
    await optedOut.title('(1) Switchboard 聊天');
    await expect(notifications(optedOut.page)).resolves.toEqual({ asked: 0, shown: [] });
    expect([...sender.errors, ...optedIn.errors, ...optedOut.errors]).toEqual([]);
    await Promise.all([sender.close(), optedIn.close(), optedOut.close()]);
  });

  it('reconnect - while the gateway is away the top bar says "reconnecting…" in the page language, never error text or the dispatch URL', async () => {
    const en = await open('rc-eve', PHONE, 'en-US');
    const zh = await open('rc-zhao', DESKTOP, 'zh-CN');
    await Promise.all([login(en, 'en'), login(zh, 'zh-CN')]);
    await server.kill();
    await Promise.all([en.lamp('reconnecting'), zh.lamp('reconnecting')]);
    // Wait until an attempt failed against the missing dispatch (the old page showed that error).
    await en.page.locator('#conn-text', { hasText: /\(attempt [2-9]\)/ }).waitFor({ timeout: 10_000 });
    await zh.page.locator('#conn-text', { hasText: /（第 [2-9] 次）/ }).waitFor({ timeout: 10_000 });
    const enText = (await en.page.locator('#conn-text').textContent())!;
    const zhText = (await zh.page.locator('#conn-text').textContent())!;
    expect(enText).toMatch(/^reconnecting… \(attempt \d+\)$/);
    expect(zhText).toMatch(/^重新连接中…（第 \d+ 次）$/);
    for (const text of [enText, zhText]) expect(text).not.toMatch(/http|127\.0\.0\.1|error|fetch|refused/i);
    await zh.page.getByRole('alert').filter({ hasText: '正在自动重连' }).waitFor();
    await expect(noHorizontalScroll(en.page)).resolves.toBe(true);
    await server.startAgain();
    await Promise.all([en.lamp('online', 15_000), zh.lamp('online', 15_000)]);
    await Promise.all([en.close(), zh.close()]);
  });
});
