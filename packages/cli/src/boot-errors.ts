import { UnavailableError } from '@switchboard/core';

/**
 * Failures at boot told as one line each: what failed, which variable, what to do. main.ts prints
 * a BootError's message without a stack and exits with its code (1: a runtime failure).
 */
export class BootError extends Error {
  override name = 'BootError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** `scheme://user:***@host…`: a URL with its password hidden, for messages and logs. */
export function maskUrl(u: string): string {
  return u.replace(/\/\/([^:@/,]*):([^@/,]*)@/g, '//$1:***@');
}

/** The innermost message of an error and its causes (the network error under a library's wrapper). */
export function rootMessage(err: unknown): string {
  let e: unknown = err;
  for (let i = 0; i < 10 && e instanceof Error && e.cause !== undefined; i++) e = e.cause;
  const msg = e instanceof Error ? e.message : String(e);
  return msg || (err instanceof Error ? err.message : String(err));
}

/** The variable that sets each listener's port, and what it serves. */
export const LISTENER_PORTS = {
  ws: { variable: 'IM_WS_PORT', what: 'WebSocket clients' },
  tcp: { variable: 'IM_TCP_PORT', what: 'TCP clients' },
  udp: { variable: 'IM_UDP_PORT', what: 'UDP clients' },
  admin: { variable: 'IM_ADMIN_PORT', what: 'the gateway admin API' },
  dispatch: { variable: 'IM_DISPATCH_PORT', what: 'dispatch' },
} as const;
export type ListenerName = keyof typeof LISTENER_PORTS;

const LISTEN_CODES: Record<string, string> = {
  EADDRINUSE: 'the port is in use',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'the address is not on this machine (IM_BIND_HOST)',
};

/** Whether `err` is a failed listen or bind of a server socket. */
export function isListenError(err: unknown): err is NodeJS.ErrnoException & { listener?: string } {
  const e = err as NodeJS.ErrnoException | null;
  return e instanceof Error && (e.syscall === 'listen' || e.syscall === 'bind') && typeof e.code === 'string' && e.code in LISTEN_CODES;
}

/**
 * A BootError for a listener that could not bind, naming its port variable; `err` itself when it
 * is not a listen failure. The listener is `fallback`, or the one the gateway tagged the error with.
 */
export function listenFailure(err: unknown, host: string, port: number, fallback?: ListenerName): unknown {
  if (!isListenError(err)) return err;
  const name = (typeof err.listener === 'string' && err.listener in LISTENER_PORTS ? err.listener : fallback) as ListenerName | undefined;
  if (name === undefined) return err;
  const { variable, what } = LISTENER_PORTS[name];
  const errPort: unknown = (err as { port?: unknown }).port;
  const p = typeof errPort === 'number' ? errPort : port;
  const why = LISTEN_CODES[err.code!]!;
  const fix = err.code === 'EADDRNOTAVAIL' ? 'set IM_BIND_HOST to an address of this machine' : `set ${variable} to a free port (0 picks any)`;
  return new BootError(`cannot listen on ${host}:${p} for ${what}: ${why} (${err.code}); ${fix}`);
}

/** Run `fn`, turning a listen failure into a BootError naming `listener`'s variable. */
export async function bindOrExplain<T>(listener: ListenerName, host: string, port: number, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw listenFailure(err, host, port, listener);
  }
}

/** What the Redis client last reported (its connection error), so a timeout can say why. */
interface ErrorSource {
  on(event: 'error', fn: (err: Error) => void): unknown;
  off(event: 'error', fn: (err: Error) => void): unknown;
}

/** Await Redis's first answer; failing, a BootError naming the URL and `IM_REDIS_URL`. */
export async function needRedis<T>(url: string, client: ErrorSource, fn: () => Promise<T>): Promise<T> {
  let last: Error | undefined;
  const onError = (err: Error): void => {
    last = err;
  };
  client.on('error', onError);
  try {
    return await fn();
  } catch (err) {
    const why = last ? rootMessage(last) : rootMessage(err);
    throw new BootError(`Redis at ${maskUrl(url)} (IM_REDIS_URL) is unreachable: ${why}; start Redis or set IM_REDIS_URL`);
  } finally {
    client.off('error', onError);
  }
}

/** A BootError for RabbitMQ unreachable at boot (`err` an UnavailableError), naming the URL and `IM_AMQP_URL`; else `err`. */
export function rabbitFailure(err: unknown, url: string): unknown {
  if (!(err instanceof UnavailableError)) return err;
  return new BootError(`RabbitMQ at ${maskUrl(url)} (IM_AMQP_URL) is unreachable: ${rootMessage(err)}; start RabbitMQ or set IM_AMQP_URL`);
}
