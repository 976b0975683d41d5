import type { FastifyInstance } from 'fastify';
import type { NodeRecord } from '@switchboard/cluster';

export interface SdRouteDeps {
  liveNodes: () => Promise<NodeRecord[]>;
}

/** One target group of Prometheus's HTTP service discovery format. */
export interface SdTargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

const sdSchema = {
  summary: 'Prometheus HTTP service discovery: one scrape target per live gateway (its admin port, where /metrics is)',
  description:
    'For `http_sd_configs` (docs/operations.md "Monitoring profile"). Each gateway is one group, `<host>:<admin port>` ' +
    'labelled `role`, `node`; the `__meta_switchboard_*` labels (public host, admin port, state) are for relabelling, ' +
    'e.g. to scrape at another address than the public host. Gateways without an admin port are left out.',
  tags: ['admin'],
  security: [{ bearer: [] }],
  response: {
    200: {
      type: 'array',
      items: {
        type: 'object',
        required: ['targets', 'labels'],
        properties: {
          targets: { type: 'array', items: { type: 'string' } },
          labels: { type: 'object', additionalProperties: { type: 'string' } },
        },
      },
    },
  },
} as const;

/** The live gateways as Prometheus http_sd target groups, sorted by node id so the answer is stable. */
export function sdTargetGroups(nodes: readonly NodeRecord[]): SdTargetGroup[] {
  return nodes
    .filter((n) => Number.isInteger(n.ports?.admin) && n.ports.admin > 0)
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((n) => ({
      targets: [`${n.host.includes(':') && !n.host.startsWith('[') ? `[${n.host}]` : n.host}:${n.ports.admin}`],
      labels: {
        role: 'gateway',
        node: n.id,
        __meta_switchboard_public_host: n.host,
        __meta_switchboard_admin_port: String(n.ports.admin),
        __meta_switchboard_state: n.state,
      },
    }));
}

/**
 * `GET /admin/sd`: Prometheus HTTP service discovery of the gateways' metrics endpoints. Gateways that bind free
 * ports (IM_ADMIN_PORT=0, as the scaled gateways of docker-compose.yml do) cannot be listed statically.
 * Registered behind the admin guard, like `/admin/nodes`.
 */
export function registerSdRoutes(admin: FastifyInstance, d: SdRouteDeps): void {
  admin.get('/admin/sd', { schema: sdSchema }, async () => sdTargetGroups(await d.liveNodes()));
}
