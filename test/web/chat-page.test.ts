import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { Standalone } from '../client/standalone.js';
import { ChatPage, ensureWebBuild, launchChromium, screenshotDir } from './browser.js';

// The chat page in headless Chromium, served by a real `switchboard standalone` (sense mode 3S so
// heartbeats show within seconds). Each page is its own browser context: separate users.

let server: Standalone;
let browser: Browser;
let shots: string;
const pages: ChatPage[] = [];

async function open(uid: string): Promise<ChatPage> {
  const p = await ChatPage.open(browser, server.dispatchUrl, uid);
  pages.push(p);
  return p;
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

describe('web chat page', () => {
  it('login - the page served at / by dispatch has a labelled login form', async () => {
    const p = await open('nobody');
    await expect(p.page.title()).resolves.toBe('Switchboard chat');
    await p.page.getByLabel('User id', { exact: true }).waitFor();
    await p.page.getByLabel(/^Token/).waitFor();
    await p.shot(shots, 'chat-login.png');
    await p.page.getByRole('button', { name: 'Log in' }).click();
    await expect(p.page.getByRole('alert').first().textContent()).resolves.toMatch(/Enter a user id/);
    await p.close();
  });

  it('two users - messages both ways with Enter; each sender sees "delivered", then "read" once the other side has the conversation open; the lamp pulses on heartbeats', async () => {
    const alice = await open('web-alice');
    const bob = await open('web-bob');
    await Promise.all([alice.login(), bob.login()]);
    await alice.openPeer('web-bob');
    await alice.send('Hi Bob! Did the build pass?');
    await alice.outgoing('Did the build pass?', 'delivered');
    // Bob sees alice in his conversation list with an unread badge, opens it and answers.
    await bob.page.locator('button.peer[data-peer="web-alice"] .badge', { hasText: '1' }).waitFor();
    await bob.page.locator('button.peer[data-peer="web-alice"]').click();
    await bob.incoming('Did the build pass?');
    await expect(bob.page.locator('button.peer[data-peer="web-alice"] .badge').count()).resolves.toBe(0);
    const long = 'Yes, all green. Here is the log: ' + 'https://ci.example.test/'.padEnd(180, 'x') + ' and a second line';
    // Bob opened the conversation: alice's message turns "read".
    await alice.outgoing('Did the build pass?', 'read');
    await bob.send(long);
    await bob.outgoing('all green', ['delivered', 'read']);
    await alice.incoming('all green');
    await alice.send('Great, shipping it.');
    await alice.outgoing('shipping it', ['delivered', 'read']);
    await bob.incoming('shipping it');

    // One WeChat-style time label above the first message (the rest came within 2 minutes).
    await expect(alice.page.locator('li.time-label').count()).resolves.toBe(1);
    await expect(alice.page.locator('li.time-label').textContent()).resolves.toMatch(/^\d\d:\d\d$/);
    // The long unbroken text wraps inside its bubble instead of widening it.
    const fit = await alice.page.locator('li.msg.in', { hasText: 'all green' }).locator('.bubble').evaluate((b) => ({
      overflows: b.scrollWidth > b.clientWidth + 1,
      bubble: b.getBoundingClientRect().width,
      pane: (b.closest('ol') as HTMLElement).clientWidth,
    }));
    expect(fit.overflows).toBe(false);
    expect(fit.bubble).toBeLessThanOrEqual(fit.pane * 0.72);

    // Heartbeats (3S): the lamp's pulse counter moves.
    await alice.page.waitForFunction(() => Number(document.getElementById('lamp')?.dataset['beats'] ?? 0) >= 2, undefined, { timeout: 8_000 });
    await expect(alice.page.getByRole('status').getAttribute('aria-label')).resolves.toBe('Connection: online');
    await alice.shot(shots, 'chat-conversation.png');
    expect([...alice.errors, ...bob.errors]).toEqual([]);
    await Promise.all([alice.close(), bob.close()]);
  });

  it('offline peer - the message shows "sent" (stored), turns "delivered" when that user logs in later, and "read" when it opens the conversation', async () => {
    const alice = await open('off-alice');
    await alice.login();
    await alice.openPeer('off-carol');
    await alice.send('Call me when you are back.');
    await alice.outgoing('Call me when you are back.', 'sent');
    await new Promise((r) => setTimeout(r, 500));
    await expect(alice.page.locator('li.msg.out').getAttribute('data-state')).resolves.toBe('sent');
    await alice.shot(shots, 'chat-offline-sent.png');
    const carol = await open('off-carol');
    await carol.login();
    await alice.outgoing('Call me when you are back.', 'delivered');
    await alice.shot(shots, 'chat-offline-delivered.png');
    await carol.page.locator('button.peer[data-peer="off-alice"]').click();
    await carol.incoming('Call me when you are back.');
    await alice.outgoing('Call me when you are back.', 'read');
    await Promise.all([alice.close(), carol.close()]);
  });

  it('kicked - logging in as the same user elsewhere kicks the first page: it says so and stays signed out', async () => {
    const first = await open('kick-kim');
    await first.login();
    const second = await open('kick-kim');
    await second.login();
    await first.lamp('kicked');
    await expect(first.page.getByRole('alert').filter({ hasText: 'signed out' }).textContent()).resolves.toMatch(/logged in somewhere else/);
    await first.page.getByRole('button', { name: 'Log in again' }).waitFor();
    await first.shot(shots, 'chat-kicked.png');
    await new Promise((r) => setTimeout(r, 1_000));
    await expect(first.page.locator('#lamp').getAttribute('data-state')).resolves.toBe('kicked');
    await expect(second.page.locator('#lamp').getAttribute('data-state')).resolves.toBe('online');
    await Promise.all([first.close(), second.close()]);
  });

  it('gateway restart - the page shows reconnecting and recovers by itself; a message typed meanwhile is delivered', async () => {
    const alice = await open('rs-alice');
    const bob = await open('rs-bob');
    await Promise.all([alice.login(), bob.login()]);
    await alice.openPeer('rs-bob');
    await bob.openPeer('rs-alice');
    await server.kill();
    await alice.lamp('reconnecting');
    await alice.page.getByRole('alert').filter({ hasText: 'Reconnecting' }).waitFor();
    await alice.send('Typed while the server was down.');
    await alice.outgoing('Typed while the server was down.', 'sending');
    await alice.shot(shots, 'chat-reconnecting.png');
    await server.startAgain();
    await Promise.all([alice.lamp('online', 15_000), bob.lamp('online', 15_000)]);
    await alice.outgoing('Typed while the server was down.', ['delivered', 'read'], 15_000);
    await bob.incoming('Typed while the server was down.');
    await alice.send('And after it came back.');
    await alice.outgoing('And after it came back.', ['delivered', 'read']);
    await Promise.all([alice.close(), bob.close()]);
  });
});
