import type { FastifyInstance } from 'fastify';
import type { Counter } from 'prom-client';
import type { NodeRecord } from '@switchboard/cluster';
import type { Logger } from '@switchboard/core';
import { DEFAULT_RECONNECT } from '../defaults.js';
import type { NodePicker } from '../picker.js';
import * as S from '../schemas.js';

export interface ClientRouteDeps {
  liveNodes: () => Promise<NodeRecord[]>;
  picker: NodePicker;
  /** Sense mode the gateways run, told to clients. */
  senseMode: string;
  dispatches: Counter<'result'>;
  log: Logger;
}

/** `GET /api/dispatch`: the least-loaded live gateway for a user, asked before every (re)connect. */
export function registerClientRoutes(api: FastifyInstance, d: ClientRouteDeps): void {
  api.get<{ Querystring: { uid: string } }>('/api/dispatch', { schema: S.dispatchSchema }, async (_req, reply) => {
    let nodes: NodeRecord[];
    try {
      nodes = await d.liveNodes();
    } catch (err) {
      d.dispatches.inc({ result: 'unavailable' });
      d.log.warn({ err }, 'node registry unreachable');
      return reply.code(503).send({ error: 'unavailable', reason: 'node registry unreachable' });
    }
    const n = d.picker.pick(nodes);
    if (!n) {
      d.dispatches.inc({ result: 'no_gateway' });
      return reply.code(503).send({ error: 'unavailable', reason: nodes.length ? 'every gateway is draining' : 'no live gateway' });
    }
    d.dispatches.inc({ result: 'ok' });
    return {
      node: n.id,
      ws: n.wsUrl ?? `${n.tls ? 'wss' : 'ws'}://${n.host}:${n.ports.ws}/websocket`,
      // `tls` only when set: the answer of a plain deployment keeps its documented shape {host, port}.
      tcp: n.tls === true ? { host: n.host, port: n.ports.tcp, tls: true } : { host: n.host, port: n.ports.tcp },
      udp: { host: n.host, port: n.ports.udp },
      senseMode: d.senseMode,
      reconnect: DEFAULT_RECONNECT,
    };
  });
}
