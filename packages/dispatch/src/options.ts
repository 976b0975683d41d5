import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Bridge, NodeRegistry, OfflineStore, RouteStore } from '@switchboard/cluster';
import type { Logger } from '@switchboard/core';

export interface DispatchOptions {
  nodes: NodeRegistry;
  routes: RouteStore;
  offline: OfflineStore;
  log: Logger;
  /** Sense mode the gateways run, told to clients. */
  senseMode: string;
  adminToken?: string;
  /** Whether Redis answers (readiness). @default always */
  backendsUp?: () => boolean;
  /** Guard for admin and push routes (shared with the gateway's admin port). */
  guard: (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
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
}
