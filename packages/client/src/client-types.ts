import type { SenseMode } from '@switchboard/protocol';
import type { ReconnectPolicy } from './defaults.js';
import type { FetchLike } from './dispatch.js';
import type { ClientError, LossReason, MessageLostError } from './errors.js';
import type { GetToken } from './login-token.js';
import type { SequencerOptions, SkipReason } from './sequencer.js';
import type { Transport } from './transport.js';

/**
 * Lifecycle of a client.
 * - `idle`: created, `connect()` not called yet.
 * - `connecting`: first dispatch → connect → login in progress (retried with backoff on failure).
 * - `online`: logged in; messages flow.
 * - `reconnecting`: the link was lost; dispatch → connect → re-login attempts with backoff.
 * - `kicked`: the server kicked this session (duplicate login, admin). Terminal: no reconnect.
 * - `rejected`: the server refused the login (bad token…). Terminal.
 * - `closed`: `close()` was called, or the server closed with a terminal code. Terminal.
 */
export type ClientState = 'idle' | 'connecting' | 'online' | 'reconnecting' | 'kicked' | 'rejected' | 'closed';

/** A message received from a peer (or from the server, `from: "0"`), or through a group. */
export interface IncomingMessage {
  /** Fingerprint; null for a non-QoS message. */
  fp: string | null;
  /** The sender: the peer, `"0"`, or in a group the member who wrote it (`alice`, not `g:team:alice`). */
  from: string;
  /** This user, or for a group message the group's address (`g:team`) as the packet had it. */
  to: string;
  /** The group id (`team`) for a group message; null for a message to this user. */
  group: string | null;
  /** `from` as the packet had it: for a group message the group's address, a colon and the sender (`g:team:alice`). */
  rawFrom: string;
  content: string;
  typeu: number;
  qos: boolean;
  /** Server timestamp (`sm`, ms) when the server set one, else null. */
  serverTime: number | null;
  /**
   * Position in the conversation's history (1, 2, 3 … per pair of users; `"0"`'s pushes are one
   * conversation; per group), or null when the server keeps no history (`IM_HISTORY=off`, a MobileIMSDK server).
   */
  seq: number | null;
  /** When the sender's gateway accepted it (ms since epoch; null without history): show this, not `receivedAt`. */
  sentAt: number | null;
  /** Local time it arrived (or was fetched from history), ms since epoch. */
  receivedAt: number;
}

/** What `send()` resolves with. */
export interface SendResult {
  /** Fingerprint of the message; null for a non-QoS message. */
  fp: string | null;
  /** True when the server acked it (QoS): the receiver acked it, or it is stored offline for the receiver. */
  acked: boolean;
  /** Its seq in the conversation's history, from the ack; null without history, for non-QoS sends, or when a receipt settled it first. */
  seq: number | null;
}

export interface SendOptions {
  /** Ask for an ack, resend and report loss (MobileIMSDK QoS). @default true */
  qos?: boolean;
  /** Application message type. @default -1 (undefined) */
  typeu?: number;
  /** Use this fingerprint instead of a new one (QoS only); must not be pending already. */
  fp?: string;
  /**
   * QoS only: report the message lost (`MessageLostError`, reason `timeout`, a `lost` event) when it is
   * not acked within this many ms, even before MobileIMSDK's retries are over (≈ 13–18 s). It may still
   * have reached the receiver: a late ack is ignored. `Infinity`: no deadline. @default the `sendTimeoutMs` option
   */
  timeoutMs?: number;
}

/** Events, discriminated on `type`. */
export type ClientEvent =
  | { type: 'state'; state: ClientState; previous: ClientState; reason: string | null }
  | { type: 'login'; uid: string; node: string | null; firstLoginTime: number; relogin: boolean }
  | { type: 'reconnect'; attempt: number; delayMs: number; error: ClientError | null }
  | { type: 'message'; message: IncomingMessage }
  | { type: 'acked'; fp: string; to: string; seq: number | null }
  | { type: 'lost'; fp: string; to: string; content: string; typeu: number; reason: LossReason; error: MessageLostError }
  | { type: 'receipt'; fp: string; from: string }
  /**
   * `peer` read the conversation with this user up to `seq` (a notice; `group` set for a group's
   * conversation). Only when it moves: repeated and older notices are dropped.
   */
  | { type: 'read'; peer: string; seq: number; group?: string }
  /**
   * Messages `firstSeq`..`lastSeq` with `peer` (of `group`: `peer` is then the group's address) will
   * not arrive as `message` events: no longer kept in history (`trimmed`), older than the newest
   * `gaps.maxFill` of a hole (`capped`), or the history fetch failed (`failed`, with `error`).
   * `history()` reads whatever is still kept.
   */
  | { type: 'gap'; peer: string; group?: string; firstSeq: number; lastSeq: number; reason: SkipReason; error: ClientError | null }
  /**
   * The history of the conversation with `peer` (of `group`: `peer` is then the group's address)
   * started again at seq 1 (it expired, or a standalone forgot it) while this session outlived it;
   * `seq` is the new history's message that told, delivered next. Seqs seen before belong to the old
   * history (the `MessageStore` then clears them from its messages); read notices count anew.
   */
  | { type: 'restart'; peer: string; group?: string; seq: number }
  /** A watched user (`watchPresence()`) went online or offline; sent for each watched user right after the watch list too. */
  | { type: 'presence'; uid: string; online: boolean; lastSeen?: number }
  /** `from` is typing to this user, or in group `group` (a transient signal: show "typing…" for a few seconds). */
  | { type: 'typing'; from: string; group?: string }
  | { type: 'kicked'; code: number; reason: string | null }
  | { type: 'error'; error: ClientError }
  | { type: 'ping' }
  | { type: 'pong' };
export type ClientEventType = ClientEvent['type'];

/** Sense-mode timings the client uses (override for tests; otherwise from the sense mode). */
export interface KeepAliveTimings {
  /** Keepalive (type 1) interval, ms. */
  intervalMs: number;
  /** Link lost after this long without hearing from the server, ms. */
  timeoutMs: number;
}

export interface QosOptions {
  /** @default DEFAULT_QOS_CHECK_INTERVAL_MS (5000) */
  checkIntervalMs?: number;
  /** @default DEFAULT_QOS_JUST_SENT_MS (3000) */
  justSentMs?: number;
  /** @default DEFAULT_QOS_MAX_RETRIES (2) */
  maxRetries?: number;
  /** @default DEFAULT_QOS_RESEND_GRACE_MS (6000) */
  resendGraceMs?: number;
}

/** Bounds of the gap filling by history seq (see the README's "Order and gaps"). */
export type GapOptions = SequencerOptions;

export interface ClientOptions {
  /** The user to log in as. */
  uid: string;
  /** A fixed login token (`loginToken`): a JWT with `IM_AUTH=jwt`. For tokens that expire, give `getToken` instead. */
  token?: string | null;
  /**
   * Where login tokens come from: called before each login, once the connection to the gateway is open
   * (`reason` `connect`, then `reconnect`; attempts that fail earlier do not call it),
   * and with `refresh` when the server refused the token (login code 1025, then the login is retried
   * once with the new token; a second refusal is final: state `rejected`) or the user API answered 401
   * (the request is retried once). A throw, a non-string answer or no answer within `tokenTimeoutMs`
   * is an `IM_ERR_TOKEN_FAILED` error event and a retry with backoff. Not together with `token`.
   */
  getToken?: GetToken;
  /** Deadline of one `getToken` call. @default DEFAULT_TOKEN_TIMEOUT_MS (5 s) */
  tokenTimeoutMs?: number;
  /** Default `timeoutMs` of every `send()` and `sendToGroup()` (QoS). @default none: MobileIMSDK's retries decide */
  sendTimeoutMs?: number;
  /** Opaque app data sent with the login (`extra`). */
  extra?: string | null;
  /**
   * Dispatch origin, e.g. `http://127.0.0.1:8080`: every connect and reconnect asks it for a live
   * gateway. Either this or `server` is required.
   */
  dispatchUrl?: string;
  /** A fixed gateway (no dispatch), e.g. a plain MobileIMSDK server. */
  server?: { ws?: string; tcp?: { host: string; port: number } };
  /**
   * Origin of the user API (`/api/history`, `/api/conversations`, `/api/groups`): `history()`,
   * `conversations()`, `markRead()`, `groups()` and the gap filling. @default `dispatchUrl` (none with a fixed `server`: holes are then
   * reported as `gap` events, and those methods reject)
   */
  apiUrl?: string;
  /** Deadline of one user API request. @default DEFAULT_API_TIMEOUT_MS (10 s) */
  apiTimeoutMs?: number;
  /**
   * The server's `IM_GROUP_PREFIX`: `sendToGroup(gid)` sends to `groupPrefix + gid`, and a group
   * message's `group` is its address without it. @default DEFAULT_GROUP_PREFIX ('g:')
   */
  groupPrefix?: string;
  /**
   * Gap filling: how long a hole may stay open before it is fetched (`graceMs`, 300), messages per
   * request (`pageSize`, 200), most messages one fill fetches (`maxFill`, 1000), most conversations
   * caught up per login (`maxConversations`, 50), most peers remembered (`maxPeers`, 10 000).
   */
  gaps?: GapOptions;
  /** How to open connections. @default the global WebSocket (`webSocketTransport()`) */
  transport?: Transport;
  /** Heartbeat mode; @default dispatch's, else DEFAULT_SENSE_MODE ('15S') */
  senseMode?: SenseMode;
  /** Explicit keepalive timings (tests); wins over `senseMode`. */
  keepAlive?: KeepAliveTimings;
  /** @default DEFAULT_KEEPALIVE_CHECK_INTERVAL_MS (2000), capped to the keepalive interval */
  keepAliveCheckIntervalMs?: number;
  /** Reconnect backoff; @default dispatch's, else DEFAULT_RECONNECT_POLICY. Set fields win over dispatch's. */
  reconnect?: Partial<ReconnectPolicy>;
  qos?: QosOptions;
  /** @default DEFAULT_DEDUPE_TTL_MS (10 min) */
  dedupeTtlMs?: number;
  /**
   * Send a delivery receipt (a QoS message of type `receiptTypeu` whose content is the fingerprint)
   * for every QoS message received from a peer, so its sender can show "delivered" even when the
   * message waited in the offline queue. Peers that are not Switchboard SDKs would see receipts as
   * messages, hence off by default. Received receipts are always reported as `receipt` events.
   * @default false
   */
  sendReceipts?: boolean;
  /** @default DEFAULT_RECEIPT_TYPEU (-101) */
  receiptTypeu?: number;
  /** A `firstLoginTime` saved from an earlier session of this device (0 = first login). @default 0 */
  firstLoginTime?: number;
  /** @default DEFAULT_CONNECT_TIMEOUT_MS */
  connectTimeoutMs?: number;
  /** @default DEFAULT_LOGIN_TIMEOUT_MS */
  loginTimeoutMs?: number;
  /** @default DEFAULT_DISPATCH_TIMEOUT_MS */
  dispatchTimeoutMs?: number;
  /** @default globalThis.fetch */
  fetch?: FetchLike;
  /** `sendTyping()` sends one signal per target at most this often, ms. @default DEFAULT_TYPING_THROTTLE_MS (3000) */
  typingThrottleMs?: number;
  /** @default Math.random (backoff jitter) */
  random?: () => number;
}
