import { createServer } from 'node:net';
import { connect, type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImErrorCode, createLogger, newNodeId, waitFor, type Logger } from '@switchboard/core';
import { resolveAmqpUrl, uniquePrefix } from '@switchboard/testkit';
import type { BridgeMessage } from '../../src/bridge.js';
import { AmqpBridge, bridgeExchange, nodeQueue, nodeRoutingKey } from '../../src/amqp/index.js';
import { bridgeContract } from '../contract/bridge.contract.js';

let url = '';
const prefix = uniquePrefix('amqp-bridge');
let admin: ChannelModel | undefined;

beforeAll(async () => {
  url = await resolveAmqpUrl();
  admin = await connect(url);
});

afterAll(async () => {
  if (admin === undefined) return;
  // Only this file's exchange: the prefix is unique to this run.
  const ch = await admin.createChannel();
  await ch.deleteExchange(bridgeExchange(prefix)).catch(() => undefined);
  await admin.close();
});

/** A pino logger whose JSON lines land in `lines`. */
function memoryLogger(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const destination = {
    write(chunk: string): void {
      for (const l of chunk.split('\n')) if (l.length > 0) lines.push(JSON.parse(l) as Record<string, unknown>);
    },
  };
  return { log: createLogger({ level: 'debug', destination }), lines };
}

function bridge(extra: Partial<ConstructorParameters<typeof AmqpBridge>[0]> = {}): AmqpBridge {
  return new AmqpBridge({ url, prefix, nodeId: newNodeId('it'), sendTimeoutMs: 5_000, ...extra });
}

/** Queue state seen from another connection: 'absent', or 'present' (exclusive queues answer 405). */
async function queueState(name: string): Promise<'absent' | 'present'> {
  if (admin === undefined) throw new Error('no admin connection');
  const ch = await admin.createChannel();
  ch.on('error', () => undefined);
  try {
    await ch.checkQueue(name);
    await ch.close();
    return 'present';
  } catch (err) {
    const code = (err as { code?: number }).code;
    if (code === 404) return 'absent';
    if (code === 405) return 'present'; // RESOURCE_LOCKED: exists, exclusive to its owner
    throw err;
  }
}

bridgeContract('AmqpBridge', async () => ({ a: bridge(), b: bridge() }));

describe('AmqpBridge', () => {
  it('start - declares <prefix>.bridge and an exclusive node queue; close deletes it', async () => {
    const b = bridge();
    expect(b.queueName).toBe(nodeQueue(prefix, b.nodeId));
    await expect(queueState(b.queueName)).resolves.toBe('absent');
    await b.start(() => undefined);
    await expect(queueState(b.queueName)).resolves.toBe('present');
    await b.close();
    await expect(queueState(b.queueName)).resolves.toBe('absent');
  });

  it('send - rejects with UnavailableError before start', async () => {
    const a = bridge();
    await expect(a.send(a.nodeId, { type: 'control', origin: a.nodeId, action: 'drain' })).rejects.toMatchObject({
      code: ImErrorCode.UNAVAILABLE,
    });
    await a.close();
  });

  it('start - fails fast with UnavailableError when no broker listens, state down', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    await new Promise<void>((r) => srv.close(() => r()));
    const a = bridge({ url: `amqp://guest:guest@127.0.0.1:${port}` });
    const t0 = performance.now();
    await expect(a.start(() => undefined)).rejects.toMatchObject({ code: ImErrorCode.UNAVAILABLE });
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(a.state).toBe('down');
    await a.close();
    expect(a.state).toBe('closed');
  });

  it('consume - drops malformed bodies with a warning and keeps consuming', async () => {
    const { log, lines } = memoryLogger();
    const b = bridge({ log });
    const got: BridgeMessage[] = [];
    await b.start((m) => got.push(m));
    if (admin === undefined) throw new Error('no admin connection');
    const ch = await admin.createConfirmChannel();
    const bad = [
      Buffer.from('not json'),
      Buffer.from('[1,2]'),
      Buffer.from('{"type":"deliver","origin":"x","to":"u"}'), // no packet
      Buffer.from('{"type":"kick","origin":"x","userId":"u","connId":"c","code":"4501","reason":null}'),
      Buffer.from('{"type":"control","origin":"x","action":"explode"}'),
      Buffer.from('{"type":"ack","origin":"x","fp":"f","from":"a","to":"b"}\ntrailing'),
      Buffer.from([0xff, 0xfe, 0x00]),
    ];
    for (const body of bad) ch.publish(bridgeExchange(prefix), nodeRoutingKey(b.nodeId), body);
    const good: BridgeMessage = { type: 'control', origin: b.nodeId, action: 'drain' };
    ch.publish(bridgeExchange(prefix), nodeRoutingKey(b.nodeId), Buffer.from(JSON.stringify(good)));
    await ch.waitForConfirms();
    await ch.close();
    await waitFor(() => got.length === 1, { what: 'the good message' });
    expect(got).toEqual([good]);
    expect(lines.filter((l) => l['msg'] === 'malformed bridge message dropped')).toHaveLength(bad.length);
    expect(b.state).toBe('up');
    await b.close();
  });

  it('consume - a handler that throws is logged and does not stop consumption', async () => {
    const { log, lines } = memoryLogger();
    const a = bridge();
    const b = bridge({ log });
    let calls = 0;
    await a.start(() => undefined);
    await b.start(() => {
      calls += 1;
      if (calls === 1) throw new Error('handler bug');
    });
    const msg: BridgeMessage = { type: 'control', origin: a.nodeId, action: 'drain' };
    await a.send(b.nodeId, msg);
    await a.send(b.nodeId, msg);
    await waitFor(() => calls === 2, { what: 'second delivery' });
    expect(lines.some((l) => l['msg'] === 'bridge message handler threw; message dropped')).toBe(true);
    expect(b.state).toBe('up');
    await a.close();
    await b.close();
  });

  it('consume - acks deliveries so the queue drains beyond the prefetch window', async () => {
    const a = bridge();
    const b = bridge({ prefetch: 10 });
    let n = 0;
    await a.start(() => undefined);
    await b.start(() => {
      n += 1;
    });
    const sends: Array<Promise<void>> = [];
    for (let i = 0; i < 500; i++) sends.push(a.send(b.nodeId, { type: 'control', origin: a.nodeId, action: 'drain' }));
    await Promise.all(sends);
    await waitFor(() => n === 500, { what: '500 deliveries with prefetch 10' });
    await a.close();
    await b.close();
  });

  it('connection - carries a client-provided name with the node id', async () => {
    const a = bridge();
    expect(a.connectionName).toContain(a.nodeId);
    await a.close();
  });

  it('close - waits for confirms of sends already made', async () => {
    const a = bridge();
    const b = bridge();
    let n = 0;
    await a.start(() => undefined);
    await b.start(() => {
      n += 1;
    });
    const sends: Array<Promise<void>> = [];
    for (let i = 0; i < 200; i++) sends.push(a.send(b.nodeId, { type: 'control', origin: a.nodeId, action: 'drain' }));
    const settled = Promise.allSettled(sends);
    await a.close();
    const results = await settled;
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    await waitFor(() => n === 200, { what: 'all 200 delivered' });
    await b.close();
  });

  it('options - rejects invalid values', () => {
    expect(() => bridge({ prefetch: 0 })).toThrow();
    expect(() => bridge({ sendTimeoutMs: -1 })).toThrow();
    expect(() => bridge({ url: 'http://localhost' })).toThrow();
  });
});
