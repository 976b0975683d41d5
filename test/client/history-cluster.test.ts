import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SendResult } from '@switchboard/client';
import { wsTransport } from '@switchboard/client/node';
import { waitFor } from '@switchboard/core';
import { TestCluster } from '../cluster/harness.js';
import { LossyTransport, recordingFetch } from './lossy-transport.js';
import { ofType, Users } from './users.js';

// The SDK's ordering by history seq on a real cluster (dispatch + 2 gateways, Redis history): the
// receiver's link loses a few messages and then its gateway is SIGKILLed in the middle of a stream;
// with the hole filled from history, the offline queue, live messages and the catch-up after the
// reconnect all at once, the receiver's app sees every message exactly once, in seq order.

let cluster: TestCluster;
const users = new Users(() => ({ transport: 'ws', reconnect: { initialDelayMs: 200, maxDelayMs: 1_000 } }));
const user = users.add.bind(users);

beforeAll(async () => {
  // Messages for the dead node's users are stored offline (and acked) within about a second.
  cluster = await TestCluster.start('client-history', { gateways: 2, env: { IM_CUSTODY_RESEND_MS: '300', IM_CUSTODY_GIVE_UP_MS: '900' } });
});
afterAll(async () => {
  await users.closeAll();
  await cluster?.stop();
});

describe('client SDK ordering on a cluster', () => {
  it('SIGKILL mid-stream - the receiver gets every message of the conversation once, in seq order', async () => {
    // The link loses the first delivery of seqs 41–45, just before the kill (never acked, so the
    // cluster stores them offline and delivers them again after the re-login, behind later ones).
    const wire = new LossyTransport(wsTransport());
    const lostOnce = new Set([41, 42, 43, 44, 45]);
    wire.drop = (p) => p.seq !== undefined && lostOnce.delete(p.seq);
    const api = recordingFetch();
    const rita = user('hc-rita', { dispatchUrl: cluster.dispatchUrl, transport: wire, fetch: api.fetch });
    await rita.c.connect();
    const victim = cluster.gateways.find((g) => g.nodeId === rita.c.node)!;
    expect(victim, `rita's node ${rita.c.node} is one of the cluster's`).toBeDefined();
    const other = cluster.gateways.find((g) => g !== victim)!;
    // The sender sits on the node that survives.
    const sam = user('hc-sam', { server: { ws: `ws://127.0.0.1:${other.ports.ws}/websocket` } });
    await sam.c.connect();

    // A steady stream: 10 messages in flight at any time, each next one sent when one is acked.
    const TOTAL = 200;
    const WINDOW = 10;
    const sent: Array<{ content: string; result: SendResult }> = [];
    let next = 0;
    const worker = async () => {
      while (next < TOTAL) {
        const content = `m${next++}`;
        sent.push({ content, result: await sam.c.send('hc-rita', content) });
      }
    };
    const stream = Promise.all(Array.from({ length: WINDOW }, worker));
    // The kill comes once messages after the hole arrived: held by the SDK until history fills it.
    await waitFor(() => wire.arrivals.some((seq) => seq !== null && seq > 45), { what: 'messages after the hole' });
    victim.proc.kill('SIGKILL');
    await stream;

    await waitFor(() => rita.c.state === 'online' && ofType(rita.events, 'message').length >= TOTAL, { timeoutMs: 30_000, intervalMs: 100, what: 'every message at rita' });
    expect(rita.c.node).toBe(other.nodeId);
    expect(ofType(rita.events, 'login').at(-1)?.relogin).toBe(true);

    // The order history gave them (each send resolved with its seq) is the order rita's app saw.
    const bySeq = sent.sort((a, b) => a.result.seq! - b.result.seq!).map((s) => [s.result.seq, s.content]);
    expect(bySeq.map(([seq]) => seq)).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1));
    const got = ofType(rita.events, 'message').map((e) => [e.message.seq, e.message.content]);
    expect(got).toEqual(bySeq);
    expect(new Set(ofType(rita.events, 'message').map((e) => e.message.fp)).size).toBe(TOTAL);
    expect(ofType(rita.events, 'gap')).toEqual([]);
    expect(ofType(sam.events, 'lost')).toEqual([]);
    expect(wire.dropped.map((p) => p.seq)).toEqual([41, 42, 43, 44, 45]);
    // The hole was filled from history; after the re-login she asked for her conversations.
    expect(api.requests.some((r) => r.startsWith('GET /api/history?peer=hc-sam&before='))).toBe(true);
    expect(api.requests).toContain('GET /api/conversations?limit=50');
  });
});
