import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnavailableError, silentLogger, waitFor } from '@switchboard/core';
import { createRedisBackends, keySlot, redisKeys, type RedisBackends } from '@switchboard/cluster/redis';
import { redisCommand, startRedisCluster, uniquePrefix, type TestRedisCluster } from '@switchboard/testkit';

/**
 * The replica wait in cluster mode, per slot: 3 masters with a replica each. An offline store waits for
 * the replica of the master that owns the user's slot; with that replica stopped it is not confirmed
 * (UnavailableError: the gateway would not ack), and the retry is once the replica runs again.
 */
describe('Redis Cluster with replicas: acked writes wait for the replica of their slot', () => {
  let rc: TestRedisCluster;
  let be: RedisBackends;
  const prefix = uniquePrefix('rcwait');

  beforeAll(async () => {
    rc = await startRedisCluster({ masters: 3, replicasPerMaster: 1, name: 'scale-rcwait' });
    be = createRedisBackends({ url: rc.url, mode: 'cluster', prefix, log: silentLogger(), waitTimeoutMs: 300 });
    await be.redis.ping();
  }, 60_000);
  afterAll(async () => {
    for (const n of rc?.nodes ?? []) {
      try {
        process.kill(n.proc.child.pid!, 'SIGCONT');
      } catch {
        // exited
      }
    }
    await be?.close();
    await rc?.stop();
  }, 30_000);

  it('keySlot - agrees with CLUSTER KEYSLOT, hash tags included', async () => {
    const keys = redisKeys(prefix);
    for (const k of [keys.route('alice' as never), keys.historyMeta('c:a|b' as never), keys.nodeRecords(), 'plain', '{}empty', 'a{b}c{d}', 'ü{ñ}']) {
      expect(keySlot(k)).toBe(Number(await redisCommand(rc.masters[0]!.port, 'CLUSTER', 'KEYSLOT', k)));
    }
  });

  it('wait - a store is confirmed by the slot master\'s replica; with that replica stopped it is refused, then accepted', async () => {
    const user = 'wait-user' as never;
    expect(await be.offline.store(user, { fp: 'fp-0', packet: '{"n":0}' })).toBe('stored');
    // The replica of the master that owns the user's slot (CLUSTER NODES: `<id> <addr> <flags> <master id> … <slots>`).
    const slot = keySlot(redisKeys(prefix).offlineQueue(user));
    // Gossip may not have told the node we ask about the replica yet: ask again until it lists it.
    const { owner, replicaPort } = await waitFor(
      async () => {
        const lines = String(await redisCommand(rc.masters[0]!.port, 'CLUSTER', 'NODES')).trim().split('\n').map((l) => l.split(' '));
        const master = lines.find((f) => f[2]!.includes('master') && f.slice(8).some((r) => {
          const [a, b] = r.split('-').map(Number);
          return slot >= a! && slot <= (b ?? a!);
        }));
        const rep = master && lines.find((f) => f[3] === master[0]);
        return master && rep ? { owner: master, replicaPort: Number(rep[1]!.split('@')[0]!.split(':')[1]) } : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 200, what: "CLUSTER NODES to list the slot master's replica" },
    );
    const replica = rc.nodes.find((n) => n.port === replicaPort)!;
    // The client's slot map learns of the replica within a refresh (5 s).
    const { ReplicaWait } = await import('@switchboard/cluster/redis');
    const probe = new ReplicaWait(be.redis, { replicas: 'auto' });
    await waitFor(() => probe.replicasFor(redisKeys(prefix).offlineQueue(user)) === 1, { timeoutMs: 12_000, what: 'the slot map to list the replica' });
    await probe.close();
    process.kill(replica.proc.child.pid!, 'SIGSTOP');
    try {
      await expect(be.offline.store(user, { fp: 'fp-1', packet: '{"n":1}' })).rejects.toBeInstanceOf(UnavailableError);
      // A user on another master is not held up by it.
      const other = ['o1', 'o2', 'o3', 'o4', 'o5', 'o6'].map((u) => `wait-${u}`).find((u) => {
        const s = keySlot(redisKeys(prefix).offlineQueue(u as never));
        return !owner.slice(8).some((r) => {
          const [a, b] = r.split('-').map(Number);
          return s >= a! && s <= (b ?? a!);
        });
      })!;
      expect(await be.offline.store(other as never, { fp: 'fp-x', packet: '{}' })).toBe('stored');
    } finally {
      process.kill(replica.proc.child.pid!, 'SIGCONT');
    }
    // The refused store is on the master; its resend is a duplicate that is confirmed now.
    expect(await be.offline.store(user, { fp: 'fp-1', packet: '{"n":1}' })).toBe('duplicate');
    expect(await be.offline.count(user)).toBe(2);
  });
});
