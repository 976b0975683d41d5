import { loadScore, type NodeRecord } from '@switchboard/cluster';
import type { NodeId } from '@switchboard/core';

/** How long a pick counts against its node: load reports are up to a second old, plus connect time. */
export const PICK_MEMORY_MS = 5_000;

/**
 * Chooses the least-loaded active gateway. Load reports lag by up to a report interval and a
 * client connects a moment after its pick, so every pick of the last PICK_MEMORY_MS counts as a
 * connection on top of the node's score: a login storm spreads over all nodes instead of piling
 * onto the one that looked idle a second ago. (Picks that did connect are briefly counted twice;
 * that only makes the spread more even.)
 */
export class NodePicker {
  private picks = new Map<NodeId, number[]>();

  constructor(private readonly now: () => number = Date.now) {}

  pick(nodes: readonly NodeRecord[]): NodeRecord | null {
    const t = this.now();
    let best: NodeRecord | null = null;
    let bestScore = Infinity;
    let ties = 0;
    for (const n of nodes) {
      if (n.state !== 'active') continue;
      const score = loadScore(n) + this.recentPicks(n.id);
      if (score < bestScore) {
        best = n;
        bestScore = score;
        ties = 1;
      } else if (score === bestScore) {
        // Reservoir choice among equals, so equal nodes share the load.
        ties++;
        if (Math.random() * ties < 1) best = n;
      }
    }
    if (best) {
      const list = this.picks.get(best.id) ?? [];
      list.push(t);
      this.picks.set(best.id, list);
    }
    return best;
  }

  /** Picks of `id` within the last PICK_MEMORY_MS; forgets older ones. */
  private recentPicks(id: NodeId): number {
    const list = this.picks.get(id);
    if (!list) return 0;
    const cutoff = this.now() - PICK_MEMORY_MS;
    let drop = 0;
    while (drop < list.length && list[drop]! < cutoff) drop++;
    if (drop > 0) list.splice(0, drop);
    return list.length;
  }
}
