import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Bridge, GroupStore, HistoryStore, NodeRegistry, OfflineStore, PresenceStore, RouteStore } from '@switchboard/cluster';
import type { Logger, TlsCredentials } from '@switchboard/core';
import type { UserAuthenticator } from './user-auth.js';

export interface DispatchOptions {
  nodes: NodeRegistry;
  routes: RouteStore;
  offline: OfflineStore;
  log: Logger;
  /** Sense mode the gateways run, told to clients. */
  senseMode: string;
  /**
   * `IM_ADMIN_TOKEN`. The guard checks it; besides, `POST /api/messages` with `from` (send as a user)
   * needs a request that presented it: a loopback request let in while it is unset gets 403. @default none
   */
  adminToken?: string;
  /** Whether Redis answers (readiness). @default always */
  backendsUp?: () => boolean;
  /** Most milliseconds a request (headers and body) may take to arrive. @default DISPATCH_REQUEST_TIMEOUT_MS (10 s) */
  requestTimeoutMs?: number;
  /** Guard for admin and push routes (shared with the gateway's admin port). */
  guard: (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /**
   * Guard for `GET /metrics`: the gateway's `metricsGuard(IM_METRICS_TOKEN, IM_ADMIN_TOKEN)` (what the CLI's
   * roles pass), so dispatch's `/metrics` answers as a gateway's does: with the metrics token set it is
   * required from everyone; otherwise loopback gets in and others need the admin token.
   * @default none: `/metrics` open to every client (an embedder guarding it some other way)
   */
  metricsGuard?: (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /**
   * Dispatch's own place on the bridge, to send kicks and pushes to the gateway holding a user.
   * Without it those endpoints answer 503. Started by `buildDispatch`'s caller.
   */
  bridge?: Bridge;
  /**
   * Directory of the web build (`packages/web/dist`) served at `/`. When it has no `index.html`,
   * `/` answers 501 saying how to build it. @default not served
   */
  webRoot?: string;
  /**
   * Conversation history (`IM_HISTORY`, docs/history.md), the store the gateways write: served to
   * users under `/api/history` and `/api/conversations`, and written by the push API. Absent or
   * null: history is off (those routes answer 404 `history_off`).
   */
  history?: HistoryStore | null;
  /**
   * Verifies user API requests as logins are verified (the gateway's `createUserAuthenticator`,
   * injected by the caller). Without it the user API answers 503.
   */
  userAuth?: UserAuthenticator;
  /** HTTPS (`IM_TLS_CERT` / `IM_TLS_KEY`) with these credentials, reloaded as they change. @default plain HTTP */
  tls?: TlsCredentials;
  /** Users' last-seen times for `GET /api/presence` (the gateways' store). Absent: offline users carry no `lastSeen`. */
  presence?: PresenceStore;
  /** Group membership, managed under `/admin/groups` (docs/groups.md). Without it those routes answer 503. */
  groups?: GroupStore;
  /** `IM_GROUP_PREFIX`: member ids may not start with it. @default DEFAULT_GROUP_PREFIX ('g:') */
  groupPrefix?: string;
  /** `IM_GROUP_MAX_MEMBERS`, the cap `groups` enforces: sizes the group routes' body limit. @default DEFAULT_GROUP_MAX_MEMBERS (2000) */
  groupMaxMembers?: number;
}
