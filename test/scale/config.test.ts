import { describe, expect, it } from 'vitest';
import { loadConfig, redactedConfig } from '../../packages/cli/src/config.js';
import { ConfigError } from '@switchboard/core';

/** The scale-out variables (docs/operations.md "Scaling out Redis and RabbitMQ"): their contract. */
describe('config - IM_REDIS_MODE, IM_REDIS_SENTINEL_NAME, IM_REDIS_WAIT_*, URL lists', () => {
  it('defaults - single mode, one URL, replica wait auto within 500 ms', () => {
    const c = loadConfig('dispatch', {});
    expect(c.redis).toEqual({ mode: 'single', sentinelName: 'mymaster', waitReplicas: 'auto', waitTimeoutMs: 500 });
  });

  it('cluster and sentinel - a comma-separated list of seeds; the sentinel name', () => {
    const c = loadConfig('dispatch', { IM_REDIS_MODE: 'cluster', IM_REDIS_URL: 'redis://a:7000,redis://b:7001, redis://c:7002' });
    expect(c.redis.mode).toBe('cluster');
    expect(c.redisUrl).toBe('redis://a:7000,redis://b:7001, redis://c:7002');
    const s = loadConfig('dispatch', {
      IM_REDIS_MODE: 'sentinel',
      IM_REDIS_URL: 'redis://:pw@s1:26379,redis://:pw@s2:26379',
      IM_REDIS_SENTINEL_NAME: 'im-main',
      IM_REDIS_WAIT_REPLICAS: '2',
      IM_REDIS_WAIT_TIMEOUT_MS: '1000',
    });
    expect(s.redis).toEqual({ mode: 'sentinel', sentinelName: 'im-main', waitReplicas: 2, waitTimeoutMs: 1000 });
    expect(JSON.stringify(redactedConfig(s))).not.toContain('pw');
  });

  it('AMQP - a list of brokers is accepted, each must be amqp(s)', () => {
    expect(loadConfig('dispatch', { IM_AMQP_URL: 'amqp://u:p@mq1:5672,amqp://u:p@mq2:5672' }).amqpUrl).toBe('amqp://u:p@mq1:5672,amqp://u:p@mq2:5672');
    expect(() => loadConfig('dispatch', { IM_AMQP_URL: 'amqp://mq1,http://mq2' })).toThrow(/IM_AMQP_URL/);
  });

  it('refused - a list in single mode, an unknown mode, a sentinel name outside sentinel mode, a wait above 1.5 s', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig('dispatch', env);
        return '';
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
    };
    expect(problems({ IM_REDIS_URL: 'redis://a:1,redis://b:2' })).toMatch(/IM_REDIS_URL: a list of URLs needs IM_REDIS_MODE=cluster or sentinel/);
    expect(problems({ IM_REDIS_MODE: 'replicated' })).toMatch(/IM_REDIS_MODE/);
    expect(problems({ IM_REDIS_SENTINEL_NAME: 'x' })).toMatch(/IM_REDIS_SENTINEL_NAME/);
    expect(problems({ IM_REDIS_WAIT_TIMEOUT_MS: '5000' })).toMatch(/IM_REDIS_WAIT_TIMEOUT_MS/);
    expect(problems({ IM_REDIS_WAIT_REPLICAS: 'some' })).toMatch(/IM_REDIS_WAIT_REPLICAS/);
    expect(problems({ IM_REDIS_MODE: 'cluster', IM_REDIS_URL: 'redis://a:1,nope' })).toMatch(/IM_REDIS_URL/);
  });
});
