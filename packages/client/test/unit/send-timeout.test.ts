import { afterEach, describe, expect, it } from 'vitest';
import { ackPacket, PacketType } from '@switchboard/protocol';
import { ClientErrorCode, MessageLostError, MessageStore } from '../../src/index.js';
import { FakeGateway } from './fake-gateway.js';
import { PATIENT_QOS, client, closeAllAndStop, ofType, sleep, stops, until } from './helpers.js';

// send(..., { timeoutMs }) and the sendTimeoutMs option: a deadline for the ack, reported like any loss.

afterEach(closeAllAndStop);

async function silentGateway(): Promise<FakeGateway> {
  const g = await FakeGateway.start({ ackData: false });
  stops.push(g);
  return g;
}

describe('send timeout', () => {
  it('timeoutMs - no ack in time: rejects MessageLostError (timeout, saying so), reports lost, stops resending; a late ack is ignored', async () => {
    const g = await silentGateway();
    const { c, events } = client({ uid: 'alice', server: { ws: g.wsUrl }, qos: PATIENT_QOS });
    await c.connect();
    const t0 = Date.now();
    const err = (await c.send('bob', 'quick?', { timeoutMs: 100 }).catch((e: unknown) => e)) as MessageLostError;
    expect(Date.now() - t0).toBeLessThan(800); // well before the QoS retries would give up
    expect(err).toBeInstanceOf(MessageLostError);
    expect(err.code).toBe(ClientErrorCode.MESSAGE_LOST);
    expect(err.reason).toBe('timeout');
    expect(err.retryable).toBe(true);
    expect(err.message).toBe(`message ${err.fp} to bob lost (timeout: no ack within 100 ms)`);
    expect(ofType(events, 'lost')).toEqual([{ type: 'lost', fp: err.fp, to: 'bob', content: 'quick?', typeu: -1, reason: 'timeout', error: err }]);
    expect(c.pendingCount).toBe(0);
    g.live[0]!.send(ackPacket('bob', 'alice', err.fp));
    await sleep(1_200); // past a QoS tick: nothing resent
    expect(ofType(events, 'acked')).toEqual([]);
    expect(g.received(PacketType.DATA)).toHaveLength(1);
  });

  it('sendTimeoutMs - the client default applies to every send; a send acked in time resolves and is not lost later', async () => {
    const g = await silentGateway();
    const { c, events } = client({ uid: 'alice', server: { ws: g.wsUrl }, qos: PATIENT_QOS, sendTimeoutMs: 150 });
    await c.connect();
    await expect(c.sendToGroup('team', 'to the group')).rejects.toThrow(/lost \(timeout: no ack within 150 ms\)/);
    g.ackData = true;
    await expect(c.send('bob', 'acked')).resolves.toMatchObject({ acked: true });
    await sleep(250);
    expect(ofType(events, 'lost').map((e) => e.content)).toEqual(['to the group']);
    // Infinity overrides the default: no deadline.
    g.ackData = false;
    const waiting = c.send('bob', 'patient', { timeoutMs: Infinity });
    await sleep(300);
    expect(c.pendingCount).toBe(1);
    g.live[0]!.send(ackPacket('bob', 'alice', c.pendingFingerprints()[0]!));
    await expect(waiting).resolves.toMatchObject({ acked: true });
  });

  it('timeoutMs - while reconnecting the deadline runs too; a bad value rejects INVALID_ARGUMENT and sends nothing', async () => {
    const g = await silentGateway();
    const { c } = client({ uid: 'alice', server: { ws: g.wsUrl }, qos: PATIENT_QOS });
    for (const bad of [0, -5, Number.NaN, '100' as unknown as number]) {
      await expect(c.send('bob', 'x', { timeoutMs: bad })).rejects.toMatchObject({ code: ClientErrorCode.NOT_CONNECTED }); // not started yet
    }
    await c.connect();
    for (const bad of [0, -5, Number.NaN, '100' as unknown as number]) {
      await expect(c.send('bob', 'x', { timeoutMs: bad })).rejects.toMatchObject({ code: ClientErrorCode.INVALID_ARGUMENT, message: /timeoutMs must be a positive number/ });
    }
    expect(c.pendingCount).toBe(0);
    expect(g.received(PacketType.DATA)).toEqual([]);
    await g.stop();
    await until(() => c.state === 'reconnecting', 'reconnecting');
    await expect(c.send('bob', 'offline', { timeoutMs: 80 })).rejects.toMatchObject({ reason: 'timeout' });
  });

  it('MessageStore - a message past its deadline turns failed', async () => {
    const g = await silentGateway();
    const { c } = client({ uid: 'alice', server: { ws: g.wsUrl }, qos: PATIENT_QOS });
    const store = new MessageStore(c);
    await c.connect();
    const m = store.send('bob', 'hello?', { timeoutMs: 80 });
    await until(() => store.conversation('bob').find((x) => x.id === m.id)?.state === 'failed', 'failed');
    expect(store.conversation('bob')[0]).toMatchObject({ state: 'failed', error: 'timeout' });
    store.detach();
  });
});
