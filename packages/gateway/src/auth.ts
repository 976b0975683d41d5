import { jwtVerify } from 'jose';
import { ErrorCode } from '@switchboard/protocol';
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
          return body.code;
        } catch (err) {
          opts.log.warn({ err }, 'auth webhook unreachable');
          return ErrorCode.AUTH_UNAVAILABLE;
        }
      };
    }
  }
}
