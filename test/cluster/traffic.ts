import { waitFor } from '@switchboard/core';
import type { ChatUser } from './chat-user.js';

/** Run traffic between random pairs until `stop()`; returns what was sent, by receiver. */
export function traffic(users: ChatUser[], ratePerSec: number) {
  const sent: Array<{ fp: string; from: ChatUser; to: ChatUser }> = [];
  let running = true;
  let seq = 0;
  const loop = (async () => {
    const intervalMs = 1000 / ratePerSec;
    let next = performance.now();
    while (running) {
      const from = users[Math.floor(Math.random() * users.length)]!;
      let to = users[Math.floor(Math.random() * users.length)]!;
      if (to === from) to = users[(users.indexOf(from) + 1) % users.length]!;
      const fp = await from.send(to.uid, `m${seq++}`);
      sent.push({ fp, from, to });
      next += intervalMs;
      const wait = next - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  })();
  return {
    sent,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/** Resend until every message is acked (clients do this on their QoS tick), then check receipt. */
export async function settle(users: ChatUser[], sent: Array<{ fp: string; to: ChatUser }>, timeoutMs: number) {
  await waitFor(
    async () => {
      await Promise.all(users.map((u) => u.resendPending()));
      return users.every((u) => u.pending.size === 0);
    },
    { timeoutMs, intervalMs: 1_500, what: 'every message acked' },
  );
  // Acked means received or stored offline: log everyone in again to collect offline queues.
  const missing = () => sent.filter((m) => !m.to.received.has(m.fp));
  await waitFor(() => missing().length === 0, { timeoutMs: 5_000, what: 'every acked message received' }).catch(() => {});
  // What is still missing must be waiting in an offline queue: the receiver's next login brings it.
  const neededRelogin = missing().length;
  const receivers = new Set(missing().map((m) => m.to));
  for (const u of receivers) await u.client?.close();
  await waitFor(() => missing().length === 0, { timeoutMs: 15_000, what: 'offline queues delivered at the next login' }).catch(() => {});
  return { missing: missing().map((m) => ({ fp: m.fp, to: m.to.uid })), neededRelogin };
}

