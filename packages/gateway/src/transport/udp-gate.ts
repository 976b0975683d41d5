import { PacketType, decodePacket, type Packet } from '@switchboard/protocol';
import { fitDatagram, isLoginSuccess } from './udp-datagram.js';

/** What the gate lets out for one packet: the datagram to send, or why nothing is sent. */
export type GateResult = { datagram: string; loginSuccess: boolean } | { drop: 'amplification' | 'too_large' };

/** Most fps of QoS packets remembered per unverified address (any of them, acked, verifies it). */
const MAX_TOKENS = 16;

/**
 * The amplification rule of one UDP address (protocol §3.3). A UDP source address can be forged,
 * and a login with a valid token for the attacker's own account proves nothing about the address
 * it came from; so until the address acks a QoS packet sent to it (its fp is unguessable off the
 * path), what it is sent is bounded:
 * - replies never add up to more bytes than the address sent (the budget); a reply that does not
 *   fit is compacted or cut (`fitDatagram`), or not sent;
 * - once logged in, one datagram more may go out beyond the budget (the probe: normally the first
 *   message of its offline queue, or its first live message); then nothing beyond the budget until
 *   the ack. The probe is granted again by a new login datagram, or by any datagram from the
 *   address `probeRetryMs` after the last probe (a lost probe or ack does not stall it for good).
 * After the ack the address is verified: datagrams up to `maxOut` bytes, no budget.
 */
export class AmplificationGate {
  private loggedIn = false;
  private verified = false;
  /** Bytes received minus bytes sent, before verification. */
  private budget = 0;
  private probeFree = true;
  private probeAt = 0;
  /** Fps of QoS packets sent while unverified. */
  private tokens: string[] | null = null;
  private waiters: Array<() => void> | null = null;
  private verifiedFns: Array<() => void> | null = null;

  constructor(
    private readonly maxOut: number,
    private readonly probeRetryMs: number,
  ) {}

  get isLoggedIn(): boolean {
    return this.loggedIn;
  }

  /** An inbound datagram of `bytes` bytes (`text`: null when it is not UTF-8). */
  received(bytes: number, text: string | null): void {
    if (this.verified) return;
    this.budget += bytes;
    if (!this.loggedIn || text === null || (this.tokens === null && this.probeFree)) return;
    let p: Packet;
    try {
      p = decodePacket(text);
    } catch {
      return; // the session layer answers the bad packet
    }
    if (p.type === PacketType.ACK && p.dataContent !== null && this.tokens?.includes(p.dataContent)) return this.verify();
    if (this.probeFree) return;
    if (p.type === PacketType.LOGIN || Date.now() - this.probeAt >= this.probeRetryMs) {
      this.probeFree = true;
      this.wake();
    }
  }

  /** Decide what goes out for `text`, and account for it as sent. */
  admit(text: string): GateResult {
    if (this.verified) {
      const datagram = fitDatagram(text, this.maxOut);
      return datagram === null ? { drop: 'too_large' } : { datagram, loginSuccess: false };
    }
    let datagram: string | null = null;
    if (this.loggedIn && this.probeFree) {
      const full = fitDatagram(text, this.maxOut);
      if (full !== null && Buffer.byteLength(full) > this.budget) {
        this.probeFree = false;
        this.probeAt = Date.now();
        datagram = full;
      }
    }
    if (datagram === null) {
      datagram = fitDatagram(text, Math.min(this.maxOut, this.budget));
      if (datagram === null) return { drop: fitDatagram(text, this.maxOut) === null ? 'too_large' : 'amplification' };
      this.budget -= Buffer.byteLength(datagram);
    }
    this.remember(datagram);
    const loginSuccess = !this.loggedIn && isLoginSuccess(datagram);
    if (loginSuccess) this.loggedIn = true;
    return { datagram, loginSuccess };
  }

  /** Null when a full datagram would go out now; otherwise settles once that may have changed. */
  whenWritable(): Promise<void> | null {
    if (this.verified || !this.loggedIn || this.probeFree) return null;
    return new Promise((resolve) => (this.waiters ??= []).push(resolve));
  }

  onVerified(fn: () => void): void {
    if (!this.verified) (this.verifiedFns ??= []).push(fn);
  }

  /** The address is gone: nobody waits any longer. */
  close(): void {
    this.verifiedFns = null;
    this.wake();
  }

  /** Remember the fp of a QoS data packet sent while unverified: its ack verifies the address. */
  private remember(datagram: string): void {
    if (!datagram.includes('"QoS":true')) return;
    let p: Packet;
    try {
      p = decodePacket(datagram);
    } catch {
      return; // not a packet the gateway made: nothing to remember
    }
    if (p.type !== PacketType.DATA || !p.QoS || p.fp === null || p.fp === '') return;
    const tokens = (this.tokens ??= []);
    if (tokens.length < MAX_TOKENS) tokens.push(p.fp);
  }

  private verify(): void {
    this.verified = true;
    this.tokens = null;
    this.wake();
    const fns = this.verifiedFns;
    this.verifiedFns = null;
    for (const fn of fns ?? []) fn();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = null;
    for (const fn of w ?? []) fn();
  }
}
