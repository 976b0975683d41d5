import type { PushNeeded } from '@switchboard/gateway';

/** Where a user's phone gets notifications: the provider and the device token your app registered. */
export interface Device {
  provider: 'apns' | 'fcm' | 'hms';
  token: string;
}

/** What one notification would say: title and body as a phone shows them. */
export interface Notification {
  title: string;
  body: string;
  /** The app icon badge: messages waiting (this window's count; a real app adds its own unread total). */
  badge: number;
  /** Collapse key / thread id: one notification thread per conversation. */
  thread: string;
}

/** The notification text of a `push.needed` event; without a preview (IM_PUSH_PREVIEW=off), a count only. */
export function notificationOf(p: PushNeeded): Notification {
  const where = p.group === undefined ? p.from : `${p.from} in ${p.group}`;
  const body = p.preview ?? (p.count === 1 ? 'sent you a message' : `sent you ${p.count} messages`);
  return { title: where, body, badge: p.count, thread: p.group === undefined ? `c2c:${p.from}` : `group:${p.group}` };
}

/**
 * Send one notification. This example prints what it would send: put the provider's HTTP call here.
 * - APNs: POST https://api.push.apple.com/3/device/<token> over HTTP/2, JWT (ES256) auth,
 *   body {"aps":{"alert":{"title","body"},"badge","thread-id"}}.
 * - FCM: POST https://fcm.googleapis.com/v1/projects/<project>/messages:send, OAuth2 bearer,
 *   body {"message":{"token","notification":{"title","body"},"android":{"collapse_key"}}}.
 * - HMS: POST https://push-api.cloud.huawei.com/v1/<appId>/messages:send, OAuth2 bearer,
 *   body {"message":{"token":[…],"android":{"notification":{"title","body"}}}}.
 * Retry a 5xx or a timeout with backoff; drop the device token on "unregistered" answers.
 */
export async function sendNotification(device: Device, n: Notification, print: (line: object) => void): Promise<void> {
  print({ event: 'push', provider: device.provider, token: device.token, ...n });
}
