import type { ChannelModel } from 'amqplib';
import { InvalidArgumentError, backoffMs } from '@switchboard/core';

/**
 * Pieces shared by the RabbitMQ clients in this folder (AmqpBridge, AmqpEventsPublisher): option
 * checks, the connection URL, the hung-broker escape hatch and the reconnect delay.
 */

/** True for an integer > 0. */
export function isPositiveInt(n: number): boolean {
  return Number.isInteger(n) && n > 0;
}

/** Throw InvalidArgumentError (`<owner>: <name> must be a positive integer, got <v>`) for the first bad value. */
export function requirePositiveInts(owner: string, values: Readonly<Record<string, number>>): void {
  for (const [name, v] of Object.entries(values)) {
    if (!isPositiveInt(v)) throw new InvalidArgumentError(`${owner}: ${name} must be a positive integer, got ${v}`);
  }
}

/**
 * Validate an `amqp:`/`amqps:` URL and return it with a `heartbeat` query parameter (seconds),
 * unless the URL already has one. Throws InvalidArgumentError naming `owner`.
 */
export function amqpUrlWithHeartbeat(owner: string, raw: unknown, heartbeatS: number): string {
  if (typeof raw !== 'string' || raw.length === 0) throw new InvalidArgumentError(`${owner}: url is required`);
  if (!Number.isInteger(heartbeatS) || heartbeatS < 0) {
    throw new InvalidArgumentError(`${owner}: heartbeatS must be a non-negative integer, got ${heartbeatS}`);
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch (err) {
    throw new InvalidArgumentError(`${owner}: url is not a valid URL`, { cause: err });
  }
  if (url.protocol !== 'amqp:' && url.protocol !== 'amqps:') {
    throw new InvalidArgumentError(`${owner}: url must use amqp: or amqps:, got ${url.protocol}`);
  }
  if (!url.searchParams.has('heartbeat')) url.searchParams.set('heartbeat', String(heartbeatS));
  return url.toString();
}

/**
 * Last resort when the broker does not answer connection.close (hung broker): drop the socket so
 * nothing outlives `close()`. amqplib has no public abort; its Connection keeps the socket as `stream`.
 */
export function destroySocket(conn: ChannelModel): void {
  const internal = conn as unknown as { connection?: { stream?: { destroy?: () => void } } };
  internal.connection?.stream?.destroy?.();
}

/**
 * The timer of a reconnect loop: one pending attempt at a time, each scheduled after a capped
 * exponential delay with jitter (`backoffMs`: attempt n waits between half and all of
 * `min(maxMs, baseMs * 2^n)`). `reset()` after a success starts the next outage from `baseMs`
 * again. The timer is unref'd: a reconnect loop never keeps the process alive.
 */
export class ReconnectTimer {
  private timer: NodeJS.Timeout | undefined;
  private _attempt = 0;

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
  ) {}

  /** Attempts scheduled since the last `reset()`. */
  get attempt(): number {
    return this._attempt;
  }

  /** Whether an attempt is scheduled and not yet run. */
  get pending(): boolean {
    return this.timer !== undefined;
  }

  /**
   * Run `fn` after the next delay. Returns the delay in ms, or `undefined` (and does nothing) when
   * an attempt is already pending.
   */
  schedule(fn: () => void): number | undefined {
    if (this.timer !== undefined) return undefined;
    const wait = backoffMs(this._attempt, this.baseMs, this.maxMs);
    this._attempt += 1;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      fn();
    }, wait);
    this.timer.unref();
    return wait;
  }

  /** The connection is back: the next outage starts from the first delay. */
  reset(): void {
    this._attempt = 0;
  }

  /** Drop the pending attempt, if any. */
  cancel(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
