import { ChurnSet, type ConnId, type Logger, type UserId } from '@switchboard/core';
import type { Transport } from '../transport/transport.js';
import { TokenBucket } from '../rate-limit.js';

/** Control packets (acks, keepalives…) may come this many times faster than data packets. */
export const CONTROL_RATE_FACTOR = 5;

/** Session states: `open` (connected, not logged in) → `authenticating` → `online` → `closed`. */
export type SessionState = 'open' | 'authenticating' | 'online' | 'closed';

/** One client connection and its protocol state. Owned by the Gateway. */
export class Session {
  state: SessionState = 'open';
  userId: UserId | null = null;
  /** The firstLoginTime the server answered at login. */
  firstLoginTime = 0;
  extra: string | null = null;
  /** Switchboard extensions the client announced at login (`features`), e.g. `notices`; null for MobileIMSDK clients. */
  features: readonly string[] | null = null;
  /** Kickout code this session was closed with, or -1. */
  kickCode = -1;
  /** Last inbound packet (ms), for the sense-mode idle timeout. */
  lastSeen: number;
  readonly connectedAt: number;
  /** Custody keys of QoS messages written to this session and not yet acked. */
  readonly pendingIn = new ChurnSet<string>();
  /** Rate limit of data packets (type 2): what a user sends. */
  readonly bucket: TokenBucket;
  /**
   * Rate limit of every other packet (acks, keepalives, echo…). Acks follow what the user
   * receives, not what it sends, so they get their own, larger budget instead of eating the
   * sender's data budget (which made busy receivers' acks bounce and their messages resend).
   */
  readonly controlBucket: TokenBucket;
  private readonly parentLog: Logger;
  private childLog: Logger | null = null;

  constructor(
    readonly connId: ConnId,
    readonly transport: Transport,
    parentLog: Logger,
    rate: { perSec: number; burst: number },
  ) {
    this.parentLog = parentLog;
    this.lastSeen = this.connectedAt = Date.now();
    this.bucket = new TokenBucket(rate.perSec, rate.burst);
    this.controlBucket = new TokenBucket(rate.perSec * CONTROL_RATE_FACTOR, rate.burst * CONTROL_RATE_FACTOR);
  }

  /**
   * This connection's child logger (connId, transport, remote address, and the user once logged in).
   * Made at its first use: most connections never log, and a child logger per idle connection cost
   * about 1 KB (the logger and its serialized bindings).
   */
  get log(): Logger {
    this.childLog ??= this.parentLog.child({
      connId: this.connId,
      transport: this.transport.kind,
      remote: this.transport.remote,
      ...(this.userId !== null ? { userId: this.userId } : {}),
    });
    return this.childLog;
  }

  /** Whether debug lines are written at all: check before `log.debug` on per-connection paths. */
  get debugEnabled(): boolean {
    return this.parentLog.isLevelEnabled('debug');
  }

  /** The user logged in: later log lines carry the userId. */
  loggedIn(userId: UserId): void {
    this.userId = userId;
    this.childLog = null;
  }

  get isOnline(): boolean {
    return this.state === 'online';
  }
}
