import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { repoRoot } from '@switchboard/testkit';

/** Debian's Chromium (toolchain.md); playwright cannot download browsers here. */
export const CHROMIUM_PATH = process.env['IM_CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Build the chat page when packages/web/dist is missing or stale (what `pnpm start` does). */
export function ensureWebBuild(): void {
  const res = spawnSync(process.execPath, [join(repoRoot(), 'scripts', 'ensure-web-build.mjs')], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`the web build failed:\n${res.stderr}\n${res.stdout}`);
}

/** Launch headless Chromium; fails with how to install it when it is missing (never a silent skip). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}. The browser tests need Debian's chromium: ` +
        '`apt-get install -y chromium` (.ci/run does this), or set IM_CHROMIUM_PATH.',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 30_000 });
}

/**
 * Where screenshots go: `IM_WEB_SCREENSHOTS_DIR` (docs/screenshots when refreshing the docs:
 * `IM_WEB_SCREENSHOTS_DIR=docs/screenshots pnpm test:cluster test/web`), else a temp dir.
 */
export function screenshotDir(): string {
  const dir = process.env['IM_WEB_SCREENSHOTS_DIR'];
  if (!dir) return mkdtempSync(join(tmpdir(), 'switchboard-web-'));
  const abs = join(repoRoot(), dir);
  mkdirSync(abs, { recursive: true });
  return abs;
}

/** One user's chat page. */
export class ChatPage {
  /** Uncaught errors of the page so far. */
  readonly errors: string[] = [];

  constructor(
    readonly page: Page,
    readonly uid: string,
  ) {
    page.on('pageerror', (err) => this.errors.push(err.message));
  }

  static async open(browser: Browser, baseUrl: string, uid: string): Promise<ChatPage> {
    const ctx = await browser.newContext({ viewport: { width: 960, height: 620 }, deviceScaleFactor: 1 });
    const p = new ChatPage(await ctx.newPage(), uid);
    await p.page.goto(`${baseUrl}/`);
    return p;
  }

  async login(): Promise<void> {
    await this.page.getByLabel('User id', { exact: true }).fill(this.uid);
    await this.page.getByRole('button', { name: 'Log in' }).click();
    await this.lamp('online');
  }

  /** Wait until the connection lamp shows `state`. */
  async lamp(state: string, timeoutMs = 10_000): Promise<void> {
    await this.page.locator(`#lamp[data-state="${state}"]`).waitFor({ timeout: timeoutMs });
  }

  /** Reload the page (the saved session logs in again) and wait until it is online. */
  async reload(): Promise<void> {
    await this.page.reload();
    await this.lamp('online');
  }

  /** The entry of conversation `key` (a user id, or a group's address) in the list. */
  conversation(key: string) {
    return this.page.locator(`button.peer[data-peer="${key}"]`);
  }

  /** Wait until conversation `key` shows `n` unread (0: no badge). */
  async unread(key: string, n: number, timeoutMs = 10_000): Promise<void> {
    const entry = this.conversation(key);
    await entry.waitFor({ timeout: timeoutMs });
    if (n > 0) await entry.locator('.badge', { hasText: new RegExp(`^${n}$`) }).waitFor({ timeout: timeoutMs });
    else await entry.locator('.badge').waitFor({ state: 'detached', timeout: timeoutMs });
  }

  /** Wait until the tab's title is `title`. */
  async title(title: string, timeoutMs = 10_000): Promise<void> {
    await this.page.waitForFunction((t) => document.title === t, title, { timeout: timeoutMs });
  }

  async openPeer(peer: string): Promise<void> {
    await this.page.getByLabel('Chat with', { exact: true }).fill(peer);
    await this.page.getByRole('button', { name: 'Open', exact: true }).click();
    await this.page.locator('#peer-title', { hasText: peer }).waitFor();
  }

  /** Type `text` in the message box and press Enter. */
  async send(text: string): Promise<void> {
    const box = this.page.getByRole('textbox', { name: 'Message' });
    await box.fill(text);
    await box.press('Enter');
  }

  /** Wait for our message containing `text` to reach `state` (sending, sent, delivered, read, failed), or one of `state`. */
  async outgoing(text: string, state: string | string[], timeoutMs = 10_000): Promise<void> {
    const states = typeof state === 'string' ? [state] : state;
    const sel = states.map((s) => `li.msg.out[data-state="${s}"]`).join(', ');
    await this.page.locator(sel, { hasText: text }).waitFor({ timeout: timeoutMs });
  }

  /** Wait for an incoming message containing `text`. */
  async incoming(text: string, timeoutMs = 10_000): Promise<void> {
    await this.page.locator('li.msg.in', { hasText: text }).waitFor({ timeout: timeoutMs });
  }

  async shot(dir: string, name: string): Promise<string> {
    const path = join(dir, name);
    await this.page.screenshot({ path });
    return path;
  }

  async close(): Promise<void> {
    await this.page.context().close();
  }
}
