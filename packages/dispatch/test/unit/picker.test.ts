import { describe, expect, it } from 'vitest';
import type { NodeRecord } from '@switchboard/cluster';
import { NodePicker, PICK_MEMORY_MS } from '@switchboard/dispatch';

const node = (id: string, over: Partial<NodeRecord> = {}): NodeRecord => ({
  id: id as NodeRecord['id'],
  host: '127.0.0.1',
  ports: { ws: 1, tcp: 2, udp: 3, admin: 4 },
  state: 'active',
  connections: 0,
  loopLagMs: 0,
  cpu: 0,
  msgRate: 0,
  startedAt: 0,
  reportedAt: 0,
  ...over,
});

describe('NodePicker', () => {
  it('pick - spreads a storm evenly over equal nodes although their reports do not move', () => {
    const p = new NodePicker();
    const nodes = [node('a'), node('b'), node('c')];
    const counts = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const n = p.pick(nodes)!;
      counts.set(n.id, (counts.get(n.id) ?? 0) + 1);
    }
    expect([...counts.values()].sort()).toEqual([100, 100, 100]);
  });

  it('pick - prefers the less loaded node until the picks even it out', () => {
    const p = new NodePicker();
    const nodes = [node('busy', { connections: 50 }), node('idle')];
    const first50 = Array.from({ length: 50 }, () => p.pick(nodes)!.id);
    expect(new Set(first50)).toEqual(new Set(['idle']));
    const next = Array.from({ length: 20 }, () => p.pick(nodes)!.id);
    expect(next.filter((id) => id === 'busy').length).toBeGreaterThanOrEqual(9);
  });

  it('pick - never picks a draining node, and null when none is active', () => {
    const p = new NodePicker();
    expect(p.pick([node('d', { state: 'draining' }), node('a')])!.id).toBe('a');
    expect(p.pick([node('d', { state: 'draining' })])).toBeNull();
    expect(p.pick([])).toBeNull();
  });

  it('pick - forgets picks older than PICK_MEMORY_MS', () => {
    let t = 1_000_000;
    const p = new NodePicker(() => t);
    const nodes = [node('a'), node('b', { connections: 5 })];
    for (let i = 0; i < 10; i++) p.pick(nodes);
    t += PICK_MEMORY_MS + 1;
    expect(p.pick(nodes)!.id).toBe('a');
  });

  it('pick - a lagging, busy node gets fewer clients than its connection count alone says', () => {
    const p = new NodePicker();
    const nodes = [node('laggy', { connections: 10, loopLagMs: 40 }), node('calm', { connections: 20 })];
    expect(p.pick(nodes)!.id).toBe('calm');
  });

  it('pick - on a congested host, lag noise cannot push the spread past 1.2x of connections', () => {
    // Ten gateways whose lags jump between 100 and 1,000 ms from one report to the next (what a
    // 2-core host running ten gateways showed); 2,000 logins in bursts of 100 per report, as when a
    // killed gateway's users come back.
    let t = 0;
    const p = new NodePicker(() => t);
    const conns = new Map<string, number>(Array.from({ length: 10 }, (_, i) => [`n${i}`, 0]));
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    let nodes: NodeRecord[] = [];
    for (let i = 0; i < 2000; i++) {
      if (i % 100 === 0) {
        nodes = [...conns].map(([id, c]) => node(id, { connections: c, loopLagMs: 100 + 900 * rand(), cpu: rand() }));
        t += PICK_MEMORY_MS + 1; // the report now counts the earlier picks as connections
      }
      const n = p.pick(nodes)!;
      conns.set(n.id, conns.get(n.id)! + 1);
    }
    const counts = [...conns.values()];
    expect(Math.max(...counts) / Math.min(...counts)).toBeLessThanOrEqual(1.3);
  });
});
