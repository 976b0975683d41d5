import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@switchboard/core';
import { PacketType } from '@switchboard/protocol';
import type { TestClient } from '@switchboard/testkit';
import { TestCluster } from './harness.js';

interface HistoryMessage {
  seq: number;
  fp: string;
  from: string;
  to: string;
  dataContent: string;
  typeu: number;
  sentAt: number;
}

/** The whole conversation of `uid` with `peer` through dispatch's user API (IM_AUTH=none: the token is the user id), oldest first. */
async function wholeHistory(cluster: TestCluster, uid: string, peer: string): Promise<HistoryMessage[]> {
  const out: HistoryMessage[] = [];
  let before: number | undefined;
  for (;;) {
    const q = new URLSearchParams({ peer, limit: '200', ...(before === undefined ? {} : { before: String(before) }) });
    const res = await fetch(`${cluster.dispatchUrl}/api/history?${q}`, { headers: { authorization: `Bearer ${uid}` } });
    if (!res.ok) throw new Error(`/api/history answered ${res.status}: ${await res.text()}`);
    const page = ((await res.json()) as { messages: HistoryMessage[] }).messages;
    out.unshift(...page);
    if (page.length < 200) return out;
    before = page[0]!.seq;
  }
}

const acksOf = (c: TestClient) => c.packets.filter((p) => p.type === PacketType.ACK);

describe('history in a cluster', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start('history', { gateways: 2 });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('concurrent senders on different gateways - one conversation gets seq 1..N, unique and gap-free, each acked with its seq', async () => {
    const [g1, g2] = cluster.gateways as [NonNullable<(typeof cluster.gateways)[0]>, NonNullable<(typeof cluster.gateways)[1]>];
    const alice = await cluster.clientOn(g1, 'h-alice', 'ws');
    const bob = await cluster.clientOn(g2, 'h-bob', 'tcp');
    const n = 150;
    const sends = async (from: TestClient, to: string) => {
      const fps: string[] = [];
      for (let i = 0; i < n; i++) fps.push(await from.send(to, `${from.uid} ${i}`));
      return fps;
    };
    const [fromAlice, fromBob] = await Promise.all([sends(alice, 'h-bob'), sends(bob, 'h-alice')]);
    await waitFor(() => acksOf(alice).length >= n && acksOf(bob).length >= n, { timeoutMs: 30_000, what: 'every message acked' });
    const all = await wholeHistory(cluster, 'h-alice', 'h-bob');
    expect(all.map((m) => m.seq)).toEqual(Array.from({ length: 2 * n }, (_, i) => i + 1));
    expect(new Set(all.map((m) => m.fp))).toEqual(new Set([...fromAlice, ...fromBob]));
    const seqByFp = new Map(all.map((m) => [m.fp, m.seq]));
    for (const ack of [...acksOf(alice), ...acksOf(bob)]) expect(ack.seq).toBe(seqByFp.get(ack.dataContent!));
    // Each side's own messages keep their send order.
    for (const fps of [fromAlice, fromBob]) {
      const seqs = fps.map((fp) => seqByFp.get(fp)!);
      expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    }
    // Bob's view of the same conversation is the same list.
    expect(await wholeHistory(cluster, 'h-bob', 'h-alice')).toEqual(all);
    await Promise.all([alice.close(), bob.close()]);
  });

  it('SIGKILL of the sender\'s gateway - every message acked before the kill is in history', async () => {
    const victim = await cluster.addGateway();
    await cluster.waitForNodes(3);
    const carol = await cluster.clientOn(victim, 'h-carol', 'ws');
    const sent: string[] = [];
    let stop = false;
    // 100 messages a second, half the per-connection rate limit, until the kill.
    const loop = (async () => {
      for (let i = 0; !stop; i++) {
        sent.push(await carol.send('h-dave', `before the kill ${i}`).catch(() => ''));
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    await waitFor(() => acksOf(carol).length >= 100, { timeoutMs: 20_000, what: '100 acked messages' });
    victim.proc.kill('SIGKILL');
    stop = true;
    await loop.catch(() => {});
    const acked = new Set(acksOf(carol).map((a) => a.dataContent!));
    const history = await wholeHistory(cluster, 'h-dave', 'h-carol');
    const inHistory = new Set(history.map((m) => m.fp));
    expect([...acked].filter((fp) => !inHistory.has(fp))).toEqual([]);
    expect(history.map((m) => m.seq)).toEqual(Array.from({ length: history.length }, (_, i) => i + 1));
  });
});
