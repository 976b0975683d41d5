/** Catalog of internal error codes. Wire codes live in @switchboard/protocol. */
export const ImErrorCode = {
  INVALID_CONFIG: 'IM_ERR_INVALID_CONFIG',
  INVALID_ARGUMENT: 'IM_ERR_INVALID_ARGUMENT',
  UNAVAILABLE: 'IM_ERR_UNAVAILABLE',
  TIMEOUT: 'IM_ERR_TIMEOUT',
  UNROUTABLE: 'IM_ERR_UNROUTABLE',
  CLOSED: 'IM_ERR_CLOSED',
  QUEUE_FULL: 'IM_ERR_QUEUE_FULL',
} as const;
export type ImErrorCode = (typeof ImErrorCode)[keyof typeof ImErrorCode];

export interface ImErrorOptions {
  cause?: unknown;
  /** HTTP status to answer with when this error reaches an HTTP boundary. */
  status?: number;
  /** True when the same call may succeed later. */
  retryable?: boolean;
}

/** Base error of Switchboard. Branch on `code`, never on `message`. */
export class ImError extends Error {
  override name = 'ImError';
  readonly code: ImErrorCode;
  readonly status: number | undefined;
  readonly retryable: boolean;
  constructor(code: ImErrorCode, message: string, options: ImErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status;
    this.retryable = options.retryable ?? false;
  }
}

/** A backend (Redis, RabbitMQ, an auth service) could not be reached. Retryable. */
export class UnavailableError extends ImError {
  override name = 'UnavailableError';
  constructor(message: string, options: Omit<ImErrorOptions, 'retryable'> = {}) {
    super(ImErrorCode.UNAVAILABLE, message, { status: 503, ...options, retryable: true });
  }
}

/** An operation did not finish in time. Retryable. */
export class TimeoutError extends ImError {
  override name = 'TimeoutError';
  constructor(message: string, options: Omit<ImErrorOptions, 'retryable'> = {}) {
    super(ImErrorCode.TIMEOUT, message, { status: 504, ...options, retryable: true });
  }
}

/** A caller passed something invalid. */
export class InvalidArgumentError extends ImError {
  override name = 'InvalidArgumentError';
  constructor(message: string, options: Omit<ImErrorOptions, 'retryable'> = {}) {
    super(ImErrorCode.INVALID_ARGUMENT, message, { status: 400, ...options, retryable: false });
  }
}

/** A bridge message had no queue to go to: its target node is gone. */
export class UnroutableError extends ImError {
  override name = 'UnroutableError';
  constructor(message: string, options: Omit<ImErrorOptions, 'retryable'> = {}) {
    super(ImErrorCode.UNROUTABLE, message, { ...options, retryable: false });
  }
}

/** Wrap anything thrown by a foreign library so the caller sees an ImError with the original as cause. */
export function toImError(err: unknown, fallback: (cause: unknown) => ImError): ImError {
  return err instanceof ImError ? err : fallback(err);
}
