import { describe, expect, it } from 'vitest';
import { ConfigError } from '@switchboard/core';
import { loadConfig, redactedConfig, type Role } from '../../src/config.js';

/** The problems of the ConfigError `fn` throws (fails the test when it does not throw one). */
function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    expect(e.code).toBe('IM_ERR_INVALID_CONFIG');
    // One message listing every problem.
    for (const p of e.problems) expect(e.message).toContain(p);
    return [...e.problems];
  }
  throw new Error('expected a ConfigError');
}

/** Exactly one problem, about `variable`. */
function oneProblem(role: Role, env: Record<string, string>, variable: string, match?: RegExp): void {
  const ps = problems(() => loadConfig(role, env));
  expect(ps, ps.join('\n')).toHaveLength(1);
  expect(ps[0]!.startsWith(`${variable}:`), ps[0]).toBe(true);
  if (match) expect(ps[0]).toMatch(match);
}

const SECRET = 'sixteen-chars-ok';

describe('loadConfig', () => {
  it('presence - IM_PRESENCE_*, IM_TYPING_INTERVAL_MS and IM_PUSH_* are parsed and checked', () => {
    const c = loadConfig('standalone', { IM_PRESENCE_INTERVAL_MS: '250', IM_PRESENCE_TTL_S: '60', IM_TYPING_INTERVAL_MS: '500', IM_PUSH_WINDOW_MS: '0', IM_PUSH_PREVIEW: 'off' });
    expect(c.presence).toEqual({ intervalMs: 250, ttlMs: 60_000, typingIntervalMs: 500 });
    expect(c.push).toEqual({ windowMs: 0, preview: false });
    expect(() => loadConfig('standalone', { IM_PRESENCE_INTERVAL_MS: '0', IM_TYPING_INTERVAL_MS: 'x', IM_PUSH_PREVIEW: 'maybe' })).toThrow(
      /IM_PRESENCE_INTERVAL_MS[\s\S]*IM_TYPING_INTERVAL_MS[\s\S]*IM_PUSH_PREVIEW/,
    );
  });

  it('route cache - IM_ROUTE_CACHE_MS is parsed, 0 turns it off, default 10 s', () => {
    expect(loadConfig('standalone', {}).routeCacheMs).toBe(10_000);
    expect(loadConfig('standalone', { IM_ROUTE_CACHE_MS: '0' }).routeCacheMs).toBe(0);
    expect(loadConfig('standalone', { IM_ROUTE_CACHE_MS: '2500' }).routeCacheMs).toBe(2_500);
  });

  it('defaults - standalone with an empty environment', () => {
    const c = loadConfig('standalone', {});
    expect(c).toEqual({
      role: 'standalone',
      redisUrl: 'redis://127.0.0.1:6379',
      amqpUrl: 'amqp://guest:guest@127.0.0.1:5672',
      keyPrefix: 'im',
      nodeId: undefined,
      bindHost: '127.0.0.1',
      publicHost: '127.0.0.1',
      ports: { ws: 3000, tcp: 8901, udp: 7901, admin: 9100, dispatch: 8080 },
      senseMode: '15S',
      auth: 'none',
      jwtSecret: undefined,
      authUrl: undefined,
      adminToken: undefined,
      metricsToken: undefined,
      logLevel: 'info',
      custodyResendMs: 2_000,
      custodyGiveUpMs: 4_000,
      routeCacheMs: 10_000,
      rateLimitPerSec: 200,
      rateLimitBurst: 400,
      maxOutboundBytes: 1_048_576,
      tcpMaxBodyBytes: 6_144,
      offlineCapacity: 1_000,
      offlineTtlMs: 7 * 24 * 3600 * 1000,
      drainTimeoutMs: 30_000,
      offlineBudget: { senderBytes: 8 * 1024 * 1024, windowMs: 3_600_000, ceilingBytes: 0 },
      receiverCheck: undefined,
      loginTimeoutMs: 10_000,
      maxConnections: 250_000,
      maxUnauthPerIp: 4_096,
      udpMaxSessions: 50_000,
      events: 'off',
      eventsTimeoutMs: 2_000,
      groupMaxMembers: 2000,
      groupPrefix: 'g:',
      history: { maxPerConversation: 10_000, ttlMs: 30 * 24 * 3600 * 1000, memoryBytes: 0 },
      presence: { intervalMs: 1_000, ttlMs: 30 * 24 * 3600 * 1000, typingIntervalMs: 2_000 },
      push: { windowMs: 2_000, preview: true },
      webhook: undefined,
      readyFile: undefined,
      redis: { mode: 'single', sentinelName: 'mymaster', waitReplicas: 'auto', waitTimeoutMs: 500 },
      tls: undefined,
      publicWsUrl: undefined,
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('defaults - auth is jwt outside standalone; dispatch and cluster need no secret', () => {
    expect(loadConfig('gateway', { IM_JWT_SECRET: SECRET }).auth).toBe('jwt');
    expect(loadConfig('dispatch', {}).auth).toBe('jwt');
    expect(loadConfig('cluster', {}).auth).toBe('jwt');
  });

  it('reads only the env it is given', () => {
    const saved = process.env['IM_WS_PORT'];
    process.env['IM_WS_PORT'] = 'not-a-port';
    try {
      expect(loadConfig('standalone', {}).ports.ws).toBe(3000);
    } finally {
      if (saved === undefined) delete process.env['IM_WS_PORT'];
      else process.env['IM_WS_PORT'] = saved;
    }
  });

  it('parses every variable', () => {
    const c = loadConfig('gateway', {
      IM_REDIS_URL: 'redis://:pw@redis.internal:6380/2',
      IM_AMQP_URL: 'amqp://u:p@mq.internal:5673/vh',
      IM_KEY_PREFIX: 'test_1.a-b',
      IM_NODE_ID: 'gw-7',
      IM_BIND_HOST: '10.0.0.5',
      IM_PUBLIC_HOST: 'gw7.example.com',
      IM_WS_PORT: '0',
      IM_TCP_PORT: '65535',
      IM_UDP_PORT: '7000',
      IM_ADMIN_PORT: '9200',
      IM_DISPATCH_PORT: '8081',
      IM_SENSE_MODE: '3s',
      IM_AUTH: 'http',
      IM_AUTH_URL: 'https://auth.example.com/verify',
      IM_ADMIN_TOKEN: 'adm',
      IM_LOG_LEVEL: 'debug',
      IM_CUSTODY_RESEND_MS: '100',
      IM_CUSTODY_GIVE_UP_MS: '250',
      IM_RATE_LIMIT_PER_SEC: '50',
      IM_RATE_LIMIT_BURST: '5',
      IM_MAX_OUTBOUND_BYTES: '2048',
      IM_TCP_MAX_BODY_BYTES: '8192',
      IM_OFFLINE_CAPACITY: '20',
      IM_OFFLINE_TTL_MS: '60000',
      IM_DRAIN_TIMEOUT_MS: '1500',
    });
    expect(c).toMatchObject({
      role: 'gateway',
      redisUrl: 'redis://:pw@redis.internal:6380/2',
      amqpUrl: 'amqp://u:p@mq.internal:5673/vh',
      keyPrefix: 'test_1.a-b',
      nodeId: 'gw-7',
      bindHost: '10.0.0.5',
      publicHost: 'gw7.example.com',
      ports: { ws: 0, tcp: 65535, udp: 7000, admin: 9200, dispatch: 8081 },
      senseMode: '3S',
      auth: 'http',
      authUrl: 'https://auth.example.com/verify',
      adminToken: 'adm',
      logLevel: 'debug',
      custodyResendMs: 100,
      custodyGiveUpMs: 250,
      rateLimitPerSec: 50,
      rateLimitBurst: 5,
      maxOutboundBytes: 2048,
      tcpMaxBodyBytes: 8192,
      offlineCapacity: 20,
      offlineTtlMs: 60_000,
      drainTimeoutMs: 1500,
    });
  });

  it.each([
    ['5S', '5S'],
    ['5s', '5S'],
    ['10', '10S'],
    [' 120S ', '120S'],
  ])('IM_SENSE_MODE %j → %s', (raw, mode) => {
    expect(loadConfig('standalone', { IM_SENSE_MODE: raw }).senseMode).toBe(mode);
  });

  it.each([
    ['0.0.0.0', undefined, '127.0.0.1'],
    ['::', undefined, '127.0.0.1'],
    ['192.168.1.2', undefined, '192.168.1.2'],
    ['0.0.0.0', 'chat.example.com', 'chat.example.com'],
    ['0.0.0.0', '   ', '127.0.0.1'],
  ])('publicHost - bind %s, IM_PUBLIC_HOST %j → %s', (bind, pub, expected) => {
    const env: Record<string, string> = { IM_BIND_HOST: bind };
    if (pub !== undefined) env['IM_PUBLIC_HOST'] = pub;
    expect(loadConfig('standalone', env).publicHost).toBe(expected);
  });

  it('blank optional strings count as unset', () => {
    const c = loadConfig('standalone', { IM_ADMIN_TOKEN: '', IM_JWT_SECRET: '  ', IM_AUTH_URL: '', IM_NODE_ID: '', IM_PUBLIC_HOST: '' });
    expect(c.nodeId).toBeUndefined();
    expect(c.publicHost).toBe('127.0.0.1');
    expect(c.adminToken).toBeUndefined();
    expect(c.jwtSecret).toBeUndefined();
    expect(c.authUrl).toBeUndefined();
  });

  describe('validation - one problem per bad variable, named', () => {
    it.each([
      ['IM_REDIS_URL', 'not a url'],
      ['IM_AMQP_URL', 'amqp host'],
      ['IM_KEY_PREFIX', 'has space'],
      ['IM_KEY_PREFIX', 'a'.repeat(65)],
      ['IM_KEY_PREFIX', 'im:{x}'],
      ['IM_NODE_ID', 'gw/1'],
      ['IM_NODE_ID', 'x'.repeat(65)],
      ['IM_BIND_HOST', ''],
      ['IM_WS_PORT', 'abc'],
      ['IM_WS_PORT', '-1'],
      ['IM_TCP_PORT', '65536'],
      ['IM_UDP_PORT', '1.5'],
      ['IM_ADMIN_PORT', '99999'],
      ['IM_DISPATCH_PORT', 'http'],
      ['IM_SENSE_MODE', '7S'],
      ['IM_SENSE_MODE', 'fast'],
      ['IM_AUTH', 'ldap'],
      ['IM_LOG_LEVEL', 'verbose'],
      ['IM_CUSTODY_RESEND_MS', '0'],
      ['IM_CUSTODY_RESEND_MS', 'soon'],
      ['IM_CUSTODY_GIVE_UP_MS', String(7 * 24 * 3600 * 1000 * 4 + 1)],
      ['IM_ROUTE_CACHE_MS', '-1'],
      ['IM_ROUTE_CACHE_MS', '600001'],
      ['IM_ROUTE_CACHE_MS', 'forever'],
      ['IM_RATE_LIMIT_PER_SEC', '0'],
      ['IM_RATE_LIMIT_BURST', '0'],
      ['IM_MAX_OUTBOUND_BYTES', '1023'],
      ['IM_TCP_MAX_BODY_BYTES', '63'],
      ['IM_TCP_MAX_BODY_BYTES', String(16 * 1024 * 1024 + 1)],
      ['IM_OFFLINE_CAPACITY', '0'],
      ['IM_OFFLINE_TTL_MS', '-5'],
      ['IM_DRAIN_TIMEOUT_MS', '2.5'],
    ])('%s=%j', (variable, value) => {
      oneProblem('standalone', { [variable]: value }, variable);
    });

    it('IM_SENSE_MODE names the allowed modes', () => {
      oneProblem('standalone', { IM_SENSE_MODE: '7S' }, 'IM_SENSE_MODE', /"7S".*3S, 5S, 10S, 15S, 30S, 60S, 120S/);
    });

    it('IM_JWT_SECRET is required for a jwt gateway and standalone, at least 16 characters', () => {
      oneProblem('gateway', {}, 'IM_JWT_SECRET', /required/);
      oneProblem('standalone', { IM_AUTH: 'jwt' }, 'IM_JWT_SECRET', /required/);
      oneProblem('gateway', { IM_JWT_SECRET: 'short' }, 'IM_JWT_SECRET', /16/);
      expect(loadConfig('gateway', { IM_JWT_SECRET: SECRET }).jwtSecret).toBe(SECRET);
    });

    it('IM_AUTH_URL is required for http auth and must be http(s)', () => {
      oneProblem('standalone', { IM_AUTH: 'http' }, 'IM_AUTH_URL', /required/);
      oneProblem('standalone', { IM_AUTH: 'http', IM_AUTH_URL: 'ftp://auth/x' }, 'IM_AUTH_URL', /http/);
      oneProblem('standalone', { IM_AUTH_URL: 'file:///etc/passwd' }, 'IM_AUTH_URL', /http/);
      expect(loadConfig('standalone', { IM_AUTH: 'http', IM_AUTH_URL: 'http://127.0.0.1:1/auth' }).authUrl).toBe('http://127.0.0.1:1/auth');
    });

    it('IM_CUSTODY_GIVE_UP_MS must be greater than IM_CUSTODY_RESEND_MS', () => {
      oneProblem('standalone', { IM_CUSTODY_RESEND_MS: '5000' }, 'IM_CUSTODY_GIVE_UP_MS', /IM_CUSTODY_RESEND_MS/);
      oneProblem('standalone', { IM_CUSTODY_RESEND_MS: '500', IM_CUSTODY_GIVE_UP_MS: '500' }, 'IM_CUSTODY_GIVE_UP_MS');
      expect(loadConfig('standalone', { IM_CUSTODY_RESEND_MS: '500', IM_CUSTODY_GIVE_UP_MS: '501' }).custodyGiveUpMs).toBe(501);
    });

    it('IM_RATE_LIMIT_BURST must be at least a tenth of IM_RATE_LIMIT_PER_SEC', () => {
      oneProblem('standalone', { IM_RATE_LIMIT_PER_SEC: '1000', IM_RATE_LIMIT_BURST: '99' }, 'IM_RATE_LIMIT_BURST', /IM_RATE_LIMIT_PER_SEC/);
      expect(loadConfig('standalone', { IM_RATE_LIMIT_PER_SEC: '1000', IM_RATE_LIMIT_BURST: '100' }).rateLimitBurst).toBe(100);
    });
  });

  it('groups - IM_GROUP_MAX_MEMBERS 1–10000 and IM_GROUP_PREFIX of 1–16 characters; blank means the default', () => {
    expect(loadConfig('standalone', { IM_GROUP_MAX_MEMBERS: '50', IM_GROUP_PREFIX: '#grp/' })).toMatchObject({ groupMaxMembers: 50, groupPrefix: '#grp/' });
    expect(loadConfig('standalone', { IM_GROUP_MAX_MEMBERS: ' ', IM_GROUP_PREFIX: '' })).toMatchObject({ groupMaxMembers: 2000, groupPrefix: 'g:' });
    expect(loadConfig('standalone', { IM_GROUP_PREFIX: '群:' }).groupPrefix).toBe('群:');
    for (const bad of ['0', '-5', '1.5', '10001', 'many']) oneProblem('standalone', { IM_GROUP_MAX_MEMBERS: bad }, 'IM_GROUP_MAX_MEMBERS');
    for (const bad of ['x'.repeat(17), 'g :', 'g\t', '0', '-', '-1']) oneProblem('standalone', { IM_GROUP_PREFIX: bad }, 'IM_GROUP_PREFIX');
  });

  it('history - IM_HISTORY on|off (on by default), IM_HISTORY_MAX_PER_CONVERSATION and IM_HISTORY_TTL_DAYS as positive integers, IM_HISTORY_MEMORY_BYTES (0: automatic); blank means the default', () => {
    expect(loadConfig('gateway', { IM_JWT_SECRET: SECRET, IM_HISTORY: 'off', IM_HISTORY_MAX_PER_CONVERSATION: '5' }).history).toBeNull();
    expect(loadConfig('dispatch', { IM_HISTORY: 'on', IM_HISTORY_MAX_PER_CONVERSATION: '500', IM_HISTORY_TTL_DAYS: '2' }).history).toEqual({
      maxPerConversation: 500,
      ttlMs: 2 * 24 * 3600 * 1000,
      memoryBytes: 0,
    });
    expect(loadConfig('standalone', { IM_HISTORY: ' ', IM_HISTORY_MAX_PER_CONVERSATION: '', IM_HISTORY_TTL_DAYS: '', IM_HISTORY_MEMORY_BYTES: ' ' }).history).toEqual({
      maxPerConversation: 10_000,
      ttlMs: 30 * 24 * 3600 * 1000,
      memoryBytes: 0,
    });
    expect(loadConfig('standalone', { IM_HISTORY_MEMORY_BYTES: '67108864' }).history?.memoryBytes).toBe(64 * 1024 * 1024);
    for (const bad of ['-1', '1.5', 'big']) oneProblem('standalone', { IM_HISTORY_MEMORY_BYTES: bad }, 'IM_HISTORY_MEMORY_BYTES');
    expect(Object.isFrozen(loadConfig('standalone', {}).history)).toBe(true);
    for (const bad of ['yes', 'true', '1', 'ON ']) oneProblem('standalone', { IM_HISTORY: bad }, 'IM_HISTORY');
    for (const bad of ['0', '-1', '1.5', 'NaN', '1e9', 'lots']) oneProblem('standalone', { IM_HISTORY_MAX_PER_CONVERSATION: bad }, 'IM_HISTORY_MAX_PER_CONVERSATION');
    for (const bad of ['0', '-3', '0.5', '3651', 'forever']) oneProblem('standalone', { IM_HISTORY_TTL_DAYS: bad }, 'IM_HISTORY_TTL_DAYS');
  });

  describe('validation - every problem together', () => {
    it('lists every bad variable in one error', () => {
      const ps = problems(() =>
        loadConfig('standalone', { IM_SENSE_MODE: '7S', IM_WS_PORT: 'abc', IM_LOG_LEVEL: 'loud', IM_REDIS_URL: 'nope' }),
      );
      expect(ps.map((p) => p.split(':')[0]).sort()).toEqual(['IM_LOG_LEVEL', 'IM_REDIS_URL', 'IM_SENSE_MODE', 'IM_WS_PORT']);
    });

    it('lists every cross-variable problem in one error', () => {
      const ps = problems(() =>
        loadConfig('gateway', { IM_JWT_SECRET: 'short', IM_CUSTODY_RESEND_MS: '5000', IM_RATE_LIMIT_PER_SEC: '1000', IM_RATE_LIMIT_BURST: '1' }),
      );
      expect(ps.map((p) => p.split(':')[0]).sort()).toEqual(['IM_CUSTODY_GIVE_UP_MS', 'IM_JWT_SECRET', 'IM_RATE_LIMIT_BURST']);
    });

    // Known bug in config.ts (reported, not fixed here: packages/cli/src is not ours): when a
    // variable fails the schema, loadConfig throws before the cross-variable checks run, so
    // "IM_AUTH=http without IM_AUTH_URL" is not listed next to a bad port. Architecture §2 says
    // one message lists every problem. Turn this into `it` once loadConfig collects both.
    // Known bug in config.ts (reported): a blank port (`IM_WS_PORT=` in a compose file) is coerced
    // to 0, "any free port", while every other blank variable counts as unset. Turn into `it` once fixed.
    it('a blank port counts as unset (its default), not as 0', () => {
      expect(loadConfig('standalone', { IM_WS_PORT: '' }).ports.ws).toBe(3000);
    });

    it('lists schema and cross-variable problems together', () => {
      const ps = problems(() => loadConfig('standalone', { IM_WS_PORT: 'abc', IM_AUTH: 'http' }));
      expect(ps.map((p) => p.split(':')[0]).sort()).toEqual(['IM_AUTH_URL', 'IM_WS_PORT']);
    });
  });
});

describe('redactedConfig', () => {
  it('hides secrets and URL passwords, keeps the rest', () => {
    const c = loadConfig('gateway', {
      IM_JWT_SECRET: SECRET,
      IM_ADMIN_TOKEN: 'admin-token',
      IM_REDIS_URL: 'redis://user:redispw@r:6379',
      IM_AMQP_URL: 'amqp://guest:amqppw@mq:5672',
    });
    const r = redactedConfig(c);
    const text = JSON.stringify(r);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('admin-token');
    expect(text).not.toContain('redispw');
    expect(text).not.toContain('amqppw');
    expect(r).toMatchObject({ jwtSecret: '[redacted]', adminToken: '[redacted]', redisUrl: 'redis://user:***@r:6379', amqpUrl: 'amqp://guest:***@mq:5672' });
    expect(r['ports']).toEqual(c.ports);
  });

  it('leaves unset secrets unset', () => {
    const r = redactedConfig(loadConfig('standalone', {}));
    expect(r['jwtSecret']).toBeUndefined();
    expect(r['adminToken']).toBeUndefined();
  });

  describe('events and webhooks', () => {
    it('events default to amqp outside standalone, off in standalone, and can be turned off', () => {
      expect(loadConfig('standalone', {}).events).toBe('off');
      expect(loadConfig('gateway', { IM_AUTH: 'none' }).events).toBe('amqp');
      expect(loadConfig('gateway', { IM_AUTH: 'none', IM_EVENTS: 'off' }).events).toBe('off');
      expect(() => loadConfig('gateway', { IM_AUTH: 'none', IM_EVENTS: 'kafka' })).toThrow(/IM_EVENTS/);
    });

    it('a webhook needs an http(s) URL and a secret of at least 16 characters', () => {
      const ok = loadConfig('standalone', { IM_WEBHOOK_URL: 'https://app.example/hooks', IM_WEBHOOK_SECRET: 'x'.repeat(16) });
      expect(ok.webhook).toMatchObject({ url: 'https://app.example/hooks', batchSize: 100, maxAttempts: 8 });
      expect(() => loadConfig('standalone', { IM_WEBHOOK_URL: 'https://app.example/hooks' })).toThrow(/IM_WEBHOOK_SECRET: required/);
      expect(() => loadConfig('standalone', { IM_WEBHOOK_URL: 'ftp://x', IM_WEBHOOK_SECRET: 'short' })).toThrow(/IM_WEBHOOK_URL[\s\S]*IM_WEBHOOK_SECRET/);
      expect(JSON.stringify(redactedConfig(ok))).not.toContain('x'.repeat(16));
    });
  });
});
