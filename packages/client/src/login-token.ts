import { ErrorCode } from '@switchboard/protocol';
import { DEFAULT_TOKEN_TIMEOUT_MS } from './defaults.js';
import { ClientError, ClientErrorCode } from './errors.js';

/** Why the SDK asks `getToken` for a token: the first login, a re-login after a link loss, or a login (or user API request) the server refused with the token it had. */
export type TokenReason = 'connect' | 'reconnect' | 'refresh';

/** What `getToken` is told. */
export interface TokenContext {
  uid: string;
  reason: TokenReason;
}

/** The application's token source: called before each login, and again when the server refuses a token. */
export type GetToken = (ctx: TokenContext) => Promise<string> | string;

/** Logins retried with a token from `getToken({ reason: 'refresh' })` after a 1025, per refusal streak. */
export const TOKEN_REFRESHES_PER_REFUSAL = 1;

/**
 * The login token of a client: the fixed `token` option, or what `getToken` answers before each login
 * (and after a refusal). Keeps the current one for the user API. A `getToken` that throws, answers
 * something else than a string, or does not answer within `timeoutMs` is a `TOKEN_FAILED` error
 * (retryable: the client tries again with backoff).
 */
export class LoginTokens {
  private current: string | null;
  private refreshesLeft = TOKEN_REFRESHES_PER_REFUSAL;
  private refreshNext = false;
  private inflight: Promise<string> | null = null;

  constructor(
    private readonly uid: string,
    fixed: string | null | undefined,
    private readonly getToken: GetToken | undefined,
    private readonly timeoutMs: number = DEFAULT_TOKEN_TIMEOUT_MS,
  ) {
    if (getToken !== undefined && typeof getToken !== 'function') {
      throw new ClientError(ClientErrorCode.INVALID_ARGUMENT, 'getToken must be a function');
    }
    if (getToken && fixed != null) {
      throw new ClientError(ClientErrorCode.INVALID_ARGUMENT, 'give token or getToken, not both');
    }
    this.current = fixed ?? null;
  }

  /** The token of the last login (or the last one `getToken` answered); null without any. */
  get token(): string | null {
    return this.current;
  }

  /** The token for the next login: the fixed one, or `getToken`'s (`connect`, `reconnect`, or `refresh` after a refusal). */
  async forLogin(everOnline: boolean): Promise<string | null> {
    if (!this.getToken) return this.current;
    // After a refusal every attempt asks for a new token until one logs in.
    return this.ask(this.refreshNext ? 'refresh' : everOnline ? 'reconnect' : 'connect');
  }

  /**
   * A login was refused with `code`. With `getToken` and a 1025 (the token refused) the next login
   * asks it for a new token, once per refusal streak: the retry's error (retryable). Null when the
   * refusal stands (no `getToken`, another code, or the refreshed token was refused too).
   */
  refused(code: number): ClientError | null {
    if (!this.getToken || code !== ErrorCode.AUTH_FAILED || this.refreshesLeft <= 0) return null;
    this.refreshesLeft--;
    this.refreshNext = true;
    return new ClientError(ClientErrorCode.LOGIN_REJECTED, `login refused with code ${code} (token refused); retrying with a new token from getToken`, {
      serverCode: code,
      retryable: true,
    });
  }

  /** Logged in: a later refusal may be retried with a new token again. */
  loggedIn(): void {
    this.refreshesLeft = TOKEN_REFRESHES_PER_REFUSAL;
    this.refreshNext = false;
  }

  /** The user API refused the current token (401): a new one from `getToken` (`refresh`), null without `getToken`. */
  async refreshForApi(): Promise<string | null> {
    if (!this.getToken) return null;
    return this.ask('refresh');
  }

  /** One call of `getToken` at a time: a caller that comes while one runs shares its answer. */
  private ask(reason: TokenReason): Promise<string> {
    this.inflight ??= this.call(reason).finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  private async call(reason: TokenReason): Promise<string> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ClientError(ClientErrorCode.TOKEN_FAILED, `getToken (${reason}) did not answer within ${this.timeoutMs} ms`, { retryable: true })),
        this.timeoutMs,
      );
    });
    try {
      const token: unknown = await Promise.race([Promise.resolve().then(() => this.getToken!({ uid: this.uid, reason })), deadline]);
      if (typeof token !== 'string' || token.length === 0) {
        throw new ClientError(ClientErrorCode.TOKEN_FAILED, `getToken (${reason}) answered ${token === '' ? 'an empty string' : typeof token}, not a token`, { retryable: true });
      }
      this.current = token;
      return token;
    } catch (err) {
      if (err instanceof ClientError && err.code === ClientErrorCode.TOKEN_FAILED) throw err;
      const why = err instanceof Error ? err.message : String(err);
      throw new ClientError(ClientErrorCode.TOKEN_FAILED, `getToken (${reason}) failed: ${why}`, { cause: err, retryable: true });
    } finally {
      clearTimeout(timer);
    }
  }
}
