/**
 * What src/amqp/amqplib-internals.ts relies on in amqplib (pinned 2.3.1), checked against a real
 * broker (`IM_AMQP_URL`, else a local RabbitMQ on 127.0.0.1:5672 guest/guest). When an amqplib
 * upgrade fails here, the broker link lost its write batching or its hung-broker escape hatch:
 * fix amqplib-internals.ts before taking the upgrade.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Socket } from 'node:net';
import { setImmediate as nextIteration } from 'node:timers/promises';
import { connect, type ChannelModel } from 'amqplib';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@switchboard/core';
import { resolveAmqpUrl } from '@switchboard/testkit';
import { BrokerWrites, brokerSocket, destroyBrokerSocket } from '../../src/amqp/amqplib-internals.js';

// amqplib's `exports` hide its package.json; it sits beside the entry point.
const AMQPLIB = (
  JSON.parse(readFileSync(join(dirname(createRequire(import.meta.url).resolve('amqplib')), 'package.json'), 'utf8')) as { version: string }
).version;
const WHO = `amqplib ${AMQPLIB} (pinned 2.3.1)`;

let url = '';
const open: ChannelModel[] = [];

beforeAll(async () => {
  url = await resolveAmqpUrl();
});

afterEach(async () => {
  for (const c of open.splice(0)) await c.close();
});

/** A connection without heartbeats (no timers left behind by the one whose socket is destroyed); `keep` = closed after the test. */
async function connection(keep = true): Promise<ChannelModel> {
  const u = new URL(url);
  u.searchParams.set('heartbeat', '0');
  const c = await connect(u.toString(), { noDelay: true });
  if (keep) open.push(c);
  return c;
}

/** Counts the socket's writes, noting whether the socket was corked at each. */
function spyWrites(sock: Socket): { corked: number; uncorked: number } {
  const seen = { corked: 0, uncorked: 0 };
  const write = sock.write.bind(sock) as (...args: unknown[]) => boolean;
  (sock as unknown as { write: (...args: unknown[]) => boolean }).write = (...args: unknown[]) => {
    if (sock.writableCorked > 0) seen.corked += 1;
    else seen.uncorked += 1;
    return write(...args);
  };
  return seen;
}

describe(`amqplib internals (${WHO})`, () => {
  it('ChannelModel.connection.stream is the net.Socket connected to the broker', async () => {
    const conn = await connection();
    const sock = brokerSocket(conn);
    expect(sock, `${WHO}: ChannelModel.connection.stream is gone`).toBeInstanceOf(Socket);
    const s = sock as Socket;
    expect(s.destroyed).toBe(false);
    expect(String(s.remotePort), `${WHO}: connection.stream is not the socket to the broker`).toBe(new URL(url).port || '5672');
    for (const m of ['cork', 'uncork', 'destroy'] as const) expect(typeof s[m], `${WHO}: the broker socket has no ${m}()`).toBe('function');
    expect(BrokerWrites.of(conn), `${WHO}: BrokerWrites found no corkable socket`).not.toBeNull();
  });

  it("amqplib writes a turn's frames to that socket within one loop iteration: BrokerWrites keeps them corked into one write", async () => {
    const conn = await connection();
    const sock = brokerSocket(conn) as Socket;
    const ch = await conn.createConfirmChannel();
    const q = await ch.assertQueue('', { exclusive: true, autoDelete: true });
    const writes = spyWrites(sock);
    const writer = BrokerWrites.of(conn)!;

    // One turn: corked at the first publish, as AmqpBridge and AmqpEventsPublisher do.
    const confirms: Array<Promise<void>> = [];
    for (let i = 0; i < 5; i++) {
      writer.batch();
      confirms.push(
        new Promise<void>((resolve, reject) => ch.publish('', q.queue, Buffer.from(`m${i}`), {}, (err) => (err ? reject(err) : resolve()))),
      );
    }
    const confirmed = Promise.all(confirms);
    confirmed.catch(() => undefined); // awaited below; a failed assertion first must not leave it unhandled
    expect(sock.writableCorked).toBe(1);
    expect(writes.corked + writes.uncorked, `${WHO}: publish wrote to the socket synchronously`).toBe(0);
    for (let i = 0; i < 3; i++) await nextIteration();
    // amqplib's Mux wrote the frames from its setImmediate, before BrokerWrites uncorked one
    // iteration later: every write went into the cork, and the socket is uncorked again.
    expect(writes.corked, `${WHO}: the Mux did not write within one loop iteration`).toBeGreaterThanOrEqual(1);
    expect(writes.uncorked, `${WHO}: frames were written after BrokerWrites uncorked`).toBe(0);
    expect(sock.writableCorked, 'BrokerWrites did not uncork').toBe(0);
    // The broker took the coalesced frames as five messages.
    await confirmed;
    expect((await ch.checkQueue(q.queue)).messageCount).toBe(5);
  });

  it('destroying connection.stream cuts the link (hung-broker escape hatch)', async () => {
    const conn = await connection(false); // close() would never settle: the broker cannot answer any more
    const sock = brokerSocket(conn) as Socket;
    conn.on('error', () => undefined); // whatever amqplib reports after the cut is not under test

    expect(destroyBrokerSocket(conn)).toBe(true);
    expect(sock.destroyed).toBe(true);
    expect(sock.writable, 'a destroyed socket still takes writes').toBe(false);
    await waitFor(() => sock.closed, { timeoutMs: 2_000, what: 'the destroyed broker socket to close' });
  });
});
