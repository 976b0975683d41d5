// Run by tls.test.ts as a child process with NODE_EXTRA_CA_CERTS set to the test's certificate, as a
// Node application trusting a private CA would be: two SDK clients find the gateway through dispatch
// over HTTPS, connect over wss://, and exchange a QoS message. Prints one JSON line with what happened.
import { createNodeClient } from '@switchboard/client/node';

const dispatchUrl = process.argv[2]!;
const alice = createNodeClient({ uid: 'tls-alice', dispatchUrl, transport: 'ws' });
const bob = createNodeClient({ uid: 'tls-bob', dispatchUrl, transport: 'ws' });
const received = new Promise<{ from: string; content: string }>((resolve) => bob.on('message', ({ message }) => resolve({ from: message.from, content: message.content })));
const failed = (err: unknown) => {
  process.stdout.write(JSON.stringify({ event: 'failed', error: err instanceof Error ? err.message : String(err) }) + '\n');
  process.exit(1);
};
try {
  await Promise.all([alice.connect(), bob.connect()]);
  const sent = await alice.send('tls-bob', 'hello over wss');
  const got = await received;
  const history = await bob.history('tls-alice', { limit: 5 });
  process.stdout.write(JSON.stringify({ event: 'done', acked: sent.acked, seq: sent.seq, got, history: history.map((m) => m.content) }) + '\n');
  await Promise.all([alice.close(), bob.close()]);
} catch (err) {
  failed(err);
}
