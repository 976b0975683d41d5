import { ErrorCode } from '@switchboard/protocol';

/** Codes of the errors the SDK throws, rejects with, or reports in `error` events. Branch on these, never on messages. */
export const ClientErrorCode = {
  /** `send()` on a client that is not started, or was closed, kicked or rejected. */
  NOT_CONNECTED: 'IM_ERR_NOT_CONNECTED',
  /** The client was closed by the application (pending work ends with this). */
  CLOSED: 'IM_ERR_CLIENT_CLOSED',
  /** The server kicked this session (duplicate login or admin); the client does not reconnect. */
  KICKED: 'IM_ERR_KICKED',
  /** The server refused the login (`serverCode` holds its code, e.g. 1025 bad token). Not retried. */
  LOGIN_REJECTED: 'IM_ERR_LOGIN_REJECTED',
  /** The application's `getToken` threw, answered no token, or did not answer in time. Retried with backoff. */
  TOKEN_FAILED: 'IM_ERR_TOKEN_FAILED',
  /** A QoS message got no ack after every retry, or the server refused it. */
  MESSAGE_LOST: 'IM_ERR_MESSAGE_LOST',
  /** Dispatch could not be reached or had no gateway to offer. Retried with backoff. */
  DISPATCH_FAILED: 'IM_ERR_DISPATCH_FAILED',
  /** The gateway could not be reached. Retried with backoff. */
  CONNECT_FAILED: 'IM_ERR_CONNECT_FAILED',
  /** The link went down (socket closed or keepalive timeout). Retried with backoff. */
  LINK_LOST: 'IM_ERR_LINK_LOST',
  /** A step (connect, login, dispatch) did not finish in time. Retried with backoff. */
  TIMEOUT: 'IM_ERR_TIMEOUT',
  /** The server sent an error packet (type 52); `serverCode` holds its code. */
  SERVER_ERROR: 'IM_ERR_SERVER_ERROR',
  /** A bad argument or option. */
  INVALID_ARGUMENT: 'IM_ERR_INVALID_ARGUMENT',
  /** The user API (history, conversations, read) refused the credentials (401): a missing, bad or expired token. */
  API_UNAUTHORIZED: 'IM_ERR_API_UNAUTHORIZED',
  /** The user API is unavailable: a backend is down (503, `retryable`), or the server keeps no history (404 `history_off`). */
  API_UNAVAILABLE: 'IM_ERR_API_UNAVAILABLE',
  /** A user API request failed otherwise: unreachable, another status (`serverCode`), or a malformed answer. */
  API_FAILED: 'IM_ERR_API_FAILED',
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

export interface ClientErrorOptions {
  cause?: unknown;
  /** The server's numeric code (login response code, error packet `errorCode`, or a user API request's HTTP status). */
  serverCode?: number;
  /** True when trying again later may succeed. */
  retryable?: boolean;
}

/** The one error class of the SDK (plus `MessageLostError`). */
export class ClientError extends Error {
  override name = 'ClientError';
  readonly code: ClientErrorCode;
  readonly serverCode: number | undefined;
  readonly retryable: boolean;
  constructor(code: ClientErrorCode, message: string, options: ClientErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.serverCode = options.serverCode;
    this.retryable = options.retryable ?? false;
  }
}

/** Why a QoS message was given up. */
export const LossReason = {
  /** No ack after MobileIMSDK's retries, or none within the send's `timeoutMs`. */
  TIMEOUT: 'timeout',
  /** The server refused it with an error packet naming its fingerprint (see `serverCode`). */
  REJECTED: 'rejected',
  /** The session was kicked while the message was pending. */
  KICKED: 'kicked',
  /** The application closed the client while the message was pending. */
  CLOSED: 'closed',
} as const;
export type LossReason = (typeof LossReason)[keyof typeof LossReason];

/** What the server's refusal codes mean, for the message of a `MessageLostError`. */
const REFUSALS: Readonly<Record<number, string>> = {
  [ErrorCode.OFFLINE_QUEUE_FULL]: "the receiver's offline queue is full",
  [ErrorCode.MESSAGE_TOO_LARGE]: 'too large',
  [ErrorCode.REJECTED]: 'rejected by the application',
  [ErrorCode.NOT_A_MEMBER]: 'not a member of that group, or no such group',
};

/** `send()` rejects with this when the message is lost; the `lost` event carries the same facts. */
export class MessageLostError extends ClientError {
  override name = 'MessageLostError';
  readonly fp: string;
  readonly to: string;
  readonly reason: LossReason;
  /** `detail`: what the message says after the reason (`no ack within 2000 ms`). */
  constructor(fp: string, to: string, reason: LossReason, options: { serverCode?: number; detail?: string } = {}) {
    const code = options.serverCode;
    const why =
      code !== undefined ? `${reason}: ${code}${REFUSALS[code] ? ` ${REFUSALS[code]}` : ''}` : options.detail ? `${reason}: ${options.detail}` : reason;
    super(ClientErrorCode.MESSAGE_LOST, `message ${fp} to ${to} lost (${why})`, {
      ...(options.serverCode === undefined ? {} : { serverCode: options.serverCode }),
      retryable: reason === LossReason.TIMEOUT,
    });
    this.fp = fp;
    this.to = to;
    this.reason = reason;
  }
}

export function isClientError(err: unknown): err is ClientError {
  return err instanceof ClientError;
}
