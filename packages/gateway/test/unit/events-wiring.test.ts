import { afterEach, describe, expect, it } from 'vitest';
import { MemoryEventSink } from '../../src/index.js';
import { cleanup, startGateway, uid, quietWindow } from '../fixtures.js';

afterEach(cleanup);

describe('Gateway events', () => {
  it('c2s - acked only after the event is published; a failed publish is not acked, the resend is', async () => {
    const events = new MemoryEventSink();
    const gw = await startGateway({ events });
    const a = uid('alice');
    const alice = await gw.login(a, 'ws');
    events.delayMs = 200;
    const t0 = performance.now();
    const fp = await alice.send('0', 'cmd');
    await alice.waitForAck(fp);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
    events.delayMs = 0;
    events.failNextPublish();
    const fp2 = await alice.send('0', 'cmd2');
    await quietWindow(300);
    expect(alice.acks.includes(fp2)).toBe(false);
    expect(alice.acks.includes(fp)).toBe(true);
    await alice.send('0', 'cmd2', { fp: fp2 });
    await alice.waitForAck(fp2);
    await alice.send('0', 'cmd2', { fp: fp2 });
    await quietWindow(100);
    expect(events.ofType('c2s').map((e) => e.fp)).toEqual([fp, fp2]);
    expect(events.ofType('login')).toHaveLength(1);
  });
});
