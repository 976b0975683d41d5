import { createHash, randomUUID } from 'node:crypto';
import { UnavailableError } from '@switchboard/core';
import type { EventSink, ImEvent, ImEventType } from './events.js';

/** An event before its id is set: what a gateway builds, then passes to `withEventId`. */
export type ImEventDraft = ImEvent extends infer E ? (E extends ImEvent ? Omit<E, 'id'> : never) : never;

/**
 * The idempotency key of an event (docs/events.md "Idempotency"): a function of what identifies the
 * occurrence, so a gateway that publishes the same occurrence again (a client resending a C2S
 * message after a failed publish, a retried webhook) produces the same id, on any gateway.
 *
 * - `login` / `logout`: the gateway + the connection id (only that gateway ever reports that connection).
 * - `c2s`: sender + fp; a C2S message without fp (no QoS, never resent) gets a random id.
 * - `c2c.delivered` / `c2c.offline` / `lost`: sender + receiver + fp.
 * - `push.needed`: the user + the fp of the newest message of the window.
 *
 * The id is 32 hex characters (the first 128 bits of a SHA-256), opaque to consumers.
 */
export function imEventId(e: ImEventDraft): string {
  let parts: unknown[];
  switch (e.type) {
    case 'login':
    case 'logout':
      parts = [e.type, e.nodeId, e.connId];
      break;
    case 'c2s':
      if (e.fp === null || e.fp === '') return randomUUID().replace(/-/g, '');
      parts = [e.type, e.from, e.fp];
      break;
    case 'c2c.delivered':
    case 'c2c.offline':
    case 'lost':
      parts = [e.type, e.from, e.to, e.fp];
      break;
    case 'group.message':
      parts = [e.type, e.from, e.group, e.fp];
      break;
    case 'push.needed':
      parts = [e.type, e.user, e.fp];
      break;
  }
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}

/**
 * A copy of `draft` with its `id` (see `imEventId`), keys in the order of docs/events.md: `type`, `id`,
 * then the draft's. (Not `{ ...draft, id }`: in V8 a spread with more keys after it takes a slow path,
 * a few µs per event, for every message of a cluster with events on.)
 */
export function withEventId(draft: ImEventDraft): ImEvent {
  return Object.assign({ type: draft.type, id: imEventId(draft) }, draft) as ImEvent;
}

/**
 * One sink that publishes every event to all of `sinks` at once. `publish` resolves when every sink
 * resolved, and rejects with the error of the first sink (in list order) that rejected, after all
 * of them settled: the others still got the event. A sink that throws synchronously counts as a
 * rejection. `close` closes every sink (concurrently), is idempotent, and rejects with the first
 * failure once all are closed.
 *
 * Put only sinks whose `publish` means "safe" in front of a C2S ack: the gateway acks a C2S message
 * when the fanned-out publish resolved. `WebhookSink` resolves as soon as the event is queued, so
 * it never holds up messaging.
 */
export function fanOut(sinks: readonly EventSink[]): EventSink {
  const list = [...sinks];
  if (list.length === 1) return list[0]!;
  let closed: Promise<void> | undefined;
  return {
    async publish(event: ImEvent): Promise<void> {
      const results = await Promise.allSettled(list.map((s) => callSafely(() => s.publish(event))));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
    },
    close(): Promise<void> {
      closed ??= (async () => {
        const results = await Promise.allSettled(list.map((s) => callSafely(() => s.close())));
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed !== undefined) throw failed.reason;
      })();
      return closed;
    },
  };
}

function callSafely(fn: () => Promise<void>): Promise<void> {
  try {
    return fn();
  } catch (err) {
    return Promise.reject(err);
  }
}

/** A sink that takes every event and keeps none: what a gateway without event delivery uses. */
export function nullEventSink(): EventSink {
  return { publish: () => Promise.resolve(), close: () => Promise.resolve() };
}

/**
 * In-memory sink: records every event, in publish order. The single-process default for tests and
 * the test double of the RabbitMQ publisher, with fault injection (`failNextPublish`) and an optional
 * confirm delay (`delayMs`, to test that a C2S ack waits for its event).
 */
export class MemoryEventSink implements EventSink {
  /** Every event taken, in publish order. */
  readonly events: ImEvent[] = [];
  /** Delay before `publish` resolves (and the event is recorded), in ms. @default 0 */
  delayMs = 0;
  private readonly failures: Error[] = [];
  private closedFlag = false;

  get closed(): boolean {
    return this.closedFlag;
  }

  /** The next `n` publishes reject with `err` (and record nothing). */
  failNextPublish(err: Error = new UnavailableError('injected publish failure'), n = 1): void {
    for (let i = 0; i < n; i++) this.failures.push(err);
  }

  /** The events of one type, typed. */
  ofType<T extends ImEventType>(type: T): Array<Extract<ImEvent, { type: T }>> {
    return this.events.filter((e): e is Extract<ImEvent, { type: T }> => e.type === type);
  }

  async publish(event: ImEvent): Promise<void> {
    if (this.closedFlag) throw new UnavailableError('event sink closed');
    const failure = this.failures.shift();
    if (failure !== undefined) throw failure;
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs).unref());
    this.events.push(event);
  }

  close(): Promise<void> {
    this.closedFlag = true;
    return Promise.resolve();
  }
}
