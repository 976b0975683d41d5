import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { silentLogger } from '@switchboard/core';
import { createLoginVerifier } from '@switchboard/gateway';
import { DEFAULT_TOKEN_TTL_S, mintToken, parseTtl, runToken, TOKEN_USAGE } from '../../src/token.js';

const SECRET = 'a-development-secret-0123456789';

/** Run `switchboard token <argv>` on in-memory streams. */
async function token(argv: string[], env: Record<string, string | undefined> = { IM_JWT_SECRET: SECRET }) {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks = { out: '', err: '' };
  out.on('data', (d: Buffer) => (chunks.out += d.toString('utf8')));
  err.on('data', (d: Buffer) => (chunks.err += d.toString('utf8')));
  const code = await runToken(argv, env, out, err);
  return { code, ...chunks };
}

describe('switchboard token', () => {
  it('mints an HS256 JWT { sub, iat, exp } that a gateway with IM_AUTH=jwt and the same secret accepts for that user only', async () => {
    const before = Math.floor(Date.now() / 1000);
    const r = await token(['--uid', 'alice']);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const jwt = r.out.trim();
    expect(decodeProtectedHeader(jwt)).toEqual({ alg: 'HS256', typ: 'JWT' });
    const claims = decodeJwt(jwt);
    expect(Object.keys(claims).sort()).toEqual(['exp', 'iat', 'sub']);
    expect(claims.sub).toBe('alice');
    expect(claims.iat).toBeGreaterThanOrEqual(before);
    expect(claims.exp! - claims.iat!).toBe(DEFAULT_TOKEN_TTL_S);
    const verify = createLoginVerifier({ mode: 'jwt', jwtSecret: SECRET, log: silentLogger() });
    const login = (userId: string, t: string) => verify({ userId, token: t, extra: null, remote: 'test' });
    expect(await login('alice', jwt)).toBe(0);
    expect(await login('bob', jwt)).toBe(1025);
    const other = createLoginVerifier({ mode: 'jwt', jwtSecret: `${SECRET}-other`, log: silentLogger() });
    expect(await other({ userId: 'alice', token: jwt, extra: null, remote: 'test' })).toBe(1025);
  });

  it('--ttl sets exp; an expired token is refused by the gateway', async () => {
    const r = await token(['--uid', 'bob', '--ttl', '15m']);
    const c = decodeJwt(r.out.trim());
    expect(c.exp! - c.iat!).toBe(900);
    expect(['90s', '15m', '1h', '7d', '30d'].map(parseTtl)).toEqual([90, 900, 3_600, 604_800, 2_592_000]);
    for (const bad of ['1', '0s', '31d', '1.5h', '-1h', 'h', '1w', '']) expect(parseTtl(bad), bad).toBeNull();
    const expired = await mintToken({ uid: 'bob', secret: SECRET, ttlS: 60, now: Date.now() - 120_000 });
    const verify = createLoginVerifier({ mode: 'jwt', jwtSecret: SECRET, log: silentLogger() });
    expect(await verify({ userId: 'bob', token: expired, extra: null, remote: 'test' })).toBe(1025);
  });

  it('mistakes exit 2 with one line naming them: no IM_JWT_SECRET, a short one, no --uid, a reserved uid, a bad --ttl, an unknown option', async () => {
    const cases: Array<[string[], Record<string, string | undefined>, RegExp]> = [
      [['--uid', 'alice'], {}, /^switchboard token: IM_JWT_SECRET is not set: export the secret the gateways check tokens with \(IM_AUTH=jwt\) and run again$/],
      [['--uid', 'alice'], { IM_JWT_SECRET: 'short' }, /IM_JWT_SECRET is shorter than 16 characters/],
      [[], { IM_JWT_SECRET: SECRET }, /--uid is required/],
      [['--uid', '0'], { IM_JWT_SECRET: SECRET }, /--uid must be a user id of 1 to 128 characters other than "0" and "-1"/],
      [['--uid', 'a', '--ttl', '2w'], { IM_JWT_SECRET: SECRET }, /--ttl must be a whole number with s, m, h or d, from 1s to 30d \(like 15m or 1h\), got "2w"/],
      [['--uid', 'a', '--secret', 'x'], { IM_JWT_SECRET: SECRET }, /Unknown option '--secret'; see: switchboard token --help$/],
    ];
    for (const [argv, env, re] of cases) {
      const r = await token(argv, env);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.out).toBe('');
      expect(r.err.split('\n')).toHaveLength(2); // one line and its newline
      expect(r.err.trim()).toMatch(re);
    }
  });

  it('--help prints the usage, without needing the secret', async () => {
    const r = await token(['--help'], {});
    expect(r.code).toBe(0);
    expect(r.out).toBe(TOKEN_USAGE + '\n');
    expect(TOKEN_USAGE).toMatch(/^Usage: switchboard token --uid ID \[--ttl 1h\]/);
  });
});
