import type { LoadMode, Pairing } from './types.js';
import type { Window } from './stats.js';
import { OPEN_LOOP_TICK_MS } from '../shared/defaults.js';

/** What the load driver needs of a simulated user (Switchboard user or echo user). */
export interface LoadUser {
  readonly index: number;
  readonly online: boolean;
  /** Messages sent and not yet answered. */
  readonly inflight: number;
  /** Gateway node the user was dispatched to ('' or absent when unknown, e.g. echo users). */
  readonly node?: string;
  /**
   * Originate one message to `receiver` (a user index; in group mode the sender's group index);
   * `sentAt` is the performance.now() time latency counts from.
   */
  sendNew(receiver: number, sentAt: number, measured: boolean): void;
}

/** A random user index other than `self`, uniform over the other n − 1 users. */
export function randomPeer(self: number, n: number, random: () => number = Math.random): number {
  const j = Math.floor(random() * (n - 1));
  return j >= self ? j + 1 : j;
}

/** Random draws before `pickPeer` falls back to a scan of all users. */
const PAIRING_TRIES = 32;

/**
 * The receiver for a message of user `self`: with `random`, uniform over the other users; with
 * `same-node` / `cross-node`, a random other user whose (known) node is the sender's / not the sender's,
 * by rejection sampling with a scan from a random start as fallback. Returns `matched: false` (and a
 * random peer) when no user fits, e.g. every user on one node and `cross-node`.
 */
export function pickPeer(
  self: number,
  users: readonly { readonly node?: string }[],
  pairing: Pairing,
  random: () => number = Math.random,
): { peer: number; matched: boolean } {
  const n = users.length;
  if (pairing === 'random') return { peer: randomPeer(self, n, random), matched: true };
  const own = users[self]?.node ?? '';
  const fits = (j: number): boolean => {
    const node = users[j]!.node ?? '';
    if (j === self || node === '' || own === '') return false;
    return pairing === 'same-node' ? node === own : node !== own;
  };
  for (let t = 0; t < PAIRING_TRIES; t++) {
    const j = randomPeer(self, n, random);
    if (fits(j)) return { peer: j, matched: true };
  }
  const start = Math.floor(random() * n);
  for (let k = 0; k < n; k++) {
    const j = (start + k) % n;
    if (fits(j)) return { peer: j, matched: true };
  }
  return { peer: randomPeer(self, n, random), matched: false };
}

/**
 * Generates the messages: closed loop (each online user keeps `inflight` unanswered messages,
 * sending the next as one is answered) or open loop (`ratePerSec` messages per second over all users
 * from random online senders, on a fixed schedule whatever the answers do; the latency of a message
 * counts from its scheduled time, so a stalled generator does not hide queueing).
 * No new message after `window.to`. Each message goes to a peer chosen by `pairing`, or to whatever
 * `pairing` answers when it is a function (group mode: the sender's group).
 */
export class LoadDriver {
  private generating = false;
  private timer: NodeJS.Timeout | null = null;
  private scheduled = 0;
  /** Open loop: sends skipped because no online sender was found. */
  skippedOffline = 0;
  /** Messages whose receiver could not be chosen as `pairing` asks (no such user): sent to a random peer. */
  pairingMisses = 0;

  constructor(
    private readonly users: readonly LoadUser[],
    private readonly mode: LoadMode,
    private readonly window: Window,
    private readonly pairing: Pairing | ((sender: LoadUser) => number) = 'random',
    /** `--peers K`: each sender writes to K contacts (0: to any other user, a new one each message). */
    private readonly peers = 0,
    private readonly random: () => number = Math.random,
  ) {}

  /** Each sender's contacts (`peers` > 0), chosen by `pairing` at its first message and kept. */
  private readonly contacts = new Map<number, { peer: number; matched: boolean }[]>();

  private peerOf(u: LoadUser): number {
    if (typeof this.pairing === 'function') return this.pairing(u);
    const { peer, matched } = this.peers > 0 ? this.contactOf(u.index, this.pairing) : pickPeer(u.index, this.users, this.pairing, this.random);
    if (!matched) this.pairingMisses++;
    return peer;
  }

  /**
   * One of the sender's contacts, uniformly: up to `peers` distinct users drawn by `pickPeer` at its
   * first message (fewer when not that many fit). So a run has at most users × peers conversations,
   * most messages go to a conversation that already exists, as in a chat app, and the server's
   * per-conversation state (history) is exercised as it is used rather than by a new conversation
   * per message.
   */
  private contactOf(self: number, pairing: Pairing): { peer: number; matched: boolean } {
    let list = this.contacts.get(self);
    if (!list) {
      const seen = new Set<number>();
      list = [];
      for (let t = 0; t < 4 * this.peers && list.length < this.peers; t++) {
        const pick = pickPeer(self, this.users, pairing, this.random);
        if (seen.has(pick.peer)) continue;
        seen.add(pick.peer);
        list.push(pick);
      }
      this.contacts.set(self, list);
    }
    return list[Math.floor(this.random() * list.length)]!;
  }

  get running(): boolean {
    return this.generating;
  }

  start(): void {
    this.generating = true;
    if (this.mode.kind === 'closed') {
      for (const u of this.users) this.topUp(u);
      // The closed loop is driven by answers; this timer only ends it on time.
      this.timer = setInterval(() => {
        if (performance.now() >= this.window.to) this.stop();
      }, 20).unref();
    } else {
      this.timer = setInterval(() => this.openTick(), OPEN_LOOP_TICK_MS).unref();
    }
  }

  stop(): void {
    this.generating = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Closed loop: a message of `u` was answered or given up. */
  onSlotFree(u: LoadUser): void {
    if (this.mode.kind !== 'closed' || !this.generating) return;
    this.topUp(u);
  }

  /** Closed loop: fill `u` up to the in-flight target (after login or reconnect). */
  topUp(u: LoadUser): void {
    if (this.mode.kind !== 'closed' || !this.generating || !u.online) return;
    const now = performance.now();
    if (now >= this.window.to) {
      this.stop();
      return;
    }
    const measured = now >= this.window.from;
    for (let k = u.inflight; k < this.mode.inflight; k++) u.sendNew(this.peerOf(u), now, measured);
  }

  private openTick(): void {
    if (this.mode.kind !== 'open' || !this.generating) return;
    const rate = this.mode.ratePerSec;
    const now = performance.now();
    // Message k is due at start + k / rate: those whose time has come, none at or after the window's end.
    // (less a rounding hair: `to - start` of two performance.now() values is not exact, and a message
    // due exactly at `to` must not go out)
    const last = Math.ceil(((this.window.to - this.window.start) * rate) / 1000 - 1e-6);
    const due = Math.min(Math.floor(((now - this.window.start) * rate) / 1000) + 1, last);
    const n = this.users.length;
    while (this.scheduled < due) {
      const sentAt = this.window.start + (this.scheduled * 1000) / rate;
      this.scheduled++;
      const sender = this.pickOnline(n);
      if (!sender) {
        this.skippedOffline++;
        continue;
      }
      sender.sendNew(this.peerOf(sender), sentAt, sentAt >= this.window.from);
    }
    if (now >= this.window.to) this.stop();
  }

  private pickOnline(n: number): LoadUser | null {
    for (let tries = 0; tries < 16; tries++) {
      const u = this.users[Math.floor(Math.random() * n)]!;
      if (u.online) return u;
    }
    for (const u of this.users) if (u.online) return u;
    return null;
  }
}
