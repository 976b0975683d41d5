import { Counter, Gauge, type Registry } from 'prom-client';
import type { MemoryHistoryStats } from '@switchboard/cluster';
import type { EventSink } from './events.js';
import { counterReadAtScrape } from './metrics.js';
import type { WebhookSinkStats } from './webhooks/sink.js';

/**
 * Metrics for operating a process rather than for its traffic, each read at scrape time or counted
 * around a part the process already has: build info, whether Redis and RabbitMQ answer, the event
 * sinks (published, failed, pending) and the webhook queue. The CLI registers them on a gateway's
 * registry and on dispatch's (packages/cli/src/roles.ts); docs/operations.md lists them.
 */

/** A metric of `registry` by name, made by `make` the first time (several callers share one series family). */
function once<M>(registry: Registry, name: string, make: () => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? make();
}

/** `switchboard_build_info{version, node, role} 1`: what runs, for dashboards and alerts across a rollout. */
export function registerBuildInfo(registry: Registry, labels: { version: string; role: string }): void {
  const g = once(
    registry,
    'switchboard_build_info',
    () => new Gauge({ name: 'switchboard_build_info', help: 'Always 1; the labels say which version runs on which Node.js', labelNames: ['version', 'node', 'role'] as const, registers: [registry] }),
  );
  g.set({ version: labels.version, node: process.version, role: labels.role }, 1);
}

/**
 * The standalone's in-memory history, read at scrape time: `switchboard_history_memory_bytes{kind}`
 * (`counted`: the conversations and their stored messages as `IM_HISTORY_MEMORY_BYTES` counts them;
 * `limit`: that bound; `buffers`: what the buffers holding the messages take, outside the V8 heap),
 * `switchboard_history_conversations`, and `switchboard_history_evicted_total` /
 * `switchboard_history_forgotten_total` (messages and conversations dropped to stay under the bound).
 */
export function registerHistoryMemoryMetrics(registry: Registry, read: () => MemoryHistoryStats): void {
  once(
    registry,
    'switchboard_history_memory_bytes',
    () =>
      new Gauge({
        name: 'switchboard_history_memory_bytes',
        help: 'In-memory history: counted bytes of the conversations and their messages, the limit, and the buffers holding the messages',
        labelNames: ['kind'] as const,
        registers: [registry],
        collect() {
          const m = read();
          this.set({ kind: 'counted' }, m.bytes);
          this.set({ kind: 'limit' }, m.maxBytes);
          this.set({ kind: 'buffers' }, m.arena.chunkBytes);
        },
      }),
  );
  once(
    registry,
    'switchboard_history_conversations',
    () =>
      new Gauge({
        name: 'switchboard_history_conversations',
        help: 'In-memory history: conversations held',
        registers: [registry],
        collect() {
          this.set(read().conversations);
        },
      }),
  );
  once(registry, 'switchboard_history_evicted_total', () =>
    counterReadAtScrape(registry, 'switchboard_history_evicted_total', 'In-memory history: messages dropped to stay under IM_HISTORY_MEMORY_BYTES', () => read().evicted),
  );
  once(registry, 'switchboard_history_forgotten_total', () =>
    counterReadAtScrape(
      registry,
      'switchboard_history_forgotten_total',
      'In-memory history: conversations forgotten before their time (seq counters and read markers included) to stay under IM_HISTORY_MEMORY_BYTES',
      () => read().forgotten,
    ),
  );
}

/**
 * `switchboard_backend_up{backend}`: 1 while the backend answers, 0 while it does not, read at
 * scrape time (`redis`: the route store's connection; `rabbitmq`: the bridge; `rabbitmq_events`: the
 * events exchange publisher).
 */
export function registerBackendMetrics(registry: Registry, backends: Record<string, () => boolean>): void {
  const names = Object.keys(backends);
  once(
    registry,
    'switchboard_backend_up',
    () =>
      new Gauge({
        name: 'switchboard_backend_up',
        help: '1 while the backend (redis, rabbitmq, rabbitmq_events) is reachable, 0 while not',
        labelNames: ['backend'] as const,
        registers: [registry],
        collect() {
          for (const backend of names) this.set({ backend }, backends[backend]!() ? 1 : 0);
        },
      }),
  );
}

/**
 * Counts what `sink` (named `sink` in the labels: `amqp`, `webhook`) was handed:
 * `switchboard_events_published_total{sink}` (publish resolved: confirmed by the broker, or queued by
 * the webhook) and `switchboard_events_failed_total{sink}` (publish rejected: not confirmed in time,
 * broker down, too many pending). Both start at 0.
 */
export function countEventSink(registry: Registry, sink: string, inner: EventSink): EventSink {
  const published = once(registry, 'switchboard_events_published_total', () =>
    new Counter({ name: 'switchboard_events_published_total', help: 'Events handed to a sink and accepted by it (amqp: confirmed; webhook: queued)', labelNames: ['sink'] as const, registers: [registry] }),
  );
  const failed = once(registry, 'switchboard_events_failed_total', () =>
    new Counter({ name: 'switchboard_events_failed_total', help: 'Events a sink refused or could not publish (amqp: unconfirmed, broker down, too many pending)', labelNames: ['sink'] as const, registers: [registry] }),
  );
  published.inc({ sink }, 0);
  failed.inc({ sink }, 0);
  return {
    publish: (event) =>
      inner.publish(event).then(
        () => published.inc({ sink }),
        (err: unknown) => {
          failed.inc({ sink });
          throw err;
        },
      ),
    close: () => inner.close(),
  };
}

/** `switchboard_events_pending{sink="amqp"}`: events published to the exchange and not yet confirmed by the broker. */
export function registerEventsPendingMetric(registry: Registry, pending: () => number): void {
  new Gauge({
    name: 'switchboard_events_pending',
    help: 'Events sent to the events exchange awaiting the broker confirm',
    labelNames: ['sink'] as const,
    registers: [registry],
    collect() {
      this.set({ sink: 'amqp' }, pending());
    },
  });
}

/**
 * The webhook sink's queue and outcomes, read from `stats()` at scrape time: queue depth (queued and
 * in flight), events delivered, failed POST attempts (each retried), events dropped (queue full,
 * attempts exhausted, refused by the receiver, left at close).
 */
export function registerWebhookMetrics(registry: Registry, stats: () => WebhookSinkStats): void {
  new Gauge({
    name: 'switchboard_webhook_queue_depth',
    help: 'Events held for the webhook: queued plus the batch in flight or waiting for its retry',
    registers: [registry],
    collect() {
      const s = stats();
      this.set(s.queued + s.inFlight);
    },
  });
  const counter = (name: string, help: string, pick: (s: WebhookSinkStats) => number) => counterReadAtScrape(registry, name, help, () => pick(stats()));
  counter('switchboard_webhook_delivered_total', 'Events the webhook receiver took (2xx)', (s) => s.delivered);
  counter('switchboard_webhook_failed_attempts_total', 'Webhook POSTs that failed (network error, timeout, non-2xx); retried until the attempts run out', (s) => s.failedAttempts);
  counter('switchboard_webhook_dropped_total', 'Events given up: queue full, attempts exhausted, refused by the receiver (3xx/4xx), left at close', (s) => s.dropped);
}
