import { connect as amqpConnect } from 'amqplib';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupRedisPrefix, resolveAmqpUrl, resolveRedisUrl, uniquePrefix } from '../../src/index.js';

describe('services', () => {
  let redisUrl: string;
  let redis: Redis;

  beforeAll(async () => {
    redisUrl = await resolveRedisUrl();
    redis = new Redis(redisUrl);
  });
  afterAll(() => redis.quit());

  it('resolveRedisUrl - cached per process, and the server answers', async () => {
    expect(await resolveRedisUrl()).toBe(redisUrl);
    expect(await redis.ping()).toBe('PONG');
  });

  it('resolveAmqpUrl - the broker answers', async () => {
    const url = await resolveAmqpUrl();
    const conn = await amqpConnect(url);
    await conn.close();
  });

  it('cleanupRedisPrefix - deletes only keys under the prefix', async () => {
    const prefix = uniquePrefix('cleanup');
    const mine = [`${prefix}:a`, `${prefix}:{alice}:route`, prefix];
    const others = [`${prefix}x:b`, `${prefix}0`, `other-${prefix}:c`];
    for (const k of [...mine, ...others]) await redis.set(k, '1', 'EX', 60);
    for (let i = 0; i < 1200; i++) await redis.set(`${prefix}:bulk:${i}`, '1', 'EX', 60);

    expect(await cleanupRedisPrefix(redisUrl, prefix)).toBe(mine.length + 1200);
    expect(await redis.exists(...mine)).toBe(0);
    expect(await redis.exists(...others)).toBe(others.length);
    await redis.del(...others);
  });
});
