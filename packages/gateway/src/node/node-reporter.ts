import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Logger, NodeId, UserId } from '@switchboard/core';
import type { NodeRecord, NodeRegistry, RouteStore } from '@switchboard/cluster';
import type { GatewayMetrics } from '../metrics.js';
import type { RouteResolver } from '../delivery/route-resolver.js';

export interface NodeReporterDeps {
  nodeId: NodeId;
  log: Logger;
  metrics: GatewayMetrics;
  nodes: NodeRegistry;
  routes: RouteStore;
  resolver: RouteResolver;
  ttlMs: number;
  /** What the record says about this node right now. */
  describe: () => Pick<NodeRecord, 'host' | 'ports' | 'state' | 'connections' | 'startedAt' | 'tls' | 'wsUrl'>;
  /** Whether reports should still be written (false once the gateway closed). */
  open: () => boolean;
  /** Whether a drain request should be acted on (the gateway is running). */
  running: () => boolean;
  /** The cluster asked this node to drain. */
  onDrainRequested: () => void;
  /** Users whose routes a dead node's purge removed here: they are offline now (presence). */
  onPurged?: (users: UserId[]) => void;
}

/**
 * This node's record in the registry (architecture §3): load (connections, cpu, event-loop lag,
 * message rate) reported each interval with an expiry, the live-node list read back for route
 * resolution, drain requests noticed, and the routes of crashed nodes purged.
 */
export class NodeReporter {
  private loopDelay: IntervalHistogram | null = null;
  private lastCpu = process.cpuUsage();
  private lastCpuAt = Date.now();
  private msgCount = 0;

  constructor(private readonly d: NodeReporterDeps) {}

  /** Start measuring event-loop delay (the lag in the record). */
  start(): void {
    this.loopDelay = monitorEventLoopDelay({ resolution: 10 });
    this.loopDelay.enable();
  }

  stop(): void {
    this.loopDelay?.disable();
  }

  /** One data packet arrived (the record's message rate). */
  countMessage(): void {
    this.msgCount++;
  }

  async report(): Promise<void> {
    const now = Date.now();
    const cpuNow = process.cpuUsage(this.lastCpu);
    const elapsed = Math.max(1, now - this.lastCpuAt);
    const cpu = (cpuNow.user + cpuNow.system) / 1000 / elapsed;
    this.lastCpu = process.cpuUsage();
    this.lastCpuAt = now;
    const lagMs = this.loopDelay ? Math.max(0, this.loopDelay.percentile(99) / 1e6 - 10) : 0;
    this.loopDelay?.reset();
    const msgRate = (this.msgCount * 1000) / elapsed;
    this.msgCount = 0;
    this.d.metrics.loopLag.set(lagMs / 1000);
    if (this.d.running() && (await this.d.nodes.drainRequested(this.d.nodeId))) {
      this.d.log.info('drain requested through the node registry');
      this.d.onDrainRequested();
    }
    if (!this.d.open()) return;
    await this.d.nodes.report(
      {
        id: this.d.nodeId,
        ...this.d.describe(),
        loopLagMs: Math.round(lagMs * 10) / 10,
        cpu: Math.round(cpu * 1000) / 1000,
        msgRate: Math.round(msgRate),
      },
      this.d.ttlMs,
    );
    this.d.resolver.setLiveNodes((await this.d.nodes.list()).map((n) => n.id));
  }

  /** Purge the routes of nodes that expired (crashed) so lookups stop finding them. */
  async sweepDeadNodes(): Promise<void> {
    for (const id of await this.d.nodes.listExpired()) {
      const users = await this.d.routes.purgeNode(id);
      await this.d.nodes.forget(id);
      if (users.length > 0) {
        this.d.log.info({ deadNode: id, routes: users.length }, 'purged routes of a dead node');
        this.d.onPurged?.(users);
      }
    }
  }
}
