/**
 * Events a gateway emits for application backends (architecture §12): published to the RabbitMQ
 * topic exchange `<IM_KEY_PREFIX>.events` with the event type as routing key, and optionally POSTed
 * to a webhook. Every event carries an `id` that is the same for every delivery of one occurrence,
 * so consumers can be idempotent (delivery is at least once). Schemas: docs/events.md.
 */
interface EventBase {
  /** Idempotency key: equal for redeliveries of one occurrence (see `imEventId`). */
  id: string;
  /** ms since epoch. */
  at: number;
  /** The gateway that saw it. */
  nodeId: string;
}

/**
 * One event; `type` is also the routing key. Field by field in docs/events.md:
 * - `login` / `logout`: a session registered / ended on this gateway (the `onUserOnline` /
 *   `onUserOffline` hooks); `kickCode` is the kickout code, or -1; `extra` is the login's app data.
 * - `c2s`: a message to the server (`to: "0"`) after fp dedupe; `fp` is null without QoS.
 * - `c2c.delivered`: the receiver acked (published by the sender's gateway; `from: "0"` for server
 *   pushes); `latencyMs` from custody to ack.
 * - `c2c.offline`: stored in the receiver's offline queue, the sender acked.
 * - `lost`: neither delivered nor stored; `reason` is `full`, `error`, `too_large`, `sender_budget`,
 *   `storage_full` or `unknown_receiver` (docs/errors.md 1027, 1031, 1034–1036).
 * - `group.message`: a message to group `group` accepted (written to the group's history as `seq`)
 *   by the sender's gateway; once per message, not per member.
 * - `push.needed`: messages were stored for `user` while offline (C2C offline queue, or a group message
 *   to catch up at the next login): wake the user's phone. One per user per push window (`count`
 *   messages in it; `from`, `preview` (absent with IM_PUSH_PREVIEW=off) and `group` of the newest).
 * New fields may be added later; consumers ignore fields they do not know.
 */
export type ImEvent =
  | (EventBase & { type: 'login'; userId: string; connId: string; transport: string; extra: string | null })
  | (EventBase & { type: 'logout'; userId: string; connId: string; kickCode: number })
  | (EventBase & { type: 'c2s'; from: string; fp: string | null; typeu: number; dataContent: string | null })
  | (EventBase & { type: 'c2c.delivered'; from: string; to: string; fp: string; typeu: number; dataContent: string | null; latencyMs: number })
  | (EventBase & { type: 'c2c.offline'; from: string; to: string; fp: string; typeu: number; dataContent: string | null })
  | (EventBase & { type: 'lost'; from: string; to: string; fp: string; typeu: number; reason: string })
  | (EventBase & { type: 'group.message'; from: string; group: string; fp: string; seq: number; typeu: number; dataContent: string | null })
  | (EventBase & PushNeeded & { type: 'push.needed' });

/** What `push.needed` says (the event's fields, and the `onPushNeeded` hook's argument). docs/presence.md. */
export interface PushNeeded {
  /** Who to wake. */
  user: string;
  /** The sender of the newest stored message. */
  from: string;
  /** The newest message's text, cut to DEFAULT_PUSH_PREVIEW_CHARS; absent with IM_PUSH_PREVIEW=off. */
  preview?: string;
  /** Messages stored for the user in this window (1 or more). */
  count: number;
  /** The group of the newest message, when it was a group message. */
  group?: string;
  /** Fingerprint of the newest message (with `user`, what makes the event's id). */
  fp: string;
}

export type ImEventType = ImEvent['type'];

/** Every event type, which is also its routing key on the events exchange. */
export const IM_EVENT_TYPES: readonly ImEventType[] = ['login', 'logout', 'c2s', 'c2c.delivered', 'c2c.offline', 'lost', 'group.message', 'push.needed'];

/**
 * Where a gateway sends its events. `publish` resolves once the event is safe (for RabbitMQ: the
 * broker confirmed a persistent message) and rejects when it is not; a gateway acks a C2S message
 * to its client only after its `c2s` event resolved, so C2S reaches the application at least once.
 * A sink must never block message delivery for longer than its own timeout.
 */
export interface EventSink {
  publish(event: ImEvent): Promise<void>;
  close(): Promise<void>;
}
