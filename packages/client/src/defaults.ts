/**
 * Defaults of the client SDK, in one place, units in the names. The QoS and dedupe values are
 * MobileIMSDK's own client constants (protocol spec §6.1, §6.2), so a Switchboard client retries
 * and reports losses exactly when a MobileIMSDK client would.
 */

/** QoS send daemon tick: every pending message is looked at this often (MobileIMSDK: 5 000 ms). */
export const DEFAULT_QOS_CHECK_INTERVAL_MS = 5_000;
/** A message first sent this recently is not resent yet (MobileIMSDK: 3 000 ms). */
export const DEFAULT_QOS_JUST_SENT_MS = 3_000;
/** Resends of one message before it is reported lost (MobileIMSDK: 2). */
export const DEFAULT_QOS_MAX_RETRIES = 2;
/**
 * After a reconnect every pending message is sent again at once. Such a message is not declared
 * lost until this long after that transmission, so the new gateway has time to deliver it or store
 * it offline (its custody ends within 4 s by default) and ack it.
 */
export const DEFAULT_QOS_RESEND_GRACE_MS = 6_000;
/** How long a received fingerprint is remembered to drop duplicates (MobileIMSDK: 10 min). */
export const DEFAULT_DEDUPE_TTL_MS = 600_000;
/** Link-loss checker tick (MobileIMSDK's keepalive checker: 2 000 ms). */
export const DEFAULT_KEEPALIVE_CHECK_INTERVAL_MS = 2_000;
/** Sense mode used when neither the options nor dispatch name one (the server default, IM_SENSE_MODE). */
export const DEFAULT_SENSE_MODE = '15S';
/** Deadline to open the socket (MobileIMSDK's TCP connect timeout: 5 s). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
/** Deadline for the login response after the login packet was written. */
export const DEFAULT_LOGIN_TIMEOUT_MS = 5_000;
/** Deadline of one dispatch request. */
export const DEFAULT_DISPATCH_TIMEOUT_MS = 5_000;
/** Deadline of one user API request (history, conversations, read). */
export const DEFAULT_API_TIMEOUT_MS = 10_000;
/** Deadline of one `getToken` call (the application's token source), on the open connection before the login (the gateway closes a connection without a login after 10 s). */
export const DEFAULT_TOKEN_TIMEOUT_MS = 5_000;
/**
 * What the client announces at login beyond MobileIMSDK: type-60 notices of kind `read` (`notices`),
 * `presence` and `typing` (docs/presence.md). MobileIMSDK clients announce none and never get them.
 */
export const CLIENT_FEATURES: readonly string[] = Object.freeze(['notices', 'presence', 'typing']);
/** `sendTyping()` sends one signal per target at most this often (the gateway drops more than one per 2 s). */
export const DEFAULT_TYPING_THROTTLE_MS = 3_000;

/** Reconnect backoff used until dispatch hands out its own (it sends the same values by default). */
export const DEFAULT_RECONNECT_POLICY: Readonly<ReconnectPolicy> = Object.freeze({
  initialDelayMs: 500,
  maxDelayMs: 15_000,
  multiplier: 2,
  jitter: 0.5,
});

/**
 * `typeu` of delivery receipts: a QoS message whose `dataContent` is the fingerprint of a message the
 * sender of the receipt received. Outside MobileIMSDK's framework range of app types in practice
 * (apps use 0 and up; -1 means "undefined").
 */
export const DEFAULT_RECEIPT_TYPEU = -101;

/** Exponential backoff with jitter between reconnect attempts (the `reconnect` object of dispatch answers). */
export interface ReconnectPolicy {
  /** Delay before the first attempt after a link loss, ms. */
  initialDelayMs: number;
  /** Upper bound of any delay, ms. */
  maxDelayMs: number;
  /** Growth factor per failed attempt. */
  multiplier: number;
  /** Share of the delay taken away at random, 0–1 (0.5: a delay lands in [d/2, d]). */
  jitter: number;
}
