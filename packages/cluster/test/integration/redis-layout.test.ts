import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asConnId, asNodeId, asUserId, InvalidArgumentError, silentLogger } from '@switchboard/core';
import { cleanupRedisPrefix, resolveRedisUrl, uniquePrefix } from '@switchboard/testkit';
import { createRedisBackends, RedisGroupStore, RedisHistoryStore, redisKeys, type RedisBackends } from '../../src/redis/index.js';
import { groupConversation, peerConversation } from '../../src/history-store.js';

/** The hash tag Redis Cluster hashes: the text between the first `{` and the next `}`, if non-empty. */
function hashTag(key: string): string {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return key.slice(open + 1, close);
  }
  return key;
}

describe('Redis key layout', () => {
  it('keys - the keys of one script share a hash slot, for any user id', () => {
    const k = redisKeys('im');
    for (const raw of ['alice', 'a:b', 'x}y', '{z', 'user with spaces', '用户']) {
      const u = asUserId(raw);
      const tag = hashTag(k.route(u));
      expect(hashTag(k.offlineQueue(u))).toBe(tag);
      expect(hashTag(k.offlineMessages(u))).toBe(tag);
    }
    for (const conv of [peerConversation(asUserId('a}b'), asUserId('{c')), groupConversation('x}y'), groupConversation('{z'), groupConversation('群:1')]) {
      const tag = hashTag(k.historyMeta(conv));
      expect(hashTag(k.historyMessages(conv)), conv).toBe(tag);
      expect(hashTag(k.historyFps(conv)), conv).toBe(tag);
    }
    expect(k.historyMeta(groupConversation('g1'))).toBe('im:{h:g:g1}:meta');
    for (const gid of ['team', 'a.b-c_1', 'x'.repeat(64)]) expect(hashTag(k.groupMembers(gid)), gid).toBe(hashTag(k.groupMeta(gid)));
    expect(k.groupMeta('team')).toBe('im:{grp:team}:meta');
    expect(k.groupMembers('team')).toBe('im:{grp:team}:members');
    expect(k.userGroups(asUserId('alice'))).toBe('im:{alice}:groups');
    expect(hashTag(k.userGroups(asUserId('x}y')))).toBe(hashTag(k.route(asUserId('x}y'))));
    expect(k.historyIndex(asUserId('alice'))).toBe('im:{alice}:convs');
    expect(hashTag(k.historyIndex(asUserId('alice')))).toBe(hashTag(k.route(asUserId('alice'))));
    expect(hashTag(k.nodeExpiry())).toBe(hashTag(k.nodeRecords()));
    expect(hashTag(k.nodeDrain())).toBe(hashTag(k.nodeRecords()));
    expect(k.route(asUserId('alice'))).toBe('im:{alice}:route');
    expect(k.nodeUsers(asNodeId('gw-1'))).toBe('im:node:{gw-1}:users');
  });

  it('keys - the default prefix is im; a prefix with braces or an empty one is refused', () => {
    expect(redisKeys().route(asUserId('bob'))).toBe('im:{bob}:route');
    expect(() => redisKeys('a{b}')).toThrow(InvalidArgumentError);
    expect(() => redisKeys('')).toThrow(InvalidArgumentError);
  });

  it('lua - every script has a KEYS/ARGV header; a shared function file (-core.lua) documents its function', () => {
    const dir = new URL('../../src/redis/lua/', import.meta.url);
    const files = readdirSync(dir).filter((f) => f.endsWith('.lua'));
    expect(files.length).toBeGreaterThanOrEqual(23);
    for (const f of files) {
      const text = readFileSync(new URL(f, dir), 'utf8');
      const header = text
        .split('\n')
        .filter((l) => l.startsWith('--'))
        .join('\n');
      if (f.endsWith('-core.lua')) {
        const fns = [...text.matchAll(/^local function (\w+)\(/gm)].map((m) => m[1]!);
        expect(fns.some((fn) => new RegExp(`^-- ${fn}\\(`, 'm').test(header)), `${f}: one of ${fns.join(', ')} documented as "-- name(…)"`).toBe(true);
        continue;
      }
      expect(header, f).toMatch(/^-- KEYS\[1\]/m);
      expect(header, f).toMatch(/^-- ARGV/m);
    }
  });

  it('scripts - a fresh client runs a store\'s first script in the same tick as a plain command (auto-pipelining)', async () => {
    const url = await resolveRedisUrl();
    const prefix = uniquePrefix('layout-tick');
    const history = new RedisHistoryStore({ url, prefix });
    try {
      const conv = peerConversation(asUserId('a'), asUserId('b'));
      expect(await Promise.all([history.lastSeq(conv), history.markRead(asUserId('a'), conv, 1)])).toEqual([0, 0]);
    } finally {
      await history.close();
      await cleanupRedisPrefix(url, prefix);
    }
  });

  describe('in Redis', () => {
    let url: string;
    let prefix: string;
    let backends: RedisBackends;

    beforeAll(async () => {
      url = await resolveRedisUrl();
      prefix = uniquePrefix('layout');
      backends = createRedisBackends({ url, prefix, log: silentLogger() });
    });
    afterAll(async () => {
      await backends.close();
      await cleanupRedisPrefix(url, prefix);
    });

    it('keys - every key written is under the prefix and hash-tagged as documented', async () => {
      const alice = asUserId('alice');
      await backends.routes.claim({ userId: alice, nodeId: asNodeId('gw-1'), connId: asConnId('c1'), firstLoginTime: 1, since: 1 }, 0);
      await backends.offline.store(alice, { fp: 'f1', packet: '{}' });
      await backends.nodes.report(
        { id: asNodeId('gw-1'), host: 'h', ports: { ws: 1, tcp: 2, udp: 3, admin: 4 }, state: 'active', connections: 0, loopLagMs: 0, cpu: 0, msgRate: 0, startedAt: 1 },
        60_000,
      );
      await backends.nodes.requestDrain(asNodeId('gw-1'));
      const history = new RedisHistoryStore({ redis: backends.redis, prefix });
      const bob = asUserId('bob');
      await history.append(peerConversation(alice, bob), { fp: 'f1', from: alice, to: 'bob', dataContent: 'hi', typeu: 0, sentAt: Date.now() }, { indexFor: [alice, bob] });
      await history.markRead(bob, peerConversation(alice, bob), 1);
      await new RedisGroupStore({ redis: backends.redis, prefix }).put('team', { name: 'Team', members: [alice] }, 1);
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await backends.redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        keys.push(...batch);
      } while (cursor !== '0');
      expect(keys.sort()).toEqual(
        [
          `${prefix}:{alice}:route`,
          `${prefix}:{alice}:offline:q`,
          `${prefix}:{alice}:offline:m`,
          `${prefix}:node:{gw-1}:users`,
          `${prefix}:registry:{nodes}:expiry`,
          `${prefix}:registry:{nodes}:records`,
          `${prefix}:registry:{nodes}:drain`,
          `${prefix}:{alice}:convs`,
          `${prefix}:{bob}:convs`,
          `${prefix}:{h:p:5:alicebob}:meta`,
          `${prefix}:{h:p:5:alicebob}:msgs`,
          `${prefix}:{h:p:5:alicebob}:fps`,
          `${prefix}:{grp:team}:meta`,
          `${prefix}:{grp:team}:members`,
          `${prefix}:{alice}:groups`,
        ].sort(),
      );
      expect(backends.isUp()).toBe(true);
    });
  });
});
