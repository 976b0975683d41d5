import type { Packet } from '@switchboard/protocol';
import type { PushNeeded } from './events.js';

/**
 * Application hooks, mirroring MobileIMSDK's ServerEventListener (architecture §12).
 * Hooks run on the gateway's event loop: keep them fast, or hand work off. A hook that throws
 * is logged and ignored (the message path never depends on it), except `beforeRelay`, whose
 * failure rejects the message.
 */
export interface GatewayHooks {
  /** Verify a login; 0 accepts, anything else is the failure code. Replaces IM_AUTH when given. */
  verifyLogin?(userId: string, token: string | null, extra: string | null): Promise<number> | number;
  /** A user's session is registered on this gateway. */
  onUserOnline?(userId: string, info: { connId: string; transport: string; extra: string | null }): void;
  /** A registered session ended. `kickCode` is the kickout code, or -1. */
  onUserOffline?(userId: string, info: { connId: string; kickCode: number }): void;
  /** A C2S message (to "0"), after fingerprint dedupe. */
  onC2S?(packet: Packet): void;
  /**
   * Before a C2C message is relayed: return 0 to let it through, or a code ≥ 1025 to reject it
   * (the sender gets an error packet with that code).
   */
  beforeRelay?(packet: Packet): number;
  /** The receiver acked a C2C/S2C message. */
  onDelivered?(packet: Packet): void;
  /** A message was stored in the receiver's offline queue. */
  onStoredOffline?(packet: Packet): void;
  /**
   * A message could be neither delivered nor stored: `reason` is `too_large`, `full`, `error`,
   * `sender_budget`, `storage_full` or `unknown_receiver` (docs/errors.md, 1031 and 1034–1036).
   */
  onLost?(packet: Packet, reason: string): void;
  /**
   * Messages were stored for an offline user (C2C offline queue, or a group message it catches up
   * later): send an APNs/FCM/HMS notification. Batched per user per push window (`pushWindowMs`,
   * IM_PUSH_WINDOW_MS), like the `push.needed` event (docs/presence.md).
   */
  onPushNeeded?(push: PushNeeded): void;
  /**
   * Does this user exist? Asked before a QoS message to a user not connected to this gateway
   * starts its delivery: `false` refuses it (error 1036 to the sender, nothing stored). Answers are
   * cached (`receiverCheckCacheMs`); a hook that throws counts as `true`. Takes precedence over the
   * `receiverExists` option (the CLI's `IM_RECEIVER_CHECK_URL`). Absent: every receiver is accepted.
   */
  receiverExists?(userId: string): Promise<boolean> | boolean;
}
