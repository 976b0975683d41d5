import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientEvent } from '@switchboard/client';
import type { NodeClientOptions } from '@switchboard/client/node';
import { waitFor } from '@switchboard/core';
import { startNode } from '@switchboard/testkit';
import { chatSession } from './chat-session.js';
import { Standalone } from './standalone.js';
import { ofType, Users } from './users.js';

// The SDK against the real gateway: `switchboard standalone` in its own process (sense mode 3S).

let server: Standalone;
const users = new Users(() => ({ dispatchUrl: server.dispatchUrl, sendReceipts: true, reconnect: { initialDelayMs: 100, maxDelayMs: 1_000 } }));
const user = (uid: string, opts: Partial<NodeClientOptions> = {}) => users.add(uid, opts);
const contents = (events: ClientEvent[]) => ofType(events, 'message').map((e) => e.message.content);

beforeAll(async () => {
  server = await Standalone.start();
});
afterAll(async () => {
  await users.closeAll();
  await server?.stop();
});

describe('client SDK against the standalone gateway', () => {
  it('ws + tcp - two users through dispatch exchange QoS messages both ways: acked end to end, receipts back, keepalives answered', async () => {
    const alice = user('sa-alice', { transport: 'ws' });
    const bob = user('sa-bob', { transport: 'tcp' });
    await Promise.all([alice.c.connect(), bob.c.connect()]);
    expect(alice.c.node).toBe((server.proc.ready as { nodeId?: string }).nodeId);

    const r1 = await alice.c.send('sa-bob', 'hello bob', { typeu: 1 });
    const r2 = await bob.c.send('sa-alice', 'hello alice');
    expect(r1.acked && r2.acked).toBe(true);
    await waitFor(() => contents(bob.events).length === 1 && contents(alice.events).length === 1, { what: 'both messages' });
    expect(ofType(bob.events, 'message')[0]!.message).toMatchObject({ fp: r1.fp, from: 'sa-alice', content: 'hello bob', typeu: 1 });
    expect(contents(alice.events)).toEqual(['hello alice']);
    // Each side's SDK sent a delivery receipt for what it received.
    await waitFor(() => ofType(alice.events, 'receipt').length === 1 && ofType(bob.events, 'receipt').length === 1, { what: 'receipts' });
    expect(ofType(alice.events, 'receipt')[0]).toEqual({ type: 'receipt', fp: r1.fp, from: 'sa-bob' });
    // 3S sense mode from dispatch: a keepalive every 3 s, answered.
    await waitFor(() => ofType(alice.events, 'pong').length >= 1 && ofType(bob.events, 'pong').length >= 1, { timeoutMs: 5_000, what: 'pongs' });
    expect(ofType(alice.events, 'ping').length).toBeGreaterThanOrEqual(1);
  });

  it('offline - a message to an offline user is acked once stored, delivered when that user logs in, and its receipt follows', async () => {
    const alice = user('off-alice');
    await alice.c.connect();
    const r = await alice.c.send('off-carol', 'while you were away');
    expect(r.acked).toBe(true);
    expect(ofType(alice.events, 'receipt')).toEqual([]);
    const carol = user('off-carol');
    await carol.c.connect();
    await waitFor(() => contents(carol.events).length === 1, { what: 'the offline message' });
    expect(ofType(carol.events, 'message')[0]!.message.fp).toBe(r.fp);
    await waitFor(() => ofType(alice.events, 'receipt').length === 1, { what: 'the receipt' });
    expect(ofType(alice.events, 'receipt')[0]!.fp).toBe(r.fp);
  });

  it('duplicate login - the newer login kicks the older client, which reports kicked and stays down', async () => {
    const first = user('dup-dave');
    await first.c.connect();
    const second = user('dup-dave');
    await second.c.connect();
    await waitFor(() => first.c.state === 'kicked', { what: 'the first client kicked' });
    expect(ofType(first.events, 'kicked')).toEqual([{ type: 'kicked', code: 1, reason: null }]);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(first.c.state).toBe('kicked');
    expect(second.c.state).toBe('online');
    await expect(first.c.send('x', 'y')).rejects.toThrow(/kicked/);
  });

  it('admin kick - code 2 with the reason; the client does not reconnect', async () => {
    const eve = user('kick-eve');
    await eve.c.connect();
    const res = await fetch(`http://127.0.0.1:${server.ports.admin}/admin/users/kick-eve/kick`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'policy' }),
    });
    expect(res.status).toBe(200);
    await waitFor(() => eve.c.state === 'kicked', { what: 'kicked' });
    expect(ofType(eve.events, 'kicked')).toEqual([{ type: 'kicked', code: 2, reason: 'policy' }]);
  });

  it('restart - the gateway is killed and restarted on the same ports: clients come back by themselves; a message sent meanwhile is acked', async () => {
    const alice = user('rs-alice');
    const bob = user('rs-bob', { transport: 'tcp' });
    await Promise.all([alice.c.connect(), bob.c.connect()]);
    const firstLogin = alice.c.firstLoginTime;
    await server.kill();
    await waitFor(() => alice.c.state === 'reconnecting' && bob.c.state === 'reconnecting', { what: 'both reconnecting' });
    const during = alice.c.send('rs-bob', 'sent while the server was down');
    await server.startAgain();
    const r = await during;
    expect(r.acked).toBe(true);
    await waitFor(() => alice.c.state === 'online' && bob.c.state === 'online', { timeoutMs: 15_000, what: 'both online again' });
    await waitFor(() => contents(bob.events).includes('sent while the server was down'), { what: 'bob has it' });
    const relogin = ofType(alice.events, 'login').at(-1)!;
    expect(relogin).toMatchObject({ relogin: true, firstLoginTime: firstLogin });
    expect(ofType(alice.events, 'lost')).toEqual([]);
  });
});

describe('switchboard chat (terminal client)', () => {
  const chat = (uid: string, peer: string | null) => chatSession({ uid, peer, dispatchUrl: server.dispatchUrl });

  it('session - sends to the peer with delivery state, shows incoming messages and connection state, /quit leaves', async () => {
    const bob = user('cli-bob');
    await bob.c.connect();
    const t = chat('cli-alice', 'cli-bob');
    await t.waitLine(/\* online on gw-\S+ as cli-alice/);
    t.input.write('hello from the terminal\n');
    await t.waitLine(/→ cli-bob: hello from the terminal {2}\(#[0-9a-f]{8} sending\)/);
    await t.waitLine(/#[0-9a-f]{8} sent/);
    await t.waitLine(/✓ #[0-9a-f]{8} delivered to cli-bob/);
    expect(contents(bob.events)).toEqual(['hello from the terminal']);
    await bob.c.send('cli-alice', 'hi terminal');
    await t.waitLine(/← cli-bob: hi terminal/);
    t.input.write('@cli-carol one-off to someone else\n');
    await t.waitLine(/→ cli-carol: one-off to someone else/);
    t.input.write('/status\n');
    await t.waitLine(/\* online on gw-\S+; \d message\(s\) waiting for an ack/);
    t.input.write('/quit\n');
    await expect(t.exit).resolves.toBe(0);
  });

  it('piped input - leaves once every message is acked; a kicked session exits 3', async () => {
    const t = chat('cli-pipe', 'cli-nobody');
    t.input.end('first\nsecond\n');
    await expect(t.exit).resolves.toBe(0);
    expect(t.lines.filter((l) => / sent \(cli-nobody has it or it waits/.test(l))).toHaveLength(2);

    const k = chat('cli-kim', null);
    await k.waitLine(/\* online/);
    const other = user('cli-kim');
    await other.c.connect();
    await expect(k.exit).resolves.toBe(3);
    expect(k.lines.some((l) => /kicked by the server \(code 1\); not reconnecting/.test(l))).toBe(true);
  });

  it('history - /history [n] reads the server\'s history with send times and seqs, /session this session\'s view; read markers both ways', async () => {
    const bob = user('clh-bob');
    await bob.c.connect();
    await bob.c.send('clh-alice', 'earlier 1'); // stored offline: alice is not online yet
    await bob.c.send('clh-alice', 'earlier 2');
    const t = chat('clh-alice', 'clh-bob');
    await t.waitLine(/← clh-bob: earlier 2/);
    t.input.write('hello bob\n');
    await t.waitLine(/#[0-9a-f]{8} sent/);
    t.input.write('/history 3\n');
    await t.waitLine(/\* the last 3 message\(s\) with clh-bob from the server's history:/);
    const last = await t.waitLine(/^\[[0-9:]{8}\] seq \d+ → clh-bob: hello bob$/);
    const shown = t.lines.slice(t.lines.indexOf(last) - 2, t.lines.indexOf(last) + 1);
    expect(shown.map((l) => l.replace(/^\[[0-9:]{8}\] seq \d+ /, ''))).toEqual(['← clh-bob: earlier 1', '← clh-bob: earlier 2', '→ clh-bob: hello bob']);
    t.input.write('/history 0\n');
    await t.waitLine(/\/history \[n\]: n is a number from 1 to 200/);
    t.input.write('/session\n');
    await t.waitLine(/→ clh-bob: hello bob {2}\(#[0-9a-f]{8} (sent|delivered)\)/);
    // The chat showed bob's messages, so it marked them read: bob's SDK gets the notice.
    await waitFor(() => ofType(bob.events, 'read').some((e) => e.peer === 'clh-alice'), { what: 'the read notice at bob' });
    // Bob reads alice's message: her chat says so.
    const [conv] = await bob.c.conversations();
    await bob.c.markRead('clh-alice', conv!.lastSeq);
    await t.waitLine(/✓✓ clh-bob read your message up to seq \d+/);
    t.input.write('/quit\n');
    await expect(t.exit).resolves.toBe(0);
  });

  it('groups - /group GID text sends to a group; incoming group messages show the group and the sender; a group the user is not in fails with 1040', async () => {
    await server.putGroup('clg-team', 'CLI team', ['clg-alice', 'clg-bob']);
    const bob = user('clg-bob');
    await bob.c.connect();
    const t = chat('clg-alice', null);
    await t.waitLine(/\* online/);
    t.input.write('/group clg-team hello group\n');
    await t.waitLine(/→ \[clg-team\]: hello group {2}\(#[0-9a-f]{8} sending\)/);
    await t.waitLine(/#[0-9a-f]{8} sent \(in group clg-team's history, on its way to the members\)/);
    await waitFor(() => contents(bob.events).includes('hello group'), { what: 'bob has it' });
    expect(ofType(bob.events, 'message').at(-1)!.message).toMatchObject({ group: 'clg-team', from: 'clg-alice' });
    await bob.c.sendToGroup('clg-team', 'hi from bob');
    await t.waitLine(/← \[clg-team\] clg-bob: hi from bob/);
    t.input.write('/group clg-team\n');
    await t.waitLine(/\/group GID text: a group id, then the message/);
    t.input.write('/group clg-elsewhere not mine\n');
    await t.waitLine(/✗ #[0-9a-f]{8} to \[clg-elsewhere\] failed: refused by the server \(1040\)/);
    t.input.write('/help\n');
    await t.waitLine(/\/group GID text {3}send one message to group GID/);
    t.input.write('/quit\n');
    await expect(t.exit).resolves.toBe(0);
  });

  it('cli - `switchboard chat --help` prints the usage; a missing --uid exits 2 naming it', async () => {
    const help = startNode({ args: ['chat', '--help'], name: 'chat --help' });
    const bad = startNode({ args: ['chat', '--dispatch', server.dispatchUrl], name: 'chat (no uid)' });
    const [h, b] = await Promise.all([help.waitForExit(20_000), bad.waitForExit(20_000)]);
    expect(h.code).toBe(0);
    expect(help.output()).toMatch(/Usage: switchboard chat --uid ID/);
    expect(b.code).toBe(2);
    expect(bad.output()).toMatch(/--uid is required/);
  });
});
