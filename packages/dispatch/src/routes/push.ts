import type { FastifyInstance } from 'fastify';
import type { Counter } from 'prom-client';
import { DEFAULT_GROUP_PREFIX, peerConversation, type AppendResult, type Bridge, type HistoryStore, type NodeRegistry, type OfflineStore, type RouteStore } from '@switchboard/cluster';
import { newFingerprint, UnroutableError, type Logger, type UserId } from '@switchboard/core';
import { PacketType, SERVER_UID, encodePacket } from '@switchboard/protocol';
import { logAdminAction } from '../http-metrics.js';
import { liveRoute } from '../live-route.js';
import * as S from '../schemas.js';

export interface PushRouteDeps {
  nodes: NodeRegistry;
  routes: RouteStore;
  offline: OfflineStore;
  bridge?: Bridge;
  /** IM_HISTORY: each push is written to the user's conversation with "0" before it goes anywhere. Null: off. */
  history: HistoryStore | null;
  pushes: Counter<'status'>;
  log: Logger;
  /** `IM_ADMIN_TOKEN`: `from` is accepted only when it is set (the guard then checked the request presented it). */
  adminToken?: string;
  /** `IM_GROUP_PREFIX`: neither `to` nor `from` may be a group address (a push is one-to-one). @default DEFAULT_GROUP_PREFIX */
  groupPrefix?: string;
}

type PushBody = { to: string; dataContent: string; typeu?: number; qos?: boolean; from?: string };

/**
 * `POST /api/messages`: a server push to a user, relayed to its gateway when it is online, else
 * stored in its offline queue (QoS) or dropped (no QoS). Registered behind the admin guard.
 *
 * With history on, the push is first written to the user's conversation with "0" (a history store
 * failure answers 503 and sends nothing). The fp chosen here is the entry's, so the gateway's own
 * append of a relayed push finds it and gets the same seq; a stored packet carries seq and sentAt.
 */
export function registerPushRoutes(admin: FastifyInstance, d: PushRouteDeps): void {
  admin.post<{ Body: PushBody }>('/api/messages', { schema: S.pushSchema }, async (req, reply) => {
    const { to, dataContent } = req.body;
    // Sending as a user is for server-side integrations holding the admin token, never for a loopback caller let in without one.
    if (req.body.from !== undefined && req.body.from !== SERVER_UID && !d.adminToken) {
      return reply.code(403).send({ error: 'forbidden', message: 'from (send as a user) needs IM_ADMIN_TOKEN set and presented' });
    }
    // A group address as `from` would show in the SDK as a group message that is not in the group's
    // history; as `to`, it would wait in an offline queue no login can take.
    const prefix = d.groupPrefix ?? DEFAULT_GROUP_PREFIX;
    for (const [field, value] of [['to', to], ['from', req.body.from]] as const) {
      if (value?.startsWith(prefix)) {
        return reply.code(400).send({ error: 'bad_request', message: `${field} must not start with the group prefix "${prefix}"` });
      }
    }
    const from = (req.body.from ?? SERVER_UID) as UserId;
    const typeu = req.body.typeu ?? -1;
    const qos = req.body.qos ?? true;
    const uid = to as UserId;
    const fp = newFingerprint();
    const done = (status: string) => {
      d.pushes.inc({ status });
      logAdminAction(d.log, req, 'push', { to, from, fp, typeu, qos, bytes: Buffer.byteLength(dataContent), status });
    };
    const entry: AppendResult | null = d.history
      ? await d.history.append(peerConversation(from, uid), { fp, from, to, dataContent, typeu, sentAt: Date.now() }, { indexFor: from === SERVER_UID ? [uid] : [from, uid] })
      : null;
    const route = await liveRoute(d.routes, d.nodes, uid);
    if (route && d.bridge) {
      try {
        await d.bridge.send(route.nodeId, { type: 'push', origin: d.bridge.nodeId, to: uid, fp, dataContent, typeu, qos, ...(from === SERVER_UID ? {} : { from }) });
        done('relayed');
        return reply.code(202).send({ fp, status: 'relayed' });
      } catch (err) {
        if (!(err instanceof UnroutableError)) d.log.warn({ err }, 'push relay failed; storing offline');
      }
    }
    if (!qos) {
      done('dropped');
      return reply.code(202).send({ fp, status: 'dropped' });
    }
    const packet = encodePacket({
      bridge: false,
      type: PacketType.DATA,
      dataContent,
      from,
      to,
      fp,
      QoS: true,
      typeu,
      sm: Date.now(),
      ...(entry ? { seq: entry.seq, sentAt: entry.sentAt } : {}),
    });
    const outcome = await d.offline.store(uid, { fp, packet });
    if (outcome === 'full') {
      done('full');
      return reply.code(409).send({ error: 'offline_queue_full', message: `${to}'s offline queue is full` });
    }
    done('stored');
    return reply.code(202).send({ fp, status: 'stored' });
  });
}
