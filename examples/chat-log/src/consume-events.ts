/**
 * A backend's consumer of the events exchange (docs/events.md), written against plain amqplib:
 * what a consumer in any language does.
 *
 *     IM_AMQP_URL=amqp://guest:guest@127.0.0.1:5672 IM_KEY_PREFIX=im \
 *     EVENTS_QUEUE=chat-log.events EVENTS_BINDINGS='c2s,c2c.*' pnpm consume
 *
 * It declares its own durable queue, bound to the routing keys it wants, so events published while
 * it is down wait for it. It prints one JSON line per event and acks only after handling it (at
 * least once), skipping ids it has already handled (idempotent). Prints `{"event":"ready",...}`
 * once it consumes. On a lost connection it exits with code 1 for its supervisor to restart it.
 */
import { connect, type ConsumeMessage } from 'amqplib';

const env = process.env;
const url = env['IM_AMQP_URL'] || 'amqp://guest:guest@127.0.0.1:5672';
const prefix = env['IM_KEY_PREFIX'] || 'im';
const exchange = `${prefix}.events`;
const queue = env['EVENTS_QUEUE'] || 'chat-log.events';
const bindings = (env['EVENTS_BINDINGS'] || '#')
  .split(',')
  .map((b) => b.trim())
  .filter((b) => b.length > 0);
const prefetch = Number(env['EVENTS_PREFETCH'] || 100);

/** Ids handled recently, oldest first: a redelivered event is acked and skipped. A real backend keeps them in its database. */
const handled = new Map<string, true>();
const HANDLED_MAX = 100_000;

function out(line: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(line) + '\n');
}

/** The application's work. Here: print it. A chat backend would store a C2S friend request, a chat log line... */
async function handle(routingKey: string, event: Record<string, unknown>): Promise<void> {
  out({ event: 'im-event', routingKey, body: event });
}

const conn = await connect(url, { clientProperties: { connection_name: `chat-log consumer ${queue}` } });
let stopping = false;
conn.on('error', (err: Error) => process.stderr.write(`events consumer: connection error: ${err.message}\n`));
conn.on('close', () => {
  if (stopping) return;
  process.stderr.write('events consumer: connection lost; exiting for a restart (the durable queue keeps the events)\n');
  process.exit(1);
});
const ch = await conn.createChannel();
// The exchange is declared by the gateways too; declaring it here (same arguments) lets the consumer start first.
await ch.assertExchange(exchange, 'topic', { durable: true, autoDelete: false, internal: false });
await ch.assertQueue(queue, { durable: true });
for (const b of bindings) await ch.bindQueue(queue, exchange, b);
await ch.prefetch(prefetch);

await ch.consume(
  queue,
  (m: ConsumeMessage | null) => {
    if (m === null) {
      process.stderr.write('events consumer: the broker cancelled the consumer (queue deleted?)\n');
      process.exit(1);
    }
    void onMessage(m);
  },
  { noAck: false },
);
out({ event: 'ready', role: 'events-consumer', exchange, queue, bindings });

async function onMessage(m: ConsumeMessage): Promise<void> {
  let event: Record<string, unknown>;
  try {
    event = JSON.parse(m.content.toString('utf8')) as Record<string, unknown>;
  } catch {
    process.stderr.write(`events consumer: not JSON, dropped (messageId ${String(m.properties.messageId)})\n`);
    ch.nack(m, false, false);
    return;
  }
  const id = typeof event['id'] === 'string' ? event['id'] : String(m.properties.messageId);
  if (handled.has(id)) {
    ch.ack(m); // a redelivery of an event already handled
    return;
  }
  try {
    await handle(m.fields.routingKey, event);
  } catch (err) {
    // Not handled: back to the queue, to be retried.
    process.stderr.write(`events consumer: handling ${id} failed: ${String(err)}\n`);
    ch.nack(m, false, true);
    return;
  }
  handled.set(id, true);
  if (handled.size > HANDLED_MAX) handled.delete(handled.keys().next().value as string);
  ch.ack(m);
}

const stop = (): void => {
  if (stopping) process.exit(1);
  stopping = true;
  ch.close()
    .catch(() => undefined)
    .then(() => conn.close())
    .catch(() => undefined)
    .finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
