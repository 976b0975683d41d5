import type { NodeRecord } from '@switchboard/cluster';

/** One sample of cluster totals. */
export interface StatsSample {
  t: number;
  gateways: number;
  connections: number;
  msgRate: number;
}

/** How often dispatch samples the cluster, and how many samples it keeps (10 minutes). */
export const STATS_SAMPLE_INTERVAL_MS = 2_000;
export const STATS_HISTORY_SAMPLES = 300;

/** Cluster totals over time, for GET /admin/stats and the dashboard's charts. */
export class StatsHistory {
  private samples: StatsSample[] = [];

  add(nodes: readonly NodeRecord[], t = Date.now()): StatsSample {
    const s = totals(nodes, t);
    this.samples.push(s);
    if (this.samples.length > STATS_HISTORY_SAMPLES) this.samples.shift();
    return s;
  }

  list(): StatsSample[] {
    return [...this.samples];
  }
}

export function totals(nodes: readonly NodeRecord[], t = Date.now()): StatsSample {
  let connections = 0;
  let msgRate = 0;
  for (const n of nodes) {
    connections += n.connections;
    msgRate += n.msgRate;
  }
  return { t, gateways: nodes.length, connections, msgRate };
}
