import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createWebhookHandler, type ImEvent } from '@switchboard/gateway';
import { notificationOf, sendNotification, type Device } from './providers.js';

// A receiver of Switchboard's `push.needed` webhooks (docs/presence.md): verifies each request's
// signature (the shared IM_WEBHOOK_SECRET), drops repeated events by id, looks the user's device up
// and "sends" an APNs/FCM/HMS notification (printed; see providers.ts for the real calls).
//
// Environment: PUSH_WEBHOOK_SECRET (required, the gateways' IM_WEBHOOK_SECRET), PUSH_RECEIVER_PORT
// (default 8090; 0 = any free port), PUSH_RECEIVER_HOST (default 127.0.0.1), PUSH_DEVICES (JSON
// {"<user>":{"provider":"apns|fcm|hms","token":"…"}}: a stand-in for your device registry).

const print = (line: object): void => {
  process.stdout.write(`${JSON.stringify(line)}\n`);
};

function devicesFromEnv(raw: string | undefined): Map<string, Device> {
  const out = new Map<string, Device>();
  if (!raw) return out;
  const v = JSON.parse(raw) as Record<string, Device>;
  for (const [user, d] of Object.entries(v)) if (['apns', 'fcm', 'hms'].includes(d.provider) && typeof d.token === 'string') out.set(user, d);
  return out;
}

const secret = process.env['PUSH_WEBHOOK_SECRET'];
if (!secret) {
  console.error('PUSH_WEBHOOK_SECRET is required: the same secret as the gateways\' IM_WEBHOOK_SECRET');
  process.exit(2);
}
const devices = devicesFromEnv(process.env['PUSH_DEVICES']);
/** Ids already handled: webhooks are at least once. A real receiver keeps them in its database. */
const seen = new Set<string>();

async function onEvents(events: ImEvent[]): Promise<void> {
  for (const e of events) {
    if (e.type !== 'push.needed' || seen.has(e.id)) continue;
    if (seen.size > 100_000) seen.clear();
    seen.add(e.id);
    const device = devices.get(e.user);
    if (!device) {
      print({ event: 'no_device', user: e.user });
      continue;
    }
    await sendNotification(device, notificationOf(e), print);
  }
}

const handler = createWebhookHandler({ secret, onEvents });
const server = createServer((req, res) => void handler(req, res));
server.listen(Number(process.env['PUSH_RECEIVER_PORT'] ?? 8090), process.env['PUSH_RECEIVER_HOST'] ?? '127.0.0.1', () => {
  print({ event: 'ready', role: 'push-receiver', ports: { http: (server.address() as AddressInfo).port } });
});
const stop = (): void => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
