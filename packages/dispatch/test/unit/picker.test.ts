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
});
