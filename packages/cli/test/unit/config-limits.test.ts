// The abuse limits' variables (docs/operations.md "Abuse limits"): defaults, validation at boot,
// and the metrics token kept out of the boot log.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@switchboard/core';
import { loadConfig, redactedConfig } from '../../src/config.js';

describe('config - abuse limits', () => {
  it('defaults - 8 MiB per sender per hour, automatic ceiling, no receiver check, 10 s login deadline, 250,000 connections, 4,096 not logged in per address', () => {
    const c = loadConfig('standalone', {});
    expect(c.offlineBudget).toEqual({ senderBytes: 8 * 1024 * 1024, windowMs: 3_600_000, ceilingBytes: 0 });
    expect(c.receiverCheck).toBeUndefined();
    expect(c.loginTimeoutMs).toBe(10_000);
    expect(c.maxConnections).toBe(250_000);
    expect(c.maxUnauthPerIp).toBe(4_096);
    expect(c.metricsToken).toBeUndefined();
    expect(c.udpMaxSessions).toBe(50_000);
  });

  it('set - every variable is read; the receiver check takes its timeout and cache', () => {
    const c = loadConfig('gateway', {
      IM_AUTH: 'none',
      IM_OFFLINE_SENDER_BUDGET_BYTES: '1048576',
      IM_OFFLINE_SENDER_WINDOW_MS: '60000',
      IM_OFFLINE_STORAGE_CEILING_BYTES: '2000000000',
      IM_RECEIVER_CHECK_URL: 'https://users.example.com/exists',
      IM_RECEIVER_CHECK_TIMEOUT_MS: '500',
      IM_RECEIVER_CHECK_CACHE_MS: '0',
      IM_LOGIN_TIMEOUT_MS: '5000',
      IM_MAX_CONNECTIONS: '1000',
      IM_MAX_UNAUTH_PER_IP: '10',
      IM_METRICS_TOKEN: 'scrape-me-0123456789',
      IM_UDP_MAX_SESSIONS: '2000',
    });
    expect(c.offlineBudget).toEqual({ senderBytes: 1_048_576, windowMs: 60_000, ceilingBytes: 2_000_000_000 });
    expect(c.receiverCheck).toEqual({ url: 'https://users.example.com/exists', timeoutMs: 500, cacheMs: 0 });
    expect([c.loginTimeoutMs, c.maxConnections, c.maxUnauthPerIp, c.metricsToken]).toEqual([5_000, 1_000, 10, 'scrape-me-0123456789']);
    expect(redactedConfig(c).metricsToken).toBe('[redacted]');
    expect(c.udpMaxSessions).toBe(2_000);
  });

  it('IM_UDP_MAX_SESSIONS - a whole number from 1 to 10,000,000; blank is the default', () => {
    expect(loadConfig('standalone', { IM_UDP_MAX_SESSIONS: '' }).udpMaxSessions).toBe(50_000);
    expect(loadConfig('standalone', { IM_UDP_MAX_SESSIONS: '1' }).udpMaxSessions).toBe(1);
    expect(loadConfig('standalone', { IM_UDP_MAX_SESSIONS: '10000000' }).udpMaxSessions).toBe(10_000_000);
    for (const bad of ['0', '-1', '1.5', 'many', '10000001']) {
      expect(() => loadConfig('standalone', { IM_UDP_MAX_SESSIONS: bad }), bad).toThrow(/IM_UDP_MAX_SESSIONS/);
    }
  });

  it('invalid - every bad value is reported together at boot', () => {
    let err: unknown;
    try {
      loadConfig('standalone', {
        IM_OFFLINE_SENDER_BUDGET_BYTES: '0',
        IM_OFFLINE_STORAGE_CEILING_BYTES: '-1',
        IM_RECEIVER_CHECK_URL: 'ftp://x',
        IM_LOGIN_TIMEOUT_MS: 'soon',
        IM_MAX_CONNECTIONS: '0',
        IM_MAX_UNAUTH_PER_IP: '1.5',
        IM_UDP_MAX_SESSIONS: '0',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    for (const name of ['IM_OFFLINE_SENDER_BUDGET_BYTES', 'IM_OFFLINE_STORAGE_CEILING_BYTES', 'IM_RECEIVER_CHECK_URL', 'IM_LOGIN_TIMEOUT_MS', 'IM_MAX_CONNECTIONS', 'IM_MAX_UNAUTH_PER_IP', 'IM_UDP_MAX_SESSIONS']) {
      expect(msg).toContain(name);
    }
  });
});
