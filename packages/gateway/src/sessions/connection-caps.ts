import { CloseCode } from '@switchboard/protocol';
import type { Transport } from '../transport/transport.js';
import type { Session } from './session.js';

/** Why a new connection was closed at once. */
export type CapRefusal = { code: typeof CloseCode.TOO_MANY_CONNECTIONS; reason: 'max_connections' } | { code: typeof CloseCode.TOO_MANY_UNAUTHENTICATED; reason: 'max_unauth_per_ip' };

/** The address part of a transport's `ip:port` remote (IPv6 addresses keep their colons). */
export function remoteIp(remote: string): string {
  const i = remote.lastIndexOf(':');
  return i <= 0 ? remote : remote.slice(0, i);
}

/**
 * The gateway's connection caps: at most `maxConnections` connections of every transport, and at
 * most `maxUnauthPerIp` WebSocket and TCP connections that have not logged in per source address.
 * Logged-in connections do not count against the per-address cap (many users behind one NAT), and
 * UDP pseudo-sessions do not either: their source addresses can be forged, so counting them would
 * let anyone lock an address out (UDP has its own cap, which evicts the oldest not logged in).
 */
export class ConnectionCaps {
  /** Sessions not logged in yet, by source address. */
  private readonly unauthByIp = new Map<string, number>();
  /** The address each counted session was counted under. */
  private readonly counted = new Map<Session, string>();

  constructor(private readonly limits: { maxConnections: number; maxUnauthPerIp: number }) {}

  /** Whether a new connection may stay, with `open` connections already there. */
  refusal(t: Transport, open: number): CapRefusal | null {
    if (open >= this.limits.maxConnections) return { code: CloseCode.TOO_MANY_CONNECTIONS, reason: 'max_connections' };
    if (t.kind !== 'udp' && (this.unauthByIp.get(remoteIp(t.remote)) ?? 0) >= this.limits.maxUnauthPerIp) {
      return { code: CloseCode.TOO_MANY_UNAUTHENTICATED, reason: 'max_unauth_per_ip' };
    }
    return null;
  }

  /** A new session, not logged in. */
  opened(s: Session): void {
    if (s.transport.kind === 'udp') return;
    const ip = remoteIp(s.transport.remote);
    this.counted.set(s, ip);
    this.unauthByIp.set(ip, (this.unauthByIp.get(ip) ?? 0) + 1);
  }

  /** The session logged in or closed: it no longer counts against its address. */
  settled(s: Session): void {
    const ip = this.counted.get(s);
    if (ip === undefined) return;
    this.counted.delete(s);
    const n = (this.unauthByIp.get(ip) ?? 1) - 1;
    if (n <= 0) this.unauthByIp.delete(ip);
    else this.unauthByIp.set(ip, n);
  }

  /** Connections not logged in from `ip` (tests, admin). */
  unauthenticatedFrom(ip: string): number {
    return this.unauthByIp.get(ip) ?? 0;
  }
}
