import { describe, expect, it } from 'vitest';
import { ConfigError } from '@switchboard/core';
import { LoadDriver, pickPeer, randomPeer, type LoadUser } from '../../src/load/load.js';
import { parseBenchArgs } from '../../src/load/args.js';

/** A seeded generator (mulberry32), so the draws are reproducible. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const onNodes = (...nodes: string[]) => nodes.map((node) => ({ node }));

describe('pickPeer', () => {
  it('random - the same draw as randomPeer, whatever the nodes', () => {
    const users = onNodes('a', 'a', 'b', 'b', 'c');
    const r1 = seeded(7);
    const r2 = seeded(7);
    for (let i = 0; i < 200; i++) {
      const self = i % users.length;
      expect(pickPeer(self, users, 'random', r1)).toEqual({ peer: randomPeer(self, users.length, r2), matched: true });
    }
  });

  it('same-node - only users on the sender node, never the sender, every one of them reached', () => {
    const users = onNodes('a', 'b', 'a', 'b', 'a', 'b', 'a', 'c');
    const rnd = seeded(1);
    const seen = new Set<number>();
    for (let i = 0; i < 2_000; i++) {
      const { peer, matched } = pickPeer(0, users, 'same-node', rnd);
      expect(matched).toBe(true);
      expect(peer).not.toBe(0);
      expect(users[peer]!.node).toBe('a');
      seen.add(peer);
    }
    expect([...seen].sort()).toEqual([2, 4, 6]);
  });

  it('cross-node - only users on other nodes, spread over all of them', () => {
    const users = onNodes('a', 'b', 'a', 'b', 'a', 'c');
    const rnd = seeded(2);
    const counts = new Map<number, number>();
    for (let i = 0; i < 3_000; i++) {
      const { peer, matched } = pickPeer(2, users, 'cross-node', rnd);
      expect(matched).toBe(true);
      expect(users[peer]!.node).not.toBe('a');
      counts.set(peer, (counts.get(peer) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual([1, 3, 5]);
    for (const c of counts.values()) expect(c).toBeGreaterThan(800); // about 1000 each
  });

  it('users whose node is unknown are never chosen by same-node or cross-node', () => {
    const users = onNodes('a', '', 'b', '');
    const rnd = seeded(3);
    for (let i = 0; i < 500; i++) {
      expect(pickPeer(0, users, 'cross-node', rnd).peer).toBe(2);
      expect(pickPeer(1, users, 'same-node', rnd).matched).toBe(false);
    }
  });

  it('a rare fit is still found (the scan after the random draws)', () => {
    const users = onNodes(...Array.from({ length: 1_000 }, (_, i) => (i === 0 || i === 777 ? 'rare' : 'x')));
    const rnd = seeded(4);
    for (let i = 0; i < 50; i++) expect(pickPeer(0, users, 'same-node', rnd)).toEqual({ peer: 777, matched: true });
  });

  it('no fitting user - matched false and a random other user', () => {
    const users = onNodes('a', 'a', 'a');
    const rnd = seeded(5);
    for (let i = 0; i < 100; i++) {
      const { peer, matched } = pickPeer(1, users, 'cross-node', rnd);
      expect(matched).toBe(false);
      expect(peer).not.toBe(1);
    }
    expect(pickPeer(0, onNodes('a', 'b'), 'same-node', rnd)).toEqual({ peer: 1, matched: false });
  });
});

class NodeUser implements LoadUser {
  online = true;
  inflight = 0;
  readonly to: number[] = [];
  constructor(
    readonly index: number,
    public node: string,
  ) {}
  sendNew(receiver: number): void {
    this.inflight++;
    this.to.push(receiver);
  }
}

describe('LoadDriver pairing', () => {
  it('closed loop - same-node and cross-node follow the nodes the users are on now', () => {
    for (const pairing of ['same-node', 'cross-node'] as const) {
      const users = Array.from({ length: 20 }, (_, i) => new NodeUser(i, i % 2 ? 'n1' : 'n2'));
      const now = performance.now();
      const d = new LoadDriver(users, { kind: 'closed', inflight: 8 }, { start: now, from: now, to: now + 60_000 }, pairing);
      d.start();
      for (const u of users) {
        expect(u.to).toHaveLength(8);
        for (const r of u.to) expect(users[r]!.node === u.node).toBe(pairing === 'same-node');
      }
      // user 0 reconnects elsewhere: its next receivers follow its new node
      users[0]!.node = 'n1';
      users[0]!.to.length = 0;
      users[0]!.inflight = 0;
      d.topUp(users[0]!);
      for (const r of users[0]!.to) expect(users[r]!.node === 'n1').toBe(pairing === 'same-node');
      expect(d.pairingMisses).toBe(0);
      d.stop();
    }
  });

  it('default - random peers, as before (both nodes reached)', () => {
    const users = Array.from({ length: 20 }, (_, i) => new NodeUser(i, i % 2 ? 'n1' : 'n2'));
    const now = performance.now();
    const d = new LoadDriver(users, { kind: 'closed', inflight: 50 }, { start: now, from: now, to: now + 60_000 });
    d.start();
    const to = users[0]!.to;
    expect(to.some((r) => users[r]!.node === 'n1')).toBe(true);
    expect(to.some((r) => users[r]!.node === 'n2')).toBe(true);
    expect(to.every((r) => r !== 0)).toBe(true);
    d.stop();
  });

  it('open loop - cross-node with every user on one node counts the misses', async () => {
    const users = Array.from({ length: 4 }, (_, i) => new NodeUser(i, 'only'));
    const now = performance.now();
    const d = new LoadDriver(users, { kind: 'open', ratePerSec: 1_000 }, { start: now, from: now, to: now + 50 }, 'cross-node');
    d.start();
    while (d.running) await new Promise((r) => setTimeout(r, 10));
    const sent = users.reduce((n, u) => n + u.to.length, 0);
    expect(sent).toBeGreaterThan(0);
    expect(d.pairingMisses).toBe(sent);
  });

  it('--peers - each sender writes to its K contacts only, all of them, chosen by the pairing', () => {
    const users = Array.from({ length: 40 }, (_, i) => new NodeUser(i, i % 2 ? 'n1' : 'n2'));
    const now = performance.now();
    const d = new LoadDriver(users, { kind: 'closed', inflight: 400 }, { start: now, from: now, to: now + 60_000 }, 'cross-node', 5, seeded(3));
    d.start();
    const all = new Set<string>();
    for (const u of users) {
      const contacts = new Set(u.to);
      expect(contacts.size).toBe(5); // 400 messages over 5 contacts reach every one of them
      for (const r of contacts) {
        expect(r).not.toBe(u.index);
        expect(users[r]!.node).not.toBe(u.node);
        all.add(`${u.index}>${r}`);
      }
    }
    expect(all.size).toBe(40 * 5); // at most users x peers conversations
    expect(d.pairingMisses).toBe(0);
    d.stop();
  });

  it('--peers larger than the users that fit - as many contacts as there are', () => {
    const users = Array.from({ length: 6 }, (_, i) => new NodeUser(i, i < 2 ? 'a' : 'b'));
    const now = performance.now();
    const d = new LoadDriver(users, { kind: 'closed', inflight: 200 }, { start: now, from: now, to: now + 60_000 }, 'same-node', 4, seeded(4));
    d.start();
    expect(new Set(users[0]!.to)).toEqual(new Set([1]));
    expect(new Set(users[2]!.to)).toEqual(new Set([3, 4, 5]));
    d.stop();
  });
});

describe('--pairing', () => {
  const parse = (argv: string[]) => {
    const r = parseBenchArgs(argv);
    if (r.help) throw new Error('unexpected help');
    return r.options;
  };
  const problems = (argv: string[]): readonly string[] => {
    try {
      parseBenchArgs(argv);
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    throw new Error('expected a ConfigError');
  };

  it('defaults to random; same-node / cross-node with a cluster or a dispatch', () => {
    expect(parse(['--spawn-cluster', '2']).pairing).toBe('random');
    expect(parse(['--spawn-standalone']).pairing).toBe('random');
    expect(parse(['--spawn-cluster', '2', '--pairing', 'cross-node']).pairing).toBe('cross-node');
    expect(parse(['--spawn-cluster', '1', '--pairing', 'same-node']).pairing).toBe('same-node');
    expect(parse(['--dispatch', 'http://127.0.0.1:8080', '--pairing', 'cross-node']).pairing).toBe('cross-node');
  });

  it('rejects unknown values, targets without node knowledge and cross-node on one gateway', () => {
    expect(problems(['--spawn-cluster', '2', '--pairing', 'nearby']).join()).toMatch(/--pairing: one of random, same-node, cross-node/);
    expect(problems(['--spawn-standalone', '--pairing', 'same-node']).join()).toMatch(/needs --spawn-cluster N or --dispatch URL/);
    expect(problems(['--ws', 'ws://127.0.0.1:1/websocket', '--pairing', 'cross-node']).join()).toMatch(/needs --spawn-cluster/);
    expect(problems(['--spawn-cluster', '1', '--pairing', 'cross-node']).join()).toMatch(/N >= 2/);
  });

  it('--peers defaults to 0 (any other user) and is at most users - 1', () => {
    expect(parse(['--spawn-standalone']).peers).toBe(0);
    expect(parse(['--spawn-standalone', '--users', '100', '--peers', '20']).peers).toBe(20);
    expect(problems(['--spawn-standalone', '--users', '10', '--peers', '10']).join()).toMatch(/--peers/);
    expect(problems(['--spawn-standalone', '--peers', '2.5']).join()).toMatch(/--peers/);
  });
});
