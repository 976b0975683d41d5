import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { waitFor } from '@switchboard/core';
import { Standalone } from '../client/standalone.js';
import { ofType, Users } from '../client/users.js';
import { ChatPage, ensureWebBuild, launchChromium } from './browser.js';

// The chat page's history side (issue 14) in headless Chromium against a real standalone: the session
// survives a reload with its conversations, history (at send time) and unread counts (in the list and
// the tab's title), viewing a conversation marks it read on the server, and one's own messages show
// "read" once the other side viewed them. Other users are SDK clients where a page is not needed.

let server: Standalone;
let browser: Browser;
const users = new Users(() => ({ dispatchUrl: server.dispatchUrl }));
const BASE_TITLE = 'Switchboard chat';

async function open(uid: string): Promise<ChatPage> {
  return ChatPage.open(browser, server.dispatchUrl, uid);
}

/** The open conversation's bubbles: [direction, text, state, time shown]. */
function bubbles(p: ChatPage) {
  return p.page.locator('li.msg').evaluateAll((els) =>
    els.map((e) => [e.classList.contains('out') ? 'out' : 'in', e.querySelector('.text')?.textContent ?? '', (e as HTMLElement).dataset['state'], Number((e as HTMLElement).dataset['time'])]),
  );
}

beforeAll(async () => {
  ensureWebBuild();
  [server, browser] = await Promise.all([Standalone.start(), launchChromium()]);
});
afterAll(async () => {
  await users.closeAll();
  await browser?.close();
  await server?.stop();
});

describe('web chat page: history, unread, read', () => {
  it('reload - the page logs in again by itself with its conversations, their history at send time and unread counts (list and tab title); viewing marks read on the server; log out forgets', async () => {
    const bob = users.add('rl-bob');
    const carol = users.add('rl-carol');
    await Promise.all([bob.c.connect(), carol.c.connect()]);
    const alice = await open('rl-alice');
    await alice.login();
    await alice.openPeer('rl-bob');
    await alice.send('Hello Bob');
    await alice.outgoing('Hello Bob', 'sent');
    for (const text of ['one', 'two']) await bob.c.send('rl-alice', text);
    await alice.incoming('two');
    for (const text of ['c1', 'c2', 'c3']) await carol.c.send('rl-alice', text);
    await alice.unread('rl-carol', 3);
    await alice.title(`(3) ${BASE_TITLE}`);
    await alice.unread('rl-bob', 0); // on screen: read

    await alice.reload();
    await expect(alice.page.locator('#login-view').isHidden()).resolves.toBe(true);
    await alice.page.locator('#peer-title', { hasText: 'rl-bob' }).waitFor();
    await alice.incoming('two');
    // The history, in order, each message at the time the server accepted it.
    const kept = await bob.c.history('rl-alice');
    await expect(bubbles(alice)).resolves.toEqual(kept.map((m) => [m.from === 'rl-alice' ? 'out' : 'in', m.content, m.from === 'rl-alice' ? 'sent' : 'received', m.sentAt]));
    await expect(alice.page.locator('li.time-label').count()).resolves.toBe(1);
    await alice.unread('rl-carol', 3);
    await alice.unread('rl-bob', 0);
    await alice.title(`(3) ${BASE_TITLE}`);

    // Viewing carol's conversation reads it, on the server too: carol's SDK hears it, a reload shows no badge.
    await alice.conversation('rl-carol').click();
    await alice.incoming('c3');
    await alice.unread('rl-carol', 0);
    await alice.title(BASE_TITLE);
    await waitFor(() => ofType(carol.events, 'read').some((e) => e.peer === 'rl-alice' && e.seq === 3), { what: 'the read notice at carol' });
    await alice.reload();
    await alice.page.locator('#peer-title', { hasText: 'rl-carol' }).waitFor();
    await alice.incoming('c3');
    await alice.unread('rl-bob', 0);
    await alice.unread('rl-carol', 0);
    await alice.title(BASE_TITLE);

    await alice.page.getByRole('button', { name: 'Log out' }).click();
    await alice.page.getByLabel('User id', { exact: true }).waitFor();
    await alice.page.reload();
    await alice.page.getByLabel('User id', { exact: true }).waitFor();
    await expect(alice.page.locator('#chat-view').isHidden()).resolves.toBe(true);
    expect(alice.errors).toEqual([]);
    await alice.close();
  });

  it('read state - the sender\'s bubble turns "read" once the other side views the conversation, and still says so after a reload', async () => {
    const alice = await open('rd-alice');
    const bob = await open('rd-bob');
    await Promise.all([alice.login(), bob.login()]);
    await alice.openPeer('rd-bob');
    await alice.send('Are you there?');
    await alice.outgoing('Are you there?', 'delivered');
    await bob.unread('rd-alice', 1);
    await bob.title(`(1) ${BASE_TITLE}`);
    // Bob has not looked yet: still "delivered".
    await expect(alice.page.locator('li.msg.out').getAttribute('data-state')).resolves.toBe('delivered');
    await bob.conversation('rd-alice').click();
    await bob.incoming('Are you there?');
    await alice.outgoing('Are you there?', 'read');
    await bob.title(BASE_TITLE);
    await alice.reload();
    await alice.outgoing('Are you there?', 'read');
    expect([...alice.errors, ...bob.errors]).toEqual([]);
    await Promise.all([alice.close(), bob.close()]);
  });
});
