/**
 * examples/chat-log, run as a user would run it: the app (a gateway embedded as a library) in its own
 * process with real MobileIMSDK clients, and the events consumer against a real RabbitMQ.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { connect } from 'amqplib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@switchboard/core';
import { AmqpEventsPublisher, eventsExchange } from '@switchboard/cluster/amqp';
import { PacketType, parseErrorResponse } from '@switchboard/protocol';
import { ProcessGroup, connectClient, repoRoot, resolveAmqpUrl, uniquePrefix, type NodeProcess, type TestClient } from '@switchboard/testkit';

const exampleDir = path.join(repoRoot(), 'examples', 'chat-log');
const group = new ProcessGroup();
const clients: TestClient[] = [];
let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sb-chat-log-'));
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close({ abrupt: true }).catch(() => undefined)));
});

afterAll(async () => {
  await group.killAll();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface LogLine {
  at: number;
  status: 'delivered' | 'offline';
  from: string;
  to: string;
  fp: string | null;
  typeu: number;
  text: string | null;
}

async function readLog(file: string): Promise<LogLine[]> {
  let text = '';
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as LogLine);
}

async function client(url: string, uid: string): Promise<TestClient> {
  const c = await connectClient({ url, uid });
  clients.push(c);
  return c;
}

describe('examples/chat-log', () => {
  it('app - embeds a gateway, logs every C2C message once (delivered or stored offline), refuses blocked words, flushes on SIGTERM', async () => {
    const logFile = path.join(dir, 'chat.jsonl');
    const app = await group.spawn({
      script: path.join(exampleDir, 'src', 'main.ts'),
      cwd: exampleDir,
      env: { IM_WS_PORT: '0', IM_TCP_PORT: '0', CHAT_LOG_FILE: logFile, CHAT_LOG_BLOCKED_WORDS: 'spam,scam', IM_LOG_LEVEL: 'info' },
      name: 'chat-log app',
    });
    const ports = app.ready['ports'] as { ws: number; tcp: number };
    expect(app.ready['logFile']).toBe(logFile);
    const alice = await client(`ws://127.0.0.1:${ports.ws}/websocket`, 'alice');
    const bob = await client(`tcp://127.0.0.1:${ports.tcp}`, 'bob');

    const sent: Array<{ from: string; to: string; fp: string; text: string }> = [];
    for (let i = 0; i < 5; i++) {
      const text = `hello bob #${i}`;
      const fp = await alice.send('bob', text, { typeu: 7 });
      await alice.waitForAck(fp);
      sent.push({ from: 'alice', to: 'bob', fp, text });
    }
    const reply = await bob.send('alice', 'hi alice');
    await bob.waitForAck(reply);
    sent.push({ from: 'bob', to: 'alice', fp: reply, text: 'hi alice' });
    await waitFor(() => bob.messages.length === 5, { what: 'bob has 5 messages' });

    // The before-relay filter: an error packet with the app's code, nothing relayed or logged.
    const since = alice.packets.length;
    const spamFp = await alice.send('bob', 'cheap SPAM here');
    const err = await alice.waitForPacket(PacketType.ERROR, undefined, { since });
    expect(parseErrorResponse(err.dataContent)).toMatchObject({ errorCode: 1200, errorMsg: spamFp });

    // Bob leaves: the next message is stored offline, acked to alice, and logged as such.
    await bob.close();
    await waitFor(() => app.lines().some((l) => l.json?.['msg'] === 'user offline' && l.json['userId'] === 'bob'), { what: 'bob offline' });
    const offlineFp = await alice.send('bob', 'see you later');
    await alice.waitForAck(offlineFp);
    sent.push({ from: 'alice', to: 'bob', fp: offlineFp, text: 'see you later' });

    await waitFor(async () => (await readLog(logFile)).length >= sent.length, { timeoutMs: 5_000, what: 'log lines' });
    const exit = app.stop();
    expect((await exit).code).toBe(0);
    const lines = await readLog(logFile);
    expect(lines).toHaveLength(sent.length);
    expect(lines.map((l) => ({ from: l.from, to: l.to, fp: l.fp, text: l.text }))).toEqual(sent);
    expect(lines.map((l) => l.status)).toEqual([...Array(6).fill('delivered'), 'offline']);
    expect(lines.slice(0, 5).every((l) => l.typeu === 7)).toBe(true);
    expect(lines.some((l) => l.fp === spamFp)).toBe(false);
    expect(new Set(lines.map((l) => l.fp)).size).toBe(lines.length);
  });

  it('consumer - reads the events exchange with its own durable queue: bound keys only, each event once, events kept while it is down', async () => {
    const url = await resolveAmqpUrl();
    const prefix = uniquePrefix('example-events');
    const queue = `${prefix}.chat-log`;
    const got: Array<{ routingKey: string; body: { id: string; type: string } }> = [];
    const consumer = async (): Promise<NodeProcess> => {
      const p = await group.spawn({
        script: path.join(exampleDir, 'src', 'consume-events.ts'),
        cwd: exampleDir,
        env: { IM_AMQP_URL: url, IM_KEY_PREFIX: prefix, EVENTS_QUEUE: queue, EVENTS_BINDINGS: 'c2s,c2c.*' },
        name: 'events consumer',
      });
      for (const l of p.lines()) if (l.json?.['event'] === 'im-event') got.push(l.json as never);
      p.onLine((l) => {
        if (l.json?.['event'] === 'im-event') got.push(l.json as never);
      });
      return p;
    };
    const pub = new AmqpEventsPublisher({ url, prefix, name: 'example-test' });
    await pub.start();
    try {
      const first = await consumer();
      const base = { at: Date.now(), nodeId: 'gw-test' };
      const events = [
        { ...base, id: 'e-login', type: 'login', userId: 'alice', connId: 'c1', transport: 'ws', extra: null },
        { ...base, id: 'e-c2s', type: 'c2s', from: 'alice', fp: 'f1', typeu: 9, dataContent: '{"friendRequest":"bob"}' },
        { ...base, id: 'e-delivered', type: 'c2c.delivered', from: 'alice', to: 'bob', fp: 'f2', typeu: -1, dataContent: 'hi', latencyMs: 4 },
        { ...base, id: 'e-lost', type: 'lost', from: 'alice', to: 'bob', fp: 'f3', typeu: -1, reason: 'full' },
        // A redelivery (same id): handled once.
        { ...base, id: 'e-c2s', type: 'c2s', from: 'alice', fp: 'f1', typeu: 9, dataContent: '{"friendRequest":"bob"}' },
      ];
      for (const e of events) await pub.publish(e);
      await waitFor(() => got.length >= 2, { what: 'the bound events' });
      await new Promise((r) => setTimeout(r, 300));
      expect(got.map((g) => [g.routingKey, g.body.id])).toEqual([
        ['c2s', 'e-c2s'],
        ['c2c.delivered', 'e-delivered'],
      ]);
      expect(got[0]!.body).toEqual(events[1]);

      // Down: its durable queue keeps what is published meanwhile.
      expect((await first.stop()).code).toBe(0);
      await pub.publish({ ...base, id: 'e-offline', type: 'c2c.offline', from: 'alice', to: 'carol', fp: 'f4', typeu: -1, dataContent: 'later' });
      await consumer();
      await waitFor(() => got.length >= 3, { what: 'the event published while the consumer was down' });
      expect(got[2]!.routingKey).toBe('c2c.offline');
      expect(got[2]!.body.id).toBe('e-offline');
    } finally {
      await group.killAll();
      await pub.close();
      const admin = await connect(url);
      const ch = await admin.createChannel();
      await ch.deleteQueue(queue).catch(() => undefined);
      await ch.deleteExchange(eventsExchange(prefix)).catch(() => undefined);
      await admin.close();
    }
  });
});
