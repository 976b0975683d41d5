import { createHash } from 'node:crypto';
import { decodeJwt, jwtVerify } from 'jose';
import { ErrorCode, MAX_USER_ID_LENGTH, SERVER_UID, UNSET_UID } from '@switchboard/protocol';
import type { Logger } from '@switchboard/core';

/** What a login carries for verification. */
export interface LoginCredentials {
  userId: string;
  token: string | null;
  extra: string | null;
  /** Transport and remote address, for audit logs. */
  remote: string;
}

/** Verifies logins. Resolves a code: 0 accepts, anything else is sent to the client as the login failure code. */
export type LoginVerifier = (creds: LoginCredentials) => Promise<number>;

/**
 * The login code a client may be sent for what a verifier (webhook, hook) answered: 0 accepts;
 * an application code (an integer from 1025, MobileIMSDK's first application code, up to 2^31 − 1)
 * is passed on; anything else (negative, 1–1024, not an integer) becomes 1025 AUTH_FAILED, so a
 * MobileIMSDK client never sees a code from the framework's range, or one it cannot read.
 */
export function loginCode(answer: unknown): number {
  if (answer === ErrorCode.OK) return ErrorCode.OK;
  if (typeof answer === 'number' && Number.isInteger(answer) && answer >= ErrorCode.AUTH_FAILED && answer <= 0x7fffffff) return answer;
  return ErrorCode.AUTH_FAILED;
}

export type AuthMode = 'none' | 'jwt' | 'http';

export interface AuthOptions {
  mode: AuthMode;
  /** HS256 secret for `jwt`. */
  jwtSecret?: string;
  /** Webhook URL for `http`. */
  httpUrl?: string;
  httpTimeoutMs?: number;
  log: Logger;
}

/** Build the verifier for `IM_AUTH` (architecture §2). */
export function createLoginVerifier(opts: AuthOptions): LoginVerifier {
  switch (opts.mode) {
    case 'none':
      return async () => ErrorCode.OK;
    case 'jwt': {
      if (!opts.jwtSecret) throw new Error('jwt auth needs a secret');
      const key = new TextEncoder().encode(opts.jwtSecret);
      return async ({ userId, token }) => {
        if (!token) return ErrorCode.AUTH_FAILED;
        try {
          const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'], requiredClaims: ['sub', 'exp'] });
          return payload.sub === userId ? ErrorCode.OK : ErrorCode.AUTH_FAILED;
        } catch {
          return ErrorCode.AUTH_FAILED;
        }
      };
    }
    case 'http': {
      const url = opts.httpUrl;
      if (!url) throw new Error('http auth needs a URL');
      const timeoutMs = opts.httpTimeoutMs ?? 3_000;
      return async ({ userId, token, extra }) => {
        try {
          const res = await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ userId, token, extra }),
            signal: AbortSignal.timeout(timeoutMs),
          });
          if (!res.ok) {
            opts.log.warn({ status: res.status }, 'auth webhook answered an HTTP error');
            return ErrorCode.AUTH_UNAVAILABLE;
          }
          const body = (await res.json()) as { code?: unknown };
          if (typeof body.code !== 'number' || !Number.isInteger(body.code)) {
            opts.log.warn('auth webhook answered without an integer code');
            return ErrorCode.AUTH_UNAVAILABLE;
          }
          const code = loginCode(body.code);
          if (code !== body.code) opts.log.warn({ answered: body.code, code }, 'auth webhook answered a code outside 0 and 1025+; refusing the login with 1025');
          return code;
        } catch (err) {
          opts.log.warn({ err }, 'auth webhook unreachable');
          return ErrorCode.AUTH_UNAVAILABLE;
        }
      };
    }
  }
}

/** How long a positive answer of the auth webhook is reused for the user API (`createUserAuthenticator`). */
export const DEFAULT_USER_AUTH_CACHE_MS = 30_000;
/** Most (user, token) answers the user API's cache keeps; the oldest goes first. */
export const DEFAULT_USER_AUTH_CACHE_SIZE = 10_000;
/** Most auth webhook calls of the user API in flight at once; beyond it a request answers 503. */
export const DEFAULT_USER_AUTH_MAX_PENDING = 256;

/** What an HTTP request to the user API (dispatch's history routes) carries. */
export interface UserCredentials {
  /** The bearer token (`Authorization: Bearer <token>`), or null. */
  token: string | null;
  /** The `X-Switchboard-User` header, or null. Required in `http` mode; elsewhere, when present, it must name the token's user. */
  user: string | null;
  /** Remote address, for logs. */
  remote: string;
}

/** The user a request acts as, or why not: 401 (no or bad credentials), 503 (the auth backend is unreachable or busy). */
export type UserAuthResult = { ok: true; user: string } | { ok: false; status: 401 | 503; message: string };

/** Verifies a user API request the way logins are verified (`IM_AUTH`). */
export type UserAuthenticator = (creds: UserCredentials) => Promise<UserAuthResult>;

export interface UserAuthenticatorOptions extends AuthOptions {
  /** @default DEFAULT_USER_AUTH_CACHE_MS (at most that: longer values are cut to it) */
  cacheMs?: number;
  /** @default DEFAULT_USER_AUTH_CACHE_SIZE */
  cacheSize?: number;
  /** @default DEFAULT_USER_AUTH_MAX_PENDING */
  maxPending?: number;
  /** Clock for the cache. @default Date.now */
  now?: () => number;
  /** User ids starting with it are groups' addresses, refused as at login (docs/groups.md). @default none */
  groupPrefix?: string | null;
}

const refuse = (message: string): UserAuthResult => ({ ok: false, status: 401, message });

/** Why `user` cannot be acting user of the API, or null. The server ("0") and "no user" ("-1") are nobody. */
function userIdProblem(user: string, groupPrefix: string | null): string | null {
  if (user === '' || user.length > MAX_USER_ID_LENGTH) return `a user id has 1–${MAX_USER_ID_LENGTH} characters`;
  if (user === SERVER_UID || user === UNSET_UID) return `"${user}" is reserved`;
  if (groupPrefix && user.startsWith(groupPrefix)) return `a user id starting with "${groupPrefix}" is a group's address`;
  return null;
}

/**
 * The user API's authentication (docs/history.md "Authentication"), built on `createLoginVerifier`:
 * - `none`: the token is the user id (development only).
 * - `jwt`: the token is a JWT verified as at login (HS256 with the secret, `exp` required); the user is its `sub`.
 * - `http`: the auth webhook gets `{userId, token, extra: null}` with the user from `X-Switchboard-User`;
 *   `{code: 0}` accepts, another code refuses (401), an unreachable hook is 503. A positive answer is
 *   reused for `cacheMs` (≤ 30 s) per (user, token hash); concurrent requests with the same
 *   credentials share one call, and at most `maxPending` calls run at once (more answer 503).
 * Throws at once, like the verifier, when the mode's secret or URL is missing.
 */
export function createUserAuthenticator(opts: UserAuthenticatorOptions): UserAuthenticator {
  const verify = createLoginVerifier(opts);
  const prefix = opts.groupPrefix ?? null;
  const ask = async (user: string, token: string, remote: string): Promise<UserAuthResult> => {
    const code = await verify({ userId: user, token, extra: null, remote });
    if (code === ErrorCode.OK) return { ok: true, user };
    if (code === ErrorCode.AUTH_UNAVAILABLE) return { ok: false, status: 503, message: 'the auth service is unreachable' };
    return refuse('the token was refused');
  };
  const checked = (then: (c: UserCredentials & { token: string }) => Promise<UserAuthResult>) => async (c: UserCredentials) => {
    if (!c.token) return refuse('Authorization: Bearer <token> is required');
    if (c.user !== null && userIdProblem(c.user, prefix)) return refuse(`X-Switchboard-User: ${userIdProblem(c.user, prefix)!}`);
    return then(c as UserCredentials & { token: string });
  };
  switch (opts.mode) {
    case 'none':
      return checked(async ({ token, user }) => {
        const problem = userIdProblem(token, prefix);
        if (problem) return refuse(`the token is the user id in IM_AUTH=none: ${problem}`);
        if (user !== null && user !== token) return refuse('X-Switchboard-User does not name the token\'s user');
        return { ok: true, user: token };
      });
    case 'jwt':
      return checked(async ({ token, user, remote }) => {
        let sub: unknown;
        try {
          sub = decodeJwt(token).sub;
        } catch {
          return refuse('the token is not a JWT');
        }
        if (typeof sub !== 'string' || userIdProblem(sub, prefix)) return refuse('the token has no usable sub');
        if (user !== null && user !== sub) return refuse('X-Switchboard-User does not name the token\'s user');
        return ask(sub, token, remote);
      });
    case 'http':
      return checked(cachedWebhook(opts, ask));
  }
}

/** The `http` mode of `createUserAuthenticator`: positive answers cached, same credentials coalesced, calls bounded. */
function cachedWebhook(
  opts: UserAuthenticatorOptions,
  ask: (user: string, token: string, remote: string) => Promise<UserAuthResult>,
): (c: UserCredentials & { token: string }) => Promise<UserAuthResult> {
  const ttl = Math.min(opts.cacheMs ?? DEFAULT_USER_AUTH_CACHE_MS, DEFAULT_USER_AUTH_CACHE_MS);
  const size = opts.cacheSize ?? DEFAULT_USER_AUTH_CACHE_SIZE;
  const maxPending = opts.maxPending ?? DEFAULT_USER_AUTH_MAX_PENDING;
  const now = opts.now ?? Date.now;
  /** key → expiry; Map order is insertion order, so the first key is the oldest. */
  const cache = new Map<string, number>();
  const pending = new Map<string, Promise<UserAuthResult>>();
  return async ({ token, user, remote }) => {
    if (user === null) return refuse('X-Switchboard-User is required with IM_AUTH=http');
    const key = createHash('sha256').update(user).update('\0').update(token).digest('base64');
    const until = cache.get(key);
    if (until !== undefined) {
      if (until > now()) return { ok: true, user };
      cache.delete(key);
    }
    const running = pending.get(key);
    if (running) return running;
    if (pending.size >= maxPending) return { ok: false, status: 503, message: 'too many auth checks under way; retry' };
    const p = ask(user, token, remote).then((r) => {
      if (r.ok && ttl > 0) {
        cache.delete(key);
        cache.set(key, now() + ttl);
        if (cache.size > size) cache.delete(cache.keys().next().value!);
      }
      return r;
    });
    pending.set(key, p);
    try {
      return await p;
    } finally {
      pending.delete(key);
    }
  };
}
