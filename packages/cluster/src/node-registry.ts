import type { NodeId } from '@switchboard/core';

export type NodeState = 'active' | 'draining';

/** What a gateway reports about itself every second. */
export interface NodeRecord {
  id: NodeId;
  /** Host name dispatch hands to clients. */
  host: string;
  ports: { ws: number; tcp: number; udp: number; admin: number };
  state: NodeState;
  connections: number;
  /** Event-loop lag, ms (p99 over the last interval). */
  loopLagMs: number;
  /** Process CPU use over the last interval, 0..1 per core. */
  cpu: number;
  /** Messages handled per second over the last interval. */
  msgRate: number;
  startedAt: number;
  /** The gateway serves TLS: `wss://` on its WebSocket port and TLS on its TCP port. Absent: plain. */
  tls?: boolean;
  /** The WebSocket URL to hand out instead of the one built from host and port (a TLS-terminating proxy's). */
  wsUrl?: string;
  /** When this record was written (ms since epoch); set by the registry. */
  reportedAt: number;
}

/**
 * Live gateways (architecture §3). A node's record expires `ttlMs` after its last report, so a
 * crashed node disappears on its own; a leaving node removes itself at once.
 */
export interface NodeRegistry {
  /** Write (upsert) this node's record with an expiry. */
  report(record: Omit<NodeRecord, 'reportedAt'>, ttlMs: number): Promise<void>;
  /** Every live (unexpired) node, in no particular order. */
  list(): Promise<NodeRecord[]>;
  /** One live node, or null when expired or unknown. */
  get(id: NodeId): Promise<NodeRecord | null>;
  /** Remove a node's record now (clean exit). */
  remove(id: NodeId): Promise<void>;
  /**
   * Ids of nodes whose records expired without `remove` (crashed), so a sweeper can purge their
   * routes. Each id is returned until `forget(id)` is called.
   */
  listExpired(): Promise<NodeId[]>;
  forget(id: NodeId): Promise<void>;
  /** Ask a node to drain (set by dispatch's admin API; the node sees it on its next report). */
  requestDrain(id: NodeId): Promise<void>;
  /** Whether someone asked this node to drain. */
  drainRequested(id: NodeId): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Load score used by dispatch: lower is better. Connections dominate; event-loop lag (ms) and cpu
 * (cores busy) add the equivalent of extra connections, so a node that is busy for another reason
 * gets fewer new clients. That extra is capped at LOAD_PENALTY_SHARE of the node's connections (at
 * least LOAD_PENALTY_FLOOR): on a congested host every gateway's lag swings by hundreds of ms from
 * one report to the next, and an uncapped lag term let that noise, not connections, decide the
 * picks (1.5x spreads over ten gateways). With the cap, nodes stay within about 1.2x of each other.
 */
export function loadScore(n: Pick<NodeRecord, 'connections' | 'loopLagMs' | 'cpu'>): number {
  const busy = n.loopLagMs * 2 + n.cpu * 20;
  return n.connections + Math.min(busy, Math.max(LOAD_PENALTY_FLOOR, n.connections * LOAD_PENALTY_SHARE));
}

/** The most lag and cpu can add to a node's score, as a share of its connections… */
export const LOAD_PENALTY_SHARE = 0.2;
/** …and never less than this many connections' worth, so an idle but stalled node still loses ties. */
export const LOAD_PENALTY_FLOOR = 20;
