import { afterEach, describe, expect, it } from 'vitest';
import { MemoryGroupStore, MemoryHistoryStore } from '@switchboard/cluster';
import { asUserId } from '@switchboard/core';
import { MemoryEventSink, type PushNeeded } from '../../src/index.js';
import { cleanup, quietWindow, startGateway, uid, until } from '../fixtures.js';

// The offline-push hook (docs/presence.md): messages stored for offline users become push.needed
// (event and onPushNeeded hook), one per user per window, with the newest sender and preview.

/** The SDK's delivery-receipt typeu (@switchboard/client DEFAULT_RECEIPT_TYPEU): a control message. */
const RECEIPT_TYPEU = -101;

afterEach(cleanup);

describe('push.needed', () => {
  it('c2c - one event per offline user per window with the count, the newest sender and preview; the hook gets the same', async () => {
    const events = new MemoryEventSink();
    const hooked: PushNeeded[] = [];
    const f = await startGateway({ events, pushWindowMs: 300, hooks: { onPushNeeded: (p) => hooked.push(p) } });
    const [a, c, off, on] = [uid('a'), uid('c'), uid('off'), uid('on')];
    const ca = await f.login(a, 'ws');
    const cc = await f.login(c, 'tcp');
    await f.login(on, 'ws');
    await ca.waitForAck(await ca.send(off, 'first'));
    await ca.waitForAck(await ca.send(off, 'second'));
    await cc.waitForAck(await cc.send(off, 'x'.repeat(500)));
    await ca.waitForAck(await ca.send(on, 'online: no push'));
    // A control message (a receipt) wakes nobody.
    await ca.waitForAck(await ca.send(off, 'fp-of-something', { typeu: RECEIPT_TYPEU }));
    await until(() => events.ofType('push.needed').length === 1, 'the batched event');
    const [e] = events.ofType('push.needed');
    expect(e).toMatchObject({ type: 'push.needed', user: off, from: c, count: 3, preview: 'x'.repeat(100), nodeId: f.gw.nodeId });
    expect(e!.id).toMatch(/^[0-9a-f]{32}$/);
    expect(hooked).toEqual([{ user: off, from: c, count: 3, preview: 'x'.repeat(100), fp: e!.fp }]);
    await quietWindow(400);
    expect(events.ofType('push.needed')).toHaveLength(1);
    // A new window after the first one closed.
    await ca.waitForAck(await ca.send(off, 'later'));
    await until(() => events.ofType('push.needed').length === 2, 'the second window');
    expect(events.ofType('push.needed')[1]).toMatchObject({ user: off, from: a, count: 1, preview: 'later' });
  });

  it('preview off, window 0 - one event per message without text', async () => {
    const events = new MemoryEventSink();
    const optioned: PushNeeded[] = [];
    const f = await startGateway({ events, pushWindowMs: 0, pushPreview: false, onPushNeeded: (p) => optioned.push(p) });
    const [a, off] = [uid('a'), uid('off')];
    const ca = await f.login(a, 'ws');
    await ca.waitForAck(await ca.send(off, 'secret 1'));
    await ca.waitForAck(await ca.send(off, 'secret 2'));
    await until(() => events.ofType('push.needed').length === 2, 'two events');
    for (const e of events.ofType('push.needed')) {
      expect(e).toMatchObject({ user: off, from: a, count: 1 });
      expect(e.preview).toBeUndefined();
      expect(JSON.stringify(e)).not.toContain('secret');
    }
    expect(optioned.map((p) => p.count)).toEqual([1, 1]);
  });

  it('group - an offline member (catch-up pending) gets push.needed with the group; online members do not', async () => {
    const events = new MemoryEventSink();
    const groups = new MemoryGroupStore();
    const f = await startGateway({ events, pushWindowMs: 100, groups, history: new MemoryHistoryStore() });
    const [a, b, off] = [uid('a'), uid('b'), uid('off')];
    await groups.put('team', { name: 'Team', members: [a, b, off].map(asUserId) }, 0);
    const ca = await f.login(a, 'ws');
    await f.login(b, 'ws');
    await ca.waitForAck(await ca.send('g:team', 'hello team'));
    await until(() => events.ofType('push.needed').length === 1, 'the group push');
    expect(events.ofType('push.needed')[0]).toMatchObject({ user: off, from: a, group: 'team', count: 1, preview: 'hello team' });
  });

  it('close - open windows are reported at close, and no timer is left behind', async () => {
    const events = new MemoryEventSink();
    const f = await startGateway({ events, pushWindowMs: 60_000 });
    const [a, off] = [uid('a'), uid('off')];
    const ca = await f.login(a, 'ws');
    await ca.waitForAck(await ca.send(off, 'm'));
    expect(f.gw.pushNeeded.pending).toBe(1);
    await f.gw.close();
    expect(f.gw.pushNeeded.pending).toBe(0);
    expect(events.ofType('push.needed')).toHaveLength(1);
  });
});
