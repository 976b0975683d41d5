import { loadScore, type NodeRecord } from '@switchboard/cluster';
import type { NodeId } from '@switchboard/core';

/** How long a pick counts against its node: load reports are up to a second old, plus connect time. */
export const PICK_MEMORY_MS = 5_000;

/**
 * Chooses the least-loaded active gateway. Load reports lag by up to a report interval, so every
 * pick made since a node's last report is added to its score: a login storm spreads over all
 * nodes instead of piling onto the one that looked idle a second ago.
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
      const score = loadScore(n) + this.recentPicks(n.id, Math.max(n.reportedAt, t - PICK_MEMORY_MS));
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

  /** Picks of `id` made after `since` (ms); forgets older ones. */
  private recentPicks(id: NodeId, since: number): number {
    const list = this.picks.get(id);
    if (!list) return 0;
    const cutoff = this.now() - PICK_MEMORY_MS;
    while (list.length > 0 && list[0]! < cutoff) list.shift();
    let n = 0;
    for (let i = list.length - 1; i >= 0 && list[i]! > since; i--) n++;
    return n;
  }
}
