import { afterEach, describe, expect, it, vi } from 'vitest';
import { AdminApi, AdminApiError } from '../../src/admin/api.js';
import { formatAddress, formatAge, formatCpu, formatLag, formatNumber, loadScore } from '../../src/admin/format.js';

describe('admin dashboard formatting', () => {
  it('formatNumber - integers as they are, fractions to one decimal, large values in k and M', () => {
    expect([0, 7, 123, 9999].map(formatNumber)).toEqual(['0', '7', '123', '9999']);
    expect([2.25, 0.04, 150.6].map(formatNumber)).toEqual(['2.3', '0', '151']);
    expect([12_345, 1_500_000, -20_000].map(formatNumber)).toEqual(['12.3k', '1.5M', '-20k']);
    expect(formatNumber(Number.NaN)).toBe('–');
  });

  it('formatLag / formatCpu - ms with one decimal below 10 ms, seconds from 1 s; cpu as % of one core', () => {
    expect([0, 0.44, 12.4, 1500].map(formatLag)).toEqual(['0.0 ms', '0.4 ms', '12 ms', '1.5 s']);
    expect([0, 0.123, 1.5].map(formatCpu)).toEqual(['0 %', '12 %', '150 %']);
  });

  it('formatAge - two units at most', () => {
    const t = 1_000_000_000;
    expect(formatAge(t - 45_000, t)).toBe('45s');
    expect(formatAge(t - 192_000, t)).toBe('3m 12s');
    expect(formatAge(t - (2 * 3600 + 5 * 60) * 1000, t)).toBe('2h 05m');
    expect(formatAge(t - (4 * 86400 + 3 * 3600) * 1000, t)).toBe('4d 3h');
    expect(formatAge(t + 5_000, t)).toBe('0s'); // clock skew between dispatch and the browser
  });

  it('formatAddress - the host and every listening port', () => {
    expect(formatAddress({ host: '10.0.0.5', ports: { ws: 3000, tcp: 8901, udp: 0, admin: 9100 } })).toBe('10.0.0.5 · ws 3000 · tcp 8901 · admin 9100');
  });

  it('loadScore - connections plus lag and cpu counted as extra connections', () => {
    expect(loadScore({ connections: 10, loopLagMs: 1.5, cpu: 0.25 })).toBe(18);
    expect(loadScore({ connections: 200, loopLagMs: 900, cpu: 1 })).toBe(240);
  });
});

describe('AdminApi', () => {
  afterEach(() => vi.unstubAllGlobals());

  function stubFetch(status: number, body: unknown) {
    const calls: Array<{ url: string; init: RequestInit }> = [];
    vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
      calls.push({ url, init });
      return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
    });
    return calls;
  }

  it('token - sent as a bearer token; an empty token sends no Authorization header', async () => {
    const calls = stubFetch(200, { nodes: [] });
    await new AdminApi('http://d', 'secret').nodes();
    await new AdminApi('http://d', '').nodes();
    expect(calls.map((c) => (c.init.headers as Record<string, string>)['authorization'])).toEqual(['Bearer secret', undefined]);
    expect(calls[0]!.url).toBe('http://d/admin/nodes');
  });

  it('errors - 401 and 403 are auth errors, others http errors with the server message, no answer a network error', async () => {
    stubFetch(401, { error: 'unauthorized', message: 'a valid admin bearer token is required' });
    await expect(new AdminApi('http://d', 'x').stats()).rejects.toMatchObject({ kind: 'auth', status: 401 });
    stubFetch(403, { error: 'forbidden' });
    await expect(new AdminApi('http://d', '').stats()).rejects.toMatchObject({ kind: 'auth', status: 403 });
    stubFetch(404, { error: 'not_found', message: 'bob is not online' });
    const err = await new AdminApi('http://d', 'x').kick('bob', 'r').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdminApiError);
    expect(err).toMatchObject({ kind: 'http', status: 404, message: 'POST /admin/users/bob/kick: 404 bob is not online' });
    vi.stubGlobal('fetch', async () => {
      throw new TypeError('fetch failed');
    });
    await expect(new AdminApi('http://d', 'x').nodes()).rejects.toMatchObject({ kind: 'network', status: 0 });
  });

  it('paths - user ids and node ids are URL-encoded; kick sends its reason', async () => {
    const calls = stubFetch(200, {});
    await new AdminApi('http://d', 'x').kick('a b/c', 'bye');
    await new AdminApi('http://d', 'x').drain('gw-1');
    expect(calls.map((c) => [c.init.method, c.url, c.init.body])).toEqual([
      ['POST', 'http://d/admin/users/a%20b%2Fc/kick', '{"reason":"bye"}'],
      ['POST', 'http://d/admin/nodes/gw-1/drain', undefined],
    ]);
  });
});
