import type { Redis } from 'ioredis';
import { InvalidArgumentError, silentLogger, type ConnId, type Logger, type NodeId, type UserId } from '@switchboard/core';
import type { ClaimResult, Route, RouteStore } from '../route-store.js';
import { closeRedis, guard, resolveClient, type RedisClientOption } from './connect.js';
import { DEFAULT_NODE_INDEX_SCAN_COUNT } from './defaults.js';
import { redisKeys, type RedisKeys } from './keys.js';
import { runScript } from './scripts.js';

export type RedisRouteStoreOptions = RedisClientOption & {
  /** Key prefix (`IM_KEY_PREFIX`). @default 'im' */
  prefix?: string;
  log?: Logger;
};

type ClaimTag = 'new' | 'same' | 'stale' | 'kick' | 'equal' | 'rejected';

/** Member of a node's index: the (user, conn) pair, so two sessions of one user on one node never share an entry. */
const indexMember = (userId: UserId, connId: ConnId): string => JSON.stringify([userId, connId]);

function parseIndexMember(member: string): { userId: UserId; connId: ConnId } | null {
  try {
    const v: unknown = JSON.parse(member);
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string') {
      return { userId: v[0] as UserId, connId: v[1] as ConnId };
    }
  } catch {
    // not ours: reported as null and skipped by the caller
  }
  return null;
}

/**
 * RouteStore on Redis (architecture §3, §6). One hash per user, `<prefix>:{<user>}:route`, written
 * only by Lua scripts: `route-claim.lua` (the kick rule, = `decideClaim`), `route-unregister.lua`
 * (compare-and-delete by conn) and `route-delete-if-node.lua` (compare-and-delete by node).
 *
 * Beside the routes, each node has an index `<prefix>:node:{<node>}:users` of the (user, conn)
 * pairs claimed there, kept with plain SADD/SREM (another hash slot, so not in the user's script):
 * the pair is added before the claim script runs and removed only once that connection's route is
 * known gone (rejected, replaced, unregistered, purged). So the index is always a superset of the
 * node's routes, and an entry left behind by a crash between the two steps is harmless: purgeNode
 * deletes a route only if it still names the node, and countNode counts only entries whose route
 * still matches.
 *
 * Routes do not expire: a dead node's routes are removed by `purgeNode` (sweeper) or overridden via
 * `staleConnId`. Every failure is an UnavailableError with the ioredis error as `cause`.
 */
export class RedisRouteStore implements RouteStore {
  private readonly redis: Redis;
  private readonly owned: boolean;
  private readonly keys: RedisKeys;
  private readonly log: Logger;

  constructor(opts: RedisRouteStoreOptions) {
    this.keys = redisKeys(opts.prefix);
    this.log = (opts.log ?? silentLogger()).child({ component: 'redis-route-store' });
    ({ redis: this.redis, owned: this.owned } = resolveClient(opts, opts.log, 'route-store'));
  }

  claim(route: Route, clientFirstLoginTime: number, opts: { staleConnId?: ConnId } = {}): Promise<ClaimResult> {
    return guard('route claim', async () => {
      // Lua would otherwise compare garbage (tonumber('NaN') is nil): refuse it before touching Redis.
      for (const [field, v] of [['firstLoginTime', route.firstLoginTime], ['since', route.since], ['clientFirstLoginTime', clientFirstLoginTime]] as const) {
        if (!Number.isFinite(v)) throw new InvalidArgumentError(`route claim: ${field} must be a finite number, got ${v}`);
      }
      const index = this.keys.nodeUsers(route.nodeId);
      const member = indexMember(route.userId, route.connId);
      await this.redis.sadd(index, member);
      const reply = (await runScript(
        this.redis,
        'sbRouteClaim',
        [this.keys.route(route.userId)],
        [route.nodeId, route.connId, String(route.firstLoginTime), String(route.since), String(clientFirstLoginTime), opts.staleConnId ?? ''],
      )) as [ClaimTag, ...(string | null)[]];
      const tag = reply[0];
      const prev = reply.length >= 5 ? this.toRoute(route.userId, reply.slice(1)) : null;
      switch (tag) {
        case 'new':
        case 'same':
          return { outcome: 'claimed', replaced: null, kickReplaced: false };
        case 'stale':
          if (prev) await this.unindex(prev);
          return { outcome: 'claimed', replaced: null, kickReplaced: false };
        case 'kick':
        case 'equal':
          if (!prev) throw new Error(`route-claim.lua answered ${tag} without the replaced route`);
          await this.unindex(prev);
          return { outcome: 'claimed', replaced: prev, kickReplaced: tag === 'kick' };
        case 'rejected':
          if (!prev) throw new Error('route-claim.lua answered rejected without the current route');
          await this.unindex(route);
          return { outcome: 'rejected', current: prev };
        default:
          throw new Error(`route-claim.lua answered an unknown tag: ${String(tag)}`);
      }
    });
  }

  lookup(userId: UserId): Promise<Route | null> {
    return guard('route lookup', async () => {
      const fields = await this.redis.hmget(this.keys.route(userId), 'node', 'conn', 'flt', 'since');
      return this.toRoute(userId, fields);
    });
  }

  unregister(userId: UserId, connId: ConnId): Promise<boolean> {
    return guard('route unregister', async () => {
      const node = (await runScript(this.redis, 'sbRouteUnregister', [this.keys.route(userId)], [connId])) as string | null;
      if (node === null) return false;
      await this.unindex({ userId, connId, nodeId: node as NodeId });
      return true;
    });
  }

  purgeNode(nodeId: NodeId): Promise<UserId[]> {
    return guard('route purgeNode', async () => {
      const index = this.keys.nodeUsers(nodeId);
      const purged: UserId[] = [];
      await this.scanIndex(index, async (members) => {
        const results = await Promise.all(
          members.map(async (m) => {
            const entry = parseIndexMember(m);
            if (!entry) return null;
            const n = Number(await runScript(this.redis, 'sbRouteDeleteIfNode', [this.keys.route(entry.userId)], [nodeId]));
            return n > 0 ? entry.userId : null;
          }),
        );
        for (const u of results) if (u !== null) purged.push(u);
        await this.redis.srem(index, ...members);
      });
      return purged;
    });
  }

  countNode(nodeId: NodeId): Promise<number> {
    return guard('route countNode', async () => {
      const seen = new Set<string>();
      let count = 0;
      await this.scanIndex(this.keys.nodeUsers(nodeId), async (members) => {
        const fresh = members.filter((m) => !seen.has(m));
        for (const m of fresh) seen.add(m);
        const matches = await Promise.all(
          fresh.map(async (m) => {
            const entry = parseIndexMember(m);
            if (!entry) return false;
            const [node, conn] = await this.redis.hmget(this.keys.route(entry.userId), 'node', 'conn');
            return node === nodeId && conn === entry.connId;
          }),
        );
        for (const ok of matches) if (ok) count++;
      });
      return count;
    });
  }

  async close(): Promise<void> {
    if (this.owned) await closeRedis(this.redis);
  }

  /** SSCAN a node index in batches (members may repeat across batches, per SSCAN's guarantee). */
  private async scanIndex(index: string, onBatch: (members: string[]) => Promise<void>): Promise<void> {
    let cursor = '0';
    do {
      const [next, members] = await this.redis.sscan(index, cursor, 'COUNT', DEFAULT_NODE_INDEX_SCAN_COUNT);
      cursor = next;
      if (members.length > 0) await onBatch(members);
    } while (cursor !== '0');
  }

  /**
   * Drop a connection's entry from its node's index once its route is gone. The route itself is
   * already right; a failure here only leaves a harmless stale entry, so it is logged, not thrown.
   */
  private async unindex(r: Pick<Route, 'userId' | 'connId' | 'nodeId'>): Promise<void> {
    try {
      await this.redis.srem(this.keys.nodeUsers(r.nodeId), indexMember(r.userId, r.connId));
    } catch (err) {
      this.log.warn({ err, userId: r.userId, nodeId: r.nodeId }, 'route index cleanup failed; stale entry left for purgeNode');
    }
  }

  private toRoute(userId: UserId, fields: readonly (string | null | undefined)[]): Route | null {
    const [node, conn, flt, since] = fields;
    if (node == null || conn == null || flt == null || since == null) return null;
    return { userId, nodeId: node as NodeId, connId: conn as ConnId, firstLoginTime: Number(flt), since: Number(since) };
  }
}
