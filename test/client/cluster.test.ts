import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeClientOptions } from '@switchboard/client/node';
import { waitFor } from '@switchboard/core';
import { TestCluster } from '../cluster/harness.js';
import { ofType, Users } from './users.js';

// The SDK on a real cluster (dispatch + 2 gateways on Redis and RabbitMQ): the gateway a client is
// on is SIGKILLed mid-traffic; the client must come back through dispatch on the other node and
// settle every message it had in flight: acked, or reported lost — never silently dropped.

let cluster: TestCluster;
const users = new Users(() => ({ reconnect: { initialDelayMs: 200, maxDelayMs: 1_000 } }));

function user(uid: string, transport: 'ws' | 'tcp', target: Partial<NodeClientOptions> = { dispatchUrl: cluster.dispatchUrl }) {
  return users.add(uid, { transport, ...target });
}

beforeAll(async () => {
  cluster = await TestCluster.start('client-sdk', { gateways: 2 });
});
afterAll(async () => {
  await users.closeAll();
  await cluster?.stop();
});

describe('client SDK on a cluster', () => {
  it('SIGKILL - the client reconnects through dispatch to the other node; every pending message is acked or reported lost, none dropped', async () => {
    const alice = user('cl-alice', 'ws');
    await alice.c.connect();
    const victim = cluster.gateways.find((g) => g.nodeId === alice.c.node);
    expect(victim, `alice's node ${alice.c.node} is one of the cluster's`).toBeDefined();
    // A peer on the other node, connected to it directly (a fixed server, no dispatch) so the
    // test does not depend on where dispatch would put it.
    const other = cluster.gateways.find((g) => g !== victim)!;
    const bob = user('cl-bob', 'tcp', { server: { tcp: { host: '127.0.0.1', port: other.ports.tcp } } });
    await bob.c.connect();
    const bobUid = bob.c.uid;
    const firstLogin = alice.c.firstLoginTime;

    // Traffic both ways, then the kill while alice's latest messages are still in flight.
    type Outcome = { fp: string | null; status: 'acked' | 'lost' | 'pending' };
    const outcomes: Outcome[] = [];
    const track = (p: Promise<{ fp: string | null }>) => {
      const o: Outcome = { fp: null, status: 'pending' };
      outcomes.push(o);
      p.then(
        (r) => Object.assign(o, { fp: r.fp, status: 'acked' }),
        (err: { fp?: string }) => Object.assign(o, { fp: err.fp ?? null, status: 'lost' }),
      );
    };
    for (let i = 0; i < 20; i++) track(alice.c.send(bobUid, `before ${i}`));
    const fromBob = Array.from({ length: 10 }, (_, i) => bob.c.send('cl-alice', `bob ${i}`));
    await waitFor(() => outcomes.filter((o) => o.status === 'acked').length >= 10, { what: 'some acks before the kill' });
    for (let i = 0; i < 20; i++) track(alice.c.send(bobUid, `in flight ${i}`));
    const pendingAtKill = alice.c.pendingCount;
    victim!.proc.kill('SIGKILL');
    expect(pendingAtKill).toBeGreaterThan(0);
    await waitFor(() => alice.c.state === 'reconnecting', { what: 'alice notices the dead node' });
    // Sent while alice has no connection: they wait for the re-login.
    for (let i = 0; i < 10; i++) track(alice.c.send(bobUid, `during ${i}`));
    // Bob keeps talking to alice while she is away: the cluster acks (stored offline) and delivers later.
    const fromBobDuring = Array.from({ length: 5 }, (_, i) => bob.c.send('cl-alice', `bob during ${i}`));

    await waitFor(() => alice.c.state === 'online', { timeoutMs: 15_000, what: 'alice online again' });
    expect(alice.c.node).toBe(other.nodeId);
    const relogin = ofType(alice.events, 'login').at(-1)!;
    expect(relogin).toMatchObject({ relogin: true, firstLoginTime: firstLogin });

    // Every message settles: acked or reported lost, within MobileIMSDK's loss window.
    await waitFor(() => outcomes.every((o) => o.status !== 'pending'), { timeoutMs: 25_000, intervalMs: 100, what: 'every send settled' });
    const lost = outcomes.filter((o) => o.status === 'lost');
    expect(ofType(alice.events, 'lost').map((e) => e.fp).sort()).toEqual(lost.map((o) => o.fp).sort());
    expect(alice.c.pendingCount).toBe(0);
    // In practice none is lost: the new node delivers or stores each resend.
    expect(lost).toEqual([]);
    await expect(Promise.all([...fromBob, ...fromBobDuring])).resolves.toHaveLength(15);

    // Each acked message reached bob's app exactly once (the SDK drops duplicate resends).
    const bobGot = ofType(bob.events, 'message').map((e) => e.message.fp);
    expect(new Set(bobGot).size).toBe(bobGot.length);
    for (const o of outcomes) expect(bobGot, `message ${o.fp}`).toContain(o.fp);
    // And alice got all of bob's, including those sent while she was away.
    await waitFor(() => ofType(alice.events, 'message').length === 15, { timeoutMs: 10_000, what: "all of bob's messages" });
    const aliceGot = ofType(alice.events, 'message').map((e) => e.message.content);
    expect(new Set(aliceGot).size).toBe(15);
  });
});
