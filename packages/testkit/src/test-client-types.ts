import type { WireShape } from './wire-shape.js';

/** Transport a `TestClient` speaks: WebSocket text frames, or TCP with 4-byte big-endian length framing. */
export type TestTransport = 'ws' | 'tcp';

/** Options of a `TestClient`. Give either `url` or `host` + `port`. */
export interface TestClientOptions {
  /**
   * `ws` or `tcp`. @default inferred from `url` (`ws://`/`wss://` → ws, `tcp://` → tcp), else `ws`.
   */
  transport?: TestTransport;
  /** `ws://127.0.0.1:PORT/websocket` for ws, `tcp://127.0.0.1:PORT` for tcp. */
  url?: string;
  /** Host when no `url` is given. @default '127.0.0.1' */
  host?: string;
  /** Port when no `url` is given. */
  port?: number;
  /** WebSocket path when no `url` is given. @default '/websocket' */
  path?: string;
  /** Which MobileIMSDK client family to imitate on the wire. @default 'java' */
  shape?: WireShape;
  /**
   * Answer every incoming QoS packet with a type-4 ack, as real clients do. Set false to simulate a
   * receiver that never acks. Can be changed later through `client.autoAck`. @default true
   */
  autoAck?: boolean;
  /** Default timeout of every wait, in ms. @default DEFAULT_CLIENT_TIMEOUT_MS (5000) */
  timeoutMs?: number;
  /** Largest inbound TCP body, in bytes. @default DEFAULT_CLIENT_MAX_TCP_BODY_BYTES (6144, as real clients) */
  maxTcpBodyBytes?: number;
  /** Label used in error messages. @default the logged-in uid, else 'client' */
  name?: string;
}

/** Per-call timeout override. */
export interface WaitOptions {
  /** ms. @default the client's `timeoutMs` */
  timeoutMs?: number;
}

/** Where a history wait starts scanning. */
export interface HistoryWaitOptions extends WaitOptions {
  /**
   * Index in the scanned list (`packets` or `messages`) to start from. Entries already received count,
   * so a wait set up after the packet arrived still resolves. Pass `client.packets.length` (or
   * `client.messages.length`) taken before an action to wait only for what that action causes.
   * @default 0
   */
  since?: number;
}

/** Options of `TestClient.login`. */
export interface LoginOptions extends WaitOptions {
  /** `loginToken` (a JWT when the gateway runs `IM_AUTH=jwt`). @default null (omitted by the java shape) */
  token?: string | null;
  /** `extra` app data. @default null */
  extra?: string | null;
  /** `firstLoginTime` in ms; 0 = first login. Re-logins of the same device send the earlier answer. @default 0 */
  firstLoginTime?: number;
  /** Switchboard extensions to announce (`features`, e.g. `["notices"]`). @default none (a MobileIMSDK client) */
  features?: string[];
}

/** Options of `TestClient.send`. */
export interface SendOptions {
  /** Send with `QoS: true` (needs an ack). @default true */
  qos?: boolean;
  /** Application message type. @default -1 */
  typeu?: number;
  /** Fingerprint; give the same fp again to imitate a client resend. @default a new UUID v4 when `qos` */
  fp?: string;
  /** `from` to put in the packet, to test from-spoofing. @default the logged-in uid, else '-1' */
  from?: string;
}

/** Options of `TestClient.close`. */
export interface CloseOptions {
  /** Tear the connection down without a close handshake (ws terminate, TCP RST), as a lost network does. */
  abrupt?: boolean;
}

/** How the connection ended. `code`/`reason` for WebSocket; `hadError` for TCP. */
export interface CloseInfo {
  code?: number;
  reason?: string;
  hadError?: boolean;
}
