import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { Standalone } from '../client/standalone.js';
import { Users } from '../client/users.js';
import { ChatPage, ensureWebBuild, launchChromium, screenshotDir } from './browser.js';

// Groups on the chat page (issue 15) in headless Chromium against a real standalone: groups made
// through dispatch's admin API appear in each member's list by name, three users talk in one with
// each bubble naming its sender, and the list shows unread badges for groups and peers alike.

let server: Standalone;
let browser: Browser;
let shots: string;
const users = new Users(() => ({ dispatchUrl: server.dispatchUrl }));

async function open(uid: string): Promise<ChatPage> {
  return ChatPage.open(browser, server.dispatchUrl, uid);
}

/** The open conversation's received bubbles: [sender shown, text]. */
function received(p: ChatPage) {
  return p.page.locator('li.msg.in').evaluateAll((els) => els.map((e) => [e.querySelector('.sender')?.textContent ?? null, e.querySelector('.text')?.textContent ?? '']));
}

beforeAll(async () => {
  ensureWebBuild();
  shots = screenshotDir();
  [server, browser] = await Promise.all([Standalone.start(), launchChromium()]);
});
afterAll(async () => {
  await users.closeAll();
  await browser?.close();
  await server?.stop();
});

describe('web chat page: groups', () => {
  it('three users - the group is listed by name; its messages reach the others with the sender on each bubble; unread badges for groups and peers; sending to it from the composer', async () => {
    await server.putGroup('wg-team', 'Web Team', ['wg-alice', 'wg-bob', 'wg-carol']);
    await server.putGroup('wg-release', 'Release crew', ['wg-alice', 'wg-dave']);
    const [alice, bob, carol] = await Promise.all([open('wg-alice'), open('wg-bob'), open('wg-carol')]);
    await Promise.all([alice.login(), bob.login(), carol.login()]);
    for (const p of [alice, bob, carol]) await p.conversation('g:wg-team').filter({ hasText: 'Web Team' }).waitFor();
    await expect(alice.conversation('g:wg-team').getAttribute('data-group')).resolves.toBe('wg-team');
    await expect(bob.conversation('g:wg-release').count()).resolves.toBe(0); // not a member

    await alice.conversation('g:wg-team').click();
    await alice.page.locator('#peer-title', { hasText: 'Web Team' }).waitFor();
    await alice.send('Standup in 5 minutes?');
    await alice.outgoing('Standup in 5 minutes?', 'sent');
    await Promise.all([bob.unread('g:wg-team', 1), carol.unread('g:wg-team', 1)]);
    await bob.title('(1) Switchboard chat');

    await bob.conversation('g:wg-team').click();
    await bob.incoming('Standup in 5 minutes?');
    await bob.unread('g:wg-team', 0);
    await bob.send('Coming!');
    await carol.unread('g:wg-team', 2);
    await carol.conversation('g:wg-team').click();
    await carol.incoming('Coming!');
    await expect(received(carol)).resolves.toEqual([['wg-alice', 'Standup in 5 minutes?'], ['wg-bob', 'Coming!']]);
    await carol.send('Two minutes late, start without me.');

    await alice.incoming('start without me');
    await expect(received(alice)).resolves.toEqual([['wg-bob', 'Coming!'], ['wg-carol', 'Two minutes late, start without me.']]);
    // Own bubbles carry no sender; in a group they stop at "sent" (no receipts, no read marks there).
    await expect(alice.page.locator('li.msg.out .sender').count()).resolves.toBe(0);
    await expect(alice.page.locator('li.msg.out').getAttribute('data-state')).resolves.toBe('sent');

    // Alice's list with a direct conversation and another group waiting for her.
    const erin = users.add('wg-erin');
    const dave = users.add('wg-dave');
    await Promise.all([erin.c.connect(), dave.c.connect()]);
    await dave.c.sendToGroup('wg-release', 'RC2 is tagged, please smoke-test.');
    await erin.c.send('wg-alice', 'Can you review my PR after standup?');
    await erin.c.send('wg-alice', 'It is the one about retries.');
    await Promise.all([alice.unread('g:wg-release', 1), alice.unread('wg-erin', 2)]);
    await alice.title('(3) Switchboard chat');
    await alice.shot(shots, 'chat-groups.png');
    // A direct conversation has no sender line on its bubbles.
    await alice.conversation('wg-erin').click();
    await alice.incoming('about retries');
    await expect(received(alice)).resolves.toEqual([[null, 'Can you review my PR after standup?'], [null, 'It is the one about retries.']]);
    await alice.title('(1) Switchboard chat');
    expect([...alice.errors, ...bob.errors, ...carol.errors]).toEqual([]);
    await Promise.all([alice.close(), bob.close(), carol.close()]);
  });
});
