import { LocalBridge, LocalBus, MemoryHistoryStore, MemoryNodeRegistry, MemoryOfflineStore, MemoryRouteStore } from '@switchboard/cluster';
import { createLogger, newNodeId, type Logger } from '@switchboard/core';
import { createLoginVerifier } from './auth.js';
import { Gateway, type GatewayOptions } from './gateway.js';

/** Options of `createGateway`: every GatewayOptions field, each optional. */
export type CreateGatewayOptions = Partial<GatewayOptions> & { log?: Logger };

/**
 * The gateway as a library (architecture §12): `createGateway({ hooks, ...config })`.
 * Whatever is not given gets the standalone defaults: in-memory route, offline and history stores, node
 * registry and bridge (one process, no Redis or RabbitMQ), a pino logger on stdout, and logins
 * accepted unless `hooks.verifyLogin` or `verifyLogin` decides. Pass the Redis and RabbitMQ
 * implementations from `@switchboard/cluster/redis` and `/amqp` to join a cluster.
 * Call `start()` to listen and `drain()` / `close()` to stop.
 */
export function createGateway(opts: CreateGatewayOptions = {}): Gateway {
  const log = opts.log ?? createLogger({ base: { role: 'embedded' } });
  const nodeId = opts.nodeId ?? newNodeId();
  return new Gateway({
    ...opts,
    nodeId,
    log,
    routes: opts.routes ?? new MemoryRouteStore(),
    offline: opts.offline ?? new MemoryOfflineStore(),
    history: opts.history === undefined ? new MemoryHistoryStore() : opts.history,
    nodes: opts.nodes ?? new MemoryNodeRegistry(),
    bridge: opts.bridge ?? new LocalBridge(new LocalBus(), nodeId),
    verifyLogin: opts.verifyLogin ?? createLoginVerifier({ mode: 'none', log }),
  });
}
