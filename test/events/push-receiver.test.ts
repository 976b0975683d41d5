/**
 * examples/push-receiver, run as a user would: the receiver and `switchboard standalone` (with
 * IM_WEBHOOK_URL pointing at it) as processes. A message to an offline user becomes one push.needed
 * webhook per window, verified and turned into a printed notification; an unsigned request is refused.
 */
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@switchboard/core';
import { ProcessGroup, connectClient, repoRoot, type TestClient } from '@switchboard/testkit';

const exampleDir = path.join(repoRoot(), 'examples', 'push-receiver');
const SECRET = 'push-receiver-test-secret-0123456789';
const group = new ProcessGroup();
const clients: TestClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close({ abrupt: true }).catch(() => undefined)));
});
afterAll(async () => {
  await group.killAll();
});

describe('examples/push-receiver', () => {
  it('verifies push.needed webhooks and prints one notification per offline user per window', async () => {
    const receiver = await group.spawn({
      script: path.join(exampleDir, 'src', 'main.ts'),
      cwd: exampleDir,
      env: { PUSH_WEBHOOK_SECRET: SECRET, PUSH_RECEIVER_PORT: '0', PUSH_DEVICES: JSON.stringify({ 'pr-bob': { provider: 'fcm', token: 'tok-bob' } }) },
      name: 'push receiver',
    });
    const port = (receiver.ready['ports'] as { http: number }).http;
    const server = await group.spawn({
      args: ['standalone'],
      env: {
        IM_WS_PORT: '0',
        IM_TCP_PORT: '0',
        IM_UDP_PORT: '0',
        IM_ADMIN_PORT: '0',
        IM_DISPATCH_PORT: '0',
        IM_AUTH: 'none',
        IM_LOG_LEVEL: 'warn',
        IM_WEBHOOK_URL: `http://127.0.0.1:${port}/`,
        IM_WEBHOOK_SECRET: SECRET,
        IM_WEBHOOK_FLUSH_INTERVAL_MS: '50',
        IM_PUSH_WINDOW_MS: '300',
      },
      name: 'standalone',
    });
    const ws = (server.ready['ports'] as { ws: number }).ws;
    const alice = await connectClient({ url: `ws://127.0.0.1:${ws}/websocket`, uid: 'pr-alice' });
    clients.push(alice);
    await alice.waitForAck(await alice.send('pr-bob', 'are you there?'));
    await alice.waitForAck(await alice.send('pr-bob', 'see you at 8?'));
    await alice.waitForAck(await alice.send('pr-nodevice', 'hello'));

    const pushes = () => receiver.lines().filter((l) => l.json?.['event'] === 'push').map((l) => l.json!);
    await waitFor(() => pushes().length === 1 && receiver.lines().some((l) => l.json?.['event'] === 'no_device'), { timeoutMs: 10_000, what: 'the notification' });
    expect(pushes()[0]).toEqual({ event: 'push', provider: 'fcm', token: 'tok-bob', title: 'pr-alice', body: 'see you at 8?', badge: 2, thread: 'c2c:pr-alice' });

    // Unsigned or badly signed requests never reach the handler.
    const forged = await fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'webhook-signature': 'v1,AAAA', 'webhook-id': 'x', 'webhook-timestamp': String(Math.floor(Date.now() / 1000)) },
      body: JSON.stringify({ sentAt: Date.now(), events: [{ type: 'push.needed', id: 'f', user: 'pr-bob', from: 'mallory', count: 1, fp: 'f' }] }),
    });
    expect(forged.status).toBe(401);
    expect((await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: '{}' })).status).toBe(401);
    expect(pushes()).toHaveLength(1);
  }, 60_000);
});
