import type { ClientEvent, ClientOptions, SwitchboardClient } from '../../src/index.js';
import { createNodeClient, type NodeClientOptions } from '../../src/node/index.js';

/** Poll `check` until truthy (returned) or throw after `timeoutMs`. */
export async function until<T>(check: () => T, what: string, timeoutMs = 3_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Timings shrunk ~25× so link loss, retries and backoff play out in milliseconds. */
export const FAST: Partial<ClientOptions> = {
  keepAlive: { intervalMs: 100, timeoutMs: 500 },
  keepAliveCheckIntervalMs: 25,
  qos: { checkIntervalMs: 200, justSentMs: 150, maxRetries: 2, resendGraceMs: 300 },
  reconnect: { initialDelayMs: 20, maxDelayMs: 120, multiplier: 2, jitter: 0 },
  connectTimeoutMs: 1_000,
  loginTimeoutMs: 1_000,
  dispatchTimeoutMs: 1_000,
};

/** Clients made by `client()`, closed after each test. */
export const made: SwitchboardClient[] = [];

export function client(opts: NodeClientOptions): { c: SwitchboardClient; events: ClientEvent[] } {
  const c = createNodeClient({ ...FAST, ...opts });
  made.push(c);
  const events: ClientEvent[] = [];
  c.onAny((e) => events.push(e));
  return { c, events };
}

export async function closeAll(): Promise<void> {
  await Promise.all(made.splice(0).map((c) => c.close()));
}

/** Fake servers a test started: `afterEach(closeAllAndStop)` stops them after the clients. */
export const stops: Array<{ stop(): Promise<void> }> = [];

export async function closeAllAndStop(): Promise<void> {
  await closeAll();
  await Promise.all(stops.splice(0).map((s) => s.stop().catch(() => {})));
}

/** The events of one type out of a recorded list. */
export const ofType = <K extends ClientEvent['type']>(events: ClientEvent[], type: K) =>
  events.filter((e): e is Extract<ClientEvent, { type: K }> => e.type === type);

/** QoS slow enough that a pending message stays pending for the few hundred ms a test needs. */
export const PATIENT_QOS = { checkIntervalMs: 1_000, justSentMs: 900, maxRetries: 2, resendGraceMs: 1_000 };
