// Offline storage budgets (docs/operations.md "Offline storage budgets"): per sender, in total, and
// the optional receiver check. Each refusal is an error packet naming the fp, never an ack.
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryOfflineBudget, type StorageCeiling } from '@switchboard/cluster';
import { asUserId } from '@switchboard/core';
import { ErrorCode } from '@switchboard/protocol';
import { createReceiverCheckWebhook } from '../../src/receiver-webhook.js';
import { cleanup, onCleanup, quietWindow, startGateway, uid, until } from '../fixtures.js';

afterEach(cleanup);

/** A ceiling whose answer the test sets. */
function switchCeiling(over: boolean): StorageCeiling & { set(v: boolean): void } {
  let v = over;
  return { over: () => v, set: (x) => (v = x), sample: async () => ({ usedBytes: 0, ceilingBytes: 0, at: 0 }), last: null, close: async () => {} };
}

describe('offline storage budgets', () => {
  it('per sender (default 8 MiB per hour) - one connection sending 60 KB messages to made-up receivers gets 1034 past the budget, each naming its fp, no ack', async () => {
    const f = await startGateway(); // the default budget
    const s = await f.login(uid('spammer'), 'ws');
    const body = 'x'.repeat(60_000);
    const fps: string[] = [];
    const receivers: string[] = [];
    for (let i = 0; i < 160; i++) {
      const to = uid(`nobody-${i}`);
      receivers.push(to);
      fps.push((await s.send(to, body))!);
    }
    await until(() => s.acks.length + s.errors.length === fps.length, 'an ack or an error for every message', 15_000);
    const refused = s.errors.filter((e) => e.errorCode === ErrorCode.OFFLINE_BUDGET_EXCEEDED);
    // 8 MiB / ~60 KB: about 139 are stored; every later one is refused.
    expect(s.acks.length).toBeGreaterThan(130);
    expect(s.acks.length).toBeLessThan(141);
    expect(refused.length).toBe(fps.length - s.acks.length);
    expect(new Set(refused.map((e) => e.errorMsg))).toEqual(new Set(fps.filter((fp) => !s.acks.includes(fp))));
    let stored = 0;
    for (const r of receivers) stored += await f.offlineCount(r);
    expect(stored).toBe(s.acks.length);
    expect(await f.metric('switchboard_messages_lost_total', { reason: 'sender_budget' })).toBe(refused.length);
    // Another sender has a budget of its own.
    const other = await f.login(uid('other'), 'tcp');
    const fp = (await other.send(uid('nobody-else'), 'hi'))!;
    await other.waitForAck(fp);
  }, 30_000);

  it('per sender - the budget counts bytes stored, not messages; a refused store is not charged; a resend past the budget is refused again', async () => {
    const budget = new MemoryOfflineBudget({ bytesPerWindow: 3_000, windowMs: 60_000 });
    const f = await startGateway({ offlineBudget: budget });
    const s = await f.login(uid('snd'), 'tcp');
    const to = uid('away');
    const a = (await s.send(to, 'a'.repeat(1_000)))!;
    await s.waitForAck(a);
    const b = (await s.send(to, 'b'.repeat(1_000)))!;
    await s.waitForAck(b);
    const c = (await s.send(to, 'c'.repeat(1_000)))!;
    await until(() => s.errors.length === 1, 'the refusal');
    expect(s.errors).toEqual([{ errorCode: ErrorCode.OFFLINE_BUDGET_EXCEEDED, errorMsg: c }]);
    const used = await budget.used(asUserId(s.uid!));
    expect(used).toBeGreaterThan(2_000);
    expect(used).toBeLessThanOrEqual(3_000);
    await s.send(to, 'c'.repeat(1_000), { fp: c });
    await until(() => s.errors.length === 2, 'the second refusal');
    expect(s.acks).toEqual([a, b]);
    expect(await f.offlineCount(to)).toBe(2);
    // Delivery to an online receiver is not offline storage: not charged, not refused.
    const r = await f.login(uid('online'), 'ws');
    const d = (await s.send(r.uid!, 'd'.repeat(1_000)))!;
    await s.waitForAck(d);
  });

  it('total - while the storage is over its ceiling every offline store is refused with 1035 (server pushes too), live delivery goes on', async () => {
    const ceiling = switchCeiling(true);
    const f = await startGateway({ storageCeiling: ceiling });
    const s = await f.login(uid('snd'), 'ws');
    const r = await f.login(uid('rcv'), 'tcp');
    const away = uid('away');
    const fp = (await s.send(away, 'to be stored'))!;
    await until(() => s.errors.length === 1, 'the refusal');
    expect(s.errors[0]).toEqual({ errorCode: ErrorCode.OFFLINE_STORAGE_FULL, errorMsg: fp });
    expect(await f.offlineCount(away)).toBe(0);
    f.gw.push(away, 'server push');
    await until(async () => (await f.metric('switchboard_messages_lost_total', { reason: 'storage_full' })) === 2, 'the push to be refused');
    const live = (await s.send(r.uid!, 'live'))!;
    await s.waitForAck(live);
    await until(async () => (await f.metric('switchboard_offline_storage_over_ceiling')) === 1, 'the gauge', 3_000);
    ceiling.set(false);
    const again = (await s.send(away, 'to be stored', { fp }))!;
    await s.waitForAck(again);
    expect(await f.offlineCount(away)).toBe(1);
    expect(s.acks).not.toContain(undefined);
  });

  it('receiver check (hook) - an unknown receiver gets 1036 before custody, nothing stored; known ones are stored; answers are cached', async () => {
    const asked: string[] = [];
    const known = new Set<string>();
    const f = await startGateway({
      hooks: {
        receiverExists: async (u) => {
          asked.push(u);
          return known.has(u);
        },
      },
    });
    const s = await f.login(uid('snd'), 'ws');
    const friend = uid('friend');
    known.add(friend);
    const ghost = uid('ghost');
    const fp1 = (await s.send(ghost, 'hello?'))!;
    await until(() => s.errors.length === 1, 'the refusal');
    expect(s.errors[0]).toEqual({ errorCode: ErrorCode.UNKNOWN_RECEIVER, errorMsg: fp1 });
    expect(f.gw.custodyCount).toBe(0);
    const fp2 = (await s.send(ghost, 'hello again?'))!;
    await until(() => s.errors.length === 2, 'the second refusal');
    expect(s.errors[1]?.errorMsg).toBe(fp2);
    const fp3 = (await s.send(friend, 'hi'))!;
    await s.waitForAck(fp3);
    expect(await f.offlineCount(friend)).toBe(1);
    expect(await f.offlineCount(ghost)).toBe(0);
    expect(asked).toEqual([ghost, friend]); // the second message to the ghost used the cached answer
    expect(await f.metric('switchboard_messages_lost_total', { reason: 'unknown_receiver' })).toBe(2);
    // A receiver connected here is never asked about.
    const online = await f.login(uid('online'), 'tcp');
    const fp4 = (await s.send(online.uid!, 'hey'))!;
    await s.waitForAck(fp4);
    expect(asked).not.toContain(online.uid);
    expect(s.acks).toEqual([fp3, fp4]);
  });

  it('receiver check (webhook) - POST {userId} answered {exists}; a slow or broken check fails open (stored) after its timeout', async () => {
    let mode: 'answer' | 'hang' | 'garbage' = 'answer';
    const bodies: string[] = [];
    const server: Server = createServer((req, res) => {
      let b = '';
      req.on('data', (d: Buffer) => (b += d.toString()));
      req.on('end', () => {
        bodies.push(b);
        const { userId } = JSON.parse(b) as { userId: string };
        if (mode === 'hang') return; // never answers
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(mode === 'garbage' ? '{"ok":1}' : JSON.stringify({ exists: userId.startsWith('real-') }));
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    onCleanup(() => {
      server.closeAllConnections();
      server.close();
    });
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/exists`;
    const f = await startGateway({ receiverExists: createReceiverCheckWebhook({ url, timeoutMs: 300 }) });
    const s = await f.login(uid('snd'), 'ws');
    const fake = (await s.send('fake-1', 'x'))!;
    await until(() => s.errors.length === 1, 'the refusal');
    expect(s.errors[0]).toEqual({ errorCode: ErrorCode.UNKNOWN_RECEIVER, errorMsg: fake });
    expect(JSON.parse(bodies[0]!)).toEqual({ userId: 'fake-1' });
    const real = (await s.send('real-1', 'y'))!;
    await s.waitForAck(real);
    mode = 'hang';
    const t0 = Date.now();
    const slow = (await s.send('fake-2', 'z'))!;
    await s.waitForAck(slow, { timeoutMs: 5_000 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    mode = 'garbage';
    const bad = (await s.send('fake-3', 'w'))!;
    await s.waitForAck(bad);
    await quietWindow(100);
    expect(s.errors).toHaveLength(1);
  });
});
