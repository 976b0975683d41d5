/** MobileIMSDK v6 packet types (`Protocal.type`). Names follow the original constants. */
export const PacketType = {
  LOGIN: 0,
  KEEPALIVE: 1,
  DATA: 2,
  LOGOUT: 3,
  ACK: 4,
  ECHO: 5,
  LOGIN_RESPONSE: 50,
  KEEPALIVE_RESPONSE: 51,
  ERROR: 52,
  ECHO_RESPONSE: 53,
  KICKOUT: 54,
} as const;
export type PacketType = (typeof PacketType)[keyof typeof PacketType];

/**
 * Switchboard's packet types beyond MobileIMSDK's, server → client only.
 * - `NOTICE`: a notice for SDK clients that asked for notices at login (`features: ["notices"]`),
 *   never sent to other clients. `dataContent` is a JSON object with a `kind` (`read`: the peer read
 *   the conversation up to `seq`). docs/protocol.md lists the kinds.
 */
export const ExtensionPacketType = {
  NOTICE: 60,
} as const;

/** Packet types a client may send. Anything else is logged and ignored, as MobileIMSDK does. */
export const CLIENT_PACKET_TYPES: ReadonlySet<number> = new Set([0, 1, 2, 3, 4, 5]);

/**
 * Error codes carried in type-52 error packets and in login responses.
 * 0–1024 are MobileIMSDK's framework range; Switchboard's own codes start at 1025,
 * the first code MobileIMSDK leaves to applications. Every code is listed in docs/errors.md.
 */
export const ErrorCode = {
  /** Success. */
  OK: 0,
  /** The packet needs a logged-in connection (MobileIMSDK `RESPONSE_FOR_UNLOGIN`). */
  UNLOGIN: 301,
  /** Login rejected: the token is missing, invalid or expired, or the auth service said no. */
  AUTH_FAILED: 1025,
  /** The connection sends faster than its message rate limit allows; the packet was dropped. */
  RATE_LIMITED: 1026,
  /** The receiver's offline queue is full; the message was not stored and is not acked. */
  OFFLINE_QUEUE_FULL: 1027,
  /** The packet's `from` is not the user logged in on this connection; it was dropped. */
  FROM_MISMATCH: 1028,
  /** The packet is well-formed JSON but not a valid packet of its type (for example no `to`); it was dropped. */
  BAD_PACKET: 1029,
  /** A backend the gateway needs (route store, offline store, bridge) is unreachable; retry later. */
  UNAVAILABLE: 1030,
  /** The message is larger than the receiver's transport can carry; it was not delivered. */
  MESSAGE_TOO_LARGE: 1031,
  /** The application's before-relay filter rejected the message. */
  REJECTED: 1032,
  /** The auth backend could not be reached or answered garbage; the login was not verified. */
  AUTH_UNAVAILABLE: 1033,
  /** The sender stored more than its offline budget (bytes per window) for receivers who are offline; not stored, not acked. */
  OFFLINE_BUDGET_EXCEEDED: 1034,
  /** Offline storage as a whole (Redis's memory, a standalone gateway's heap) is over its ceiling; not stored, not acked. */
  OFFLINE_STORAGE_FULL: 1035,
  /** The application's receiver check says the receiver does not exist; nothing was stored or delivered. */
  UNKNOWN_RECEIVER: 1036,
  /**
   * A message to a group (`to` = group prefix + gid) from a user who is not a member, or to a group
   * that does not exist (the two are not told apart, so non-members learn nothing); nobody received it.
   */
  NOT_A_MEMBER: 1040,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Kickout codes (type 54 `PKickoutInfo.code`). A kicked MobileIMSDK client does not reconnect. */
export const KickoutCode = {
  /** Another login of the same user replaced this one. */
  DUPLICATE_LOGIN: 1,
  /** An operator kicked the user. */
  ADMIN: 2,
} as const;
export type KickoutCode = (typeof KickoutCode)[keyof typeof KickoutCode];

/**
 * WebSocket close codes Switchboard uses beside 1000 "Bye" (which MobileIMSDK clients expect).
 * 4000–4499: reconnect through dispatch (with backoff); 4500–4999: terminal, do not reconnect.
 */
export const CloseCode = {
  /** Normal close, as MobileIMSDK's server does it (reason "Bye"). */
  BYE: 1000,
  /** The gateway is draining: reconnect through dispatch. */
  DRAINING: 4000,
  /** The connection could not keep up with its outbound traffic. */
  SLOW_CONSUMER: 4001,
  /** The session was idle longer than the sense-mode timeout. */
  IDLE_TIMEOUT: 4002,
  /** The connection did not log in within the login deadline (`IM_LOGIN_TIMEOUT_MS`). */
  LOGIN_TIMEOUT: 4003,
  /** The gateway holds as many connections as it may (`IM_MAX_CONNECTIONS`). */
  TOO_MANY_CONNECTIONS: 4004,
  /** The source address holds as many connections that have not logged in as it may (`IM_MAX_UNAUTH_PER_IP`). */
  TOO_MANY_UNAUTHENTICATED: 4005,
  /** The client broke the protocol (binary frame, garbage, oversize). */
  PROTOCOL_ERROR: 4500,
  /** The user was kicked (duplicate login or admin). */
  KICKED: 4501,
  /** Login failed. */
  LOGIN_FAILED: 4502,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Special user ids of the protocol. */
export const SERVER_UID = '0';
export const UNSET_UID = '-1';

/**
 * `typeu` values at or below this are reserved for the Switchboard SDK's control messages (delivery
 * receipts -101, and the like): they travel as ordinary data packets but are not written to
 * conversation history, get no `seq`, and count as no one's unread message.
 */
export const CONTROL_TYPEU_MAX = -100;

/** Whether `typeu` marks an SDK control message (see CONTROL_TYPEU_MAX). */
export function isControlTypeu(typeu: number): boolean {
  return typeu <= CONTROL_TYPEU_MAX;
}
