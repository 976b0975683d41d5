import type { Redis } from 'ioredis';
import { InvalidArgumentError } from '@switchboard/core';
import { redisNodes } from './connect.js';

/**
 * Delete every key of one key prefix (`IM_KEY_PREFIX`): `<prefix>:…` on every master (SCAN, UNLINK).
 * For throwaway clusters (the bench's spawned ones), never for a live deployment's prefix. Resolves
 * the number of keys deleted. A prefix shorter than 3 characters is refused.
 */
export async function purgeKeyPrefix(redis: Redis, prefix: string): Promise<number> {
  if (prefix.length < 3 || /[*?[\]\\{}]/.test(prefix)) throw new InvalidArgumentError(`purgeKeyPrefix: ${JSON.stringify(prefix)} is not a prefix this may delete`);
  let deleted = 0;
  for (const node of redisNodes(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      // One UNLINK per key: on Redis Cluster the keys of one scan page live in many slots.
      if (keys.length > 0) deleted += (await Promise.all(keys.map((k) => node.unlink(k)))).reduce((a, b) => a + b, 0);
    } while (cursor !== '0');
  }
  return deleted;
}
