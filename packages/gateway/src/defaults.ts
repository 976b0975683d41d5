import type { SenseMode } from '@switchboard/protocol';
export { DEFAULT_TCP_MAX_BODY_BYTES } from '@switchboard/protocol';

/** Defaults of the gateway, in one place, units in the names. */
export const DEFAULT_WS_PORT = 3000;
export const DEFAULT_TCP_PORT = 8901;
export const DEFAULT_UDP_PORT = 7901;
export const DEFAULT_ADMIN_PORT = 9100;
export const DEFAULT_WS_PATH = '/websocket';
/** MobileIMSDK's WebSocket frame limit (Netty's aggregator default). */
export const DEFAULT_WS_MAX_FRAME_BYTES = 65_536;
/** First server resend of an unacked QoS message (architecture §5). */
export const DEFAULT_CUSTODY_RESEND_MS = 2_000;
/** Custody gives up and stores the message offline (architecture §5). */
export const DEFAULT_CUSTODY_GIVE_UP_MS = 4_000;
/** C2S fingerprint dedupe window, as MobileIMSDK's server (10 min). */
export const DEFAULT_C2S_DEDUPE_MS = 600_000;
/**
 * C2C fingerprint dedupe window per sender. Clients resend for at most ~18 s, so a minute absorbs
 * every retry while keeping memory bounded at high message rates.
 */
export const DEFAULT_C2C_DEDUPE_MS = 60_000;
/** How long a gateway remembers where a message it delivered came from, to relay a late ack. */
export const DEFAULT_INBOUND_MEMORY_MS = 60_000;
/** Most messages remembered for a second nudge after a bridge outage (older ones wait for a login). */
export const MAX_NUDGE_AGAIN = 50_000;
/** Outbound bytes a connection may have queued before it is closed as a slow consumer. */
export const DEFAULT_MAX_OUTBOUND_BYTES = 1_048_576;
/** Per-connection inbound packet rate (tokens per second) and burst. */
export const DEFAULT_RATE_LIMIT_PER_SEC = 200;
export const DEFAULT_RATE_LIMIT_BURST = 400;
/** A connection that keeps sending this many times its rate limit within a second is closed. */
export const RATE_LIMIT_ABUSE_FACTOR = 5;
/** Node record reporting interval and expiry: a crashed node is forgotten within the TTL. */
export const DEFAULT_NODE_REPORT_INTERVAL_MS = 1_000;
export const DEFAULT_NODE_TTL_MS = 3_000;
/** How often a gateway purges routes of crashed nodes. */
export const DEFAULT_SWEEP_INTERVAL_MS = 5_000;
/** Offline messages delivered at login, at most (the queue's default capacity). */
export const DEFAULT_OFFLINE_DELIVERY_BATCH = 1_000;
/**
 * Offline delivery reads a queue in pages of this many messages and reads the next page once the
 * receiver acked the previous one (or it stalled), so a queue of any length is delivered, in order.
 */
export const DEFAULT_OFFLINE_PAGE = 200;
/**
 * The page of a UDP session: a datagram that is not acked costs nothing to hold back, and an
 * address that forged one ack (an attacker who sent the message itself knows its fp) earns at most
 * this many datagrams per login, not a page of 200.
 */
export const DEFAULT_OFFLINE_UDP_PAGE = 16;
/**
 * A delivery run stops once this many messages it read stay queued without an ack (too large for
 * the transport, or never acked): every page reads past them from the head of the queue.
 */
export const DEFAULT_OFFLINE_STUCK_LIMIT = 1_000;
/** A page whose acks stop coming for this long is given up on (its rest stays queued) and the next page follows. */
export const DEFAULT_OFFLINE_ACK_STALL_MS = 10_000;
/** Connections that must log in within this long of being opened; echoes and keepalives do not extend it. */
export const DEFAULT_LOGIN_TIMEOUT_MS = 10_000;
/**
 * Most connections (WebSocket, TCP and UDP pseudo-sessions) one gateway holds. Above the bench's
 * largest idle run (200,000 users) and well within the memory of a gateway that size.
 */
export const DEFAULT_MAX_CONNECTIONS = 250_000;
/**
 * Most WebSocket and TCP connections that have not logged in yet from one source address. Logged-in
 * connections do not count, so many users behind one NAT are fine as long as they log in; the bench
 * logs in at most 12 workers × 256 connections at a time from one address.
 */
export const DEFAULT_MAX_UNAUTH_PER_IP = 4_096;
/** How long an answer of the receiver check is reused. */
export const DEFAULT_RECEIVER_CHECK_CACHE_MS = 60_000;
/**
 * How long the relay reuses the route of a user on another node (docs/operations.md, "Route cache").
 * Presence broadcasts and `miss` answers drop a stale one sooner; this bounds what a lost broadcast costs.
 */
export const DEFAULT_ROUTE_CACHE_MS = 10_000;
/** Most routes a gateway caches (the oldest forgotten first). */
export const DEFAULT_ROUTE_CACHE_ENTRIES = 100_000;
/** Most receiver-check answers cached. */
export const DEFAULT_RECEIVER_CHECK_CACHE_ENTRIES = 100_000;
/** Timeout of one receiver-check webhook request. */
export const DEFAULT_RECEIVER_CHECK_TIMEOUT_MS = 1_000;
/** Drain deadline. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;
/** Client closes of a drain are spread over min(this, drain timeout / 3). */
export const DEFAULT_DRAIN_SPREAD_MAX_MS = 5_000;
/** Heartbeat sense mode (protocol §5): the idle timeouts follow its row. */
export const DEFAULT_SENSE_MODE: SenseMode = '15S';
/** Offline queue delivery waits this long for the connection's buffer to drain below half its bound. */
export const OFFLINE_PACING_STEP_MS = 5;
/** HTTP auth webhook timeout. */
export const DEFAULT_AUTH_HTTP_TIMEOUT_MS = 3_000;
/**
 * UDP (protocol §3.3). Largest inbound datagram: MobileIMSDK's server reads 2048 bytes; a larger
 * datagram is dropped and the pseudo-session it came from is forgotten.
 */
export const DEFAULT_UDP_MAX_DATAGRAM_IN_BYTES = 2_048;
/**
 * Largest outbound datagram: MobileIMSDK's Java and Android UDP clients read into 1024-byte buffers.
 * A message that would not fit is refused with error 1031 to its sender.
 */
export const DEFAULT_UDP_MAX_DATAGRAM_OUT_BYTES = 1_024;
/** Most UDP pseudo-sessions (one per remote ip:port) a gateway keeps at once. */
export const DEFAULT_UDP_MAX_SESSIONS = 50_000;
/** Datagrams from an address are ignored this long after its session was closed for bad input or a flood. */
export const DEFAULT_UDP_BLOCK_MS = 10_000;
/**
 * A logged-in UDP address that has not yet acked any QoS packet sent to it (so it may be a spoofed
 * victim's) gets its one unbudgeted datagram again at most this often, and only in answer to a
 * datagram from it: a lost first message or ack does not hold the session back for good.
 */
export const DEFAULT_UDP_PROBE_RETRY_MS = 5_000;
/** At most one "UDP session cap reached" warning per this interval. */
export const DEFAULT_UDP_CAP_WARN_INTERVAL_MS = 10_000;
/** Presence changes are collected this long, then broadcast to every gateway as one message (`IM_PRESENCE_INTERVAL_MS`). */
export const DEFAULT_PRESENCE_INTERVAL_MS = 1_000;
/** Most presence changes in one broadcast message; a larger interval's batch goes out as several. */
export const DEFAULT_PRESENCE_BATCH_MAX = 5_000;
/** At most one typing signal per sender per target this often (`IM_TYPING_INTERVAL_MS`); the excess is dropped silently. */
export const DEFAULT_TYPING_INTERVAL_MS = 2_000;
/** `push.needed` events are collected per offline user this long, then sent as one (`IM_PUSH_WINDOW_MS`). */
export const DEFAULT_PUSH_WINDOW_MS = 2_000;
/** Characters of a message's text a `push.needed` preview keeps. */
export const DEFAULT_PUSH_PREVIEW_CHARS = 100;
