/**
 * Per-conversation ordering and gap filling by history `seq` (no I/O of its own: history pages come
 * from `fetch`, timers from `setTimer`), so that an application sees every message of a conversation
 * once, in seq order, even when the link dropped some.
 *
 * Per peer it keeps `last`, the seq up to which every message was delivered or accounted for (the
 * first seq seen from a peer is its starting point). An arrival with seq `last + 1` is delivered at
 * once, and so are the held ones that follow it. An arrival further ahead is held; if the hole is
 * still open `graceMs` later (a message, or the ack of one's own, overtaken in flight closes it by
 * itself), a fill job fetches the missing seqs from history in pages of `pageSize`, oldest first,
 * and delivers them and the held ones in order. One's own messages (item `null`, from acks or from
 * history) move `last` without being delivered. An arrival at or below `last` is late (its seq was
 * skipped) and is delivered as it comes (or dropped, when the caller asks: it has no fp to dedupe by);
 * duplicates are the caller's business (fp dedupe).
 *
 * A conversation's history starts again at seq 1 after its TTL without messages, or when a
 * standalone's memory bound forgets it, while a session may outlive that. Arrivals that carry their
 * send time (`at`, the server's `sentAt`) tell that apart: in one history a seq's message was sent no
 * later than those of the seqs after it, so an arrival at or below `last` sent later than every one
 * seen so far is a new history's, unless its seq was one reported skipped (it may then be the late
 * copy of a message whose send time was never seen). Acks of one's own messages carry their send
 * times too. The conversation then starts again there: the held arrivals (of the old history) are
 * delivered in order, the holes before them reported skipped (trimmed), a fill under way is abandoned,
 * and the arrival counts as the next seq. (Servers whose clocks differ can make a late arrival look
 * newer; it is then taken for a restart, which costs a refetch of seqs already delivered, dropped by
 * fp, and a `restart` the app did not need.) A restart is noticed only through an arrival at or below
 * `last`: a new history that has grown past `last` by the time the session hears of it (a catch-up
 * after a long absence) is taken for the old one's continuation.
 *
 * Bounds: fill jobs run one at a time per client; one job fetches at most `maxFill` messages (the
 * newest ones of a longer hole; the older ones are reported skipped); `catchUp` refreshes at most
 * `maxConversations` conversations at a time (the others fill when their next message arrives); at
 * most `maxPeers` peers are remembered (the least recently active idle ones are forgotten).
 */

/** One message of a page of history, or one's own (`item` null: counts, is not delivered). */
export interface SeqEntry<T> {
  seq: number;
  item: T | null;
  /** Its send time (the server's `sentAt`), when known. */
  at?: number;
}

/** Why seqs were skipped: no longer kept in history, beyond `maxFill`, or the fetch failed. */
export type SkipReason = 'trimmed' | 'capped' | 'failed';

export interface SequencerDeps<T> {
  /** Up to `limit` of the newest entries with seq < `before` of the conversation with `peer`, oldest first. */
  fetch(peer: string, before: number, limit: number): Promise<Array<SeqEntry<T>>>;
  /** Hand `item` to the application. `filled`: it came from history (not deduplicated yet). */
  deliver(peer: string, item: T, filled: boolean): void;
  /** Seqs `first`..`last` of `peer` will not be delivered. */
  skipped(peer: string, first: number, last: number, reason: SkipReason, error: unknown): void;
  /** `peer`'s history started again; `seq` (a new history's) comes next. Told after the old one's held arrivals. */
  restarted?(peer: string, seq: number): void;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (t: unknown) => void;
}

export interface SequencerOptions {
  /** How long a hole may stay open before it is fetched. @default DEFAULT_GAP_GRACE_MS */
  graceMs?: number;
  /** Messages per history request (the API's maximum is 200). @default 200 */
  pageSize?: number;
  /** Most messages one fill job fetches. @default DEFAULT_GAP_MAX_FILL */
  maxFill?: number;
  /** Most conversations one `catchUp` fills. @default DEFAULT_GAP_MAX_CONVERSATIONS */
  maxConversations?: number;
  /** Most peers remembered. @default DEFAULT_GAP_MAX_PEERS */
  maxPeers?: number;
}

/** Defaults of the gap filling (ClientOptions.gaps). */
export const DEFAULT_GAP_GRACE_MS = 300;
export const DEFAULT_GAP_PAGE_SIZE = 200;
export const DEFAULT_GAP_MAX_FILL = 1_000;
export const DEFAULT_GAP_MAX_CONVERSATIONS = 50;
export const DEFAULT_GAP_MAX_PEERS = 10_000;

interface Conv<T> {
  last: number;
  /** Arrivals ahead of `last + 1`, by seq (null: one's own). */
  held: Map<number, T | null>;
  /** Seq a queued fill must reach at least (from `catchUp`). */
  want: number;
  timer: unknown;
  queued: boolean;
  /** Latest send time of an arrival or fetched entry since the conversation (re)started (0: none known). */
  newestAt: number;
  /** Times the conversation started again (a fill begun before a restart stops). */
  epoch: number;
  /** Seq ranges reported skipped since it (re)started, the newest MAX_SKIPPED_RANGES: no proof of a restart. */
  skipped: Array<[number, number]>;
}

/** Skipped ranges a conversation remembers. */
const MAX_SKIPPED_RANGES = 32;

export class Sequencer<T> {
  private readonly convs = new Map<string, Conv<T>>();
  private readonly queue: string[] = [];
  private readonly opts: Required<SequencerOptions>;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (t: unknown) => void;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly deps: SequencerDeps<T>,
    opts: SequencerOptions = {},
  ) {
    this.opts = {
      graceMs: opts.graceMs ?? DEFAULT_GAP_GRACE_MS,
      pageSize: Math.max(1, opts.pageSize ?? DEFAULT_GAP_PAGE_SIZE),
      maxFill: Math.max(1, opts.maxFill ?? DEFAULT_GAP_MAX_FILL),
      maxConversations: Math.max(0, opts.maxConversations ?? DEFAULT_GAP_MAX_CONVERSATIONS),
      maxPeers: Math.max(1, opts.maxPeers ?? DEFAULT_GAP_MAX_PEERS),
    };
    this.setTimer = deps.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = deps.clearTimer ?? ((t) => clearTimeout(t as ReturnType<typeof setTimeout>));
  }

  /** The seq up to which `peer`'s conversation was delivered; undefined for a peer not seen yet. */
  lastSeq(peer: string): number | undefined {
    return this.convs.get(peer)?.last;
  }

  /** Peers seen, least recently active first. */
  peers(): string[] {
    return [...this.convs.keys()];
  }

  /** Messages held behind a hole, over every peer. */
  get heldCount(): number {
    let n = 0;
    for (const c of this.convs.values()) n += c.held.size;
    return n;
  }

  /**
   * A message (or, `item` null, the ack of one's own) with `seq` arrived from the conversation with
   * `peer`, sent at `at` when known. A late one (see the class comment) is delivered, or dropped with
   * `late` = 'drop'.
   */
  receive(peer: string, seq: number, item: T | null, at?: number, late: 'deliver' | 'drop' = 'deliver'): void {
    if (this.stopped) return;
    let c = this.convs.get(peer);
    if (!c) {
      this.remember(peer, (c = { last: seq, held: new Map(), want: 0, timer: null, queued: false, newestAt: at ?? 0, epoch: 0, skipped: [] }));
      if (item !== null) this.deps.deliver(peer, item, false);
      return;
    }
    this.touch(peer, c);
    if (seq <= c.last && this.restarted(c, seq, at)) this.startAgain(peer, c, seq);
    if (at !== undefined && at > c.newestAt) c.newestAt = at;
    if (seq <= c.last) {
      if (item !== null && late === 'deliver') this.deps.deliver(peer, item, false); // late: its seq was skipped before
      return;
    }
    if (seq === c.last + 1) {
      this.step(peer, c, seq, item, false);
      this.drain(peer, c);
      return;
    }
    if (!c.held.has(seq)) c.held.set(seq, item);
    this.armGrace(peer, c);
  }

  /**
   * After a (re)connect: for each conversation (newest first) of a known peer whose `lastSeq` is
   * ahead, fill up to it; at most `maxConversations`. Returns how many were queued.
   */
  catchUp(conversations: ReadonlyArray<{ peer: string; lastSeq: number }>): number {
    let n = 0;
    for (const { peer, lastSeq } of conversations) {
      if (this.stopped || n >= this.opts.maxConversations) break;
      const c = this.convs.get(peer);
      if (!c || lastSeq <= c.last) continue;
      c.want = Math.max(c.want, lastSeq);
      this.enqueue(peer, c);
      n++;
    }
    return n;
  }

  /** Resolves once no fill job runs or waits (timers still armed are not waited for). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Drop every timer and job; nothing is delivered afterwards. */
  stop(): void {
    this.stopped = true;
    for (const c of this.convs.values()) {
      if (c.timer !== null) this.clearTimer(c.timer);
      c.timer = null;
      c.held.clear();
    }
    this.queue.length = 0;
  }

  /** Work again after `stop()` (the client resumed); what was held then is gone, what is new is ordered again. */
  restart(): void {
    this.stopped = false;
  }

  // ------------------------------------------------------------------ ordering

  /** Whether an arrival at or below `last`, seq `seq` sent at `at`, is a new history's (see the class comment). */
  private restarted(c: Conv<T>, seq: number, at: number | undefined): boolean {
    return at !== undefined && c.newestAt > 0 && at > c.newestAt && !c.skipped.some(([a, b]) => seq >= a && seq <= b);
  }

  /** The conversation's history started again: what is held is the old one's; `seq` comes next. */
  private startAgain(peer: string, c: Conv<T>, seq: number): void {
    if (c.held.size > 0) this.skipTo(peer, c, this.newestHeld(c), 'trimmed', null);
    if (c.timer !== null) this.clearTimer(c.timer);
    c.timer = null;
    c.want = 0;
    c.newestAt = 0;
    c.skipped = [];
    c.epoch++;
    c.last = seq - 1;
    this.deps.restarted?.(peer, seq);
  }

  /** Account for seq `s` (= last + 1): the held arrival if there is one, else `item`. */
  private step(peer: string, c: Conv<T>, s: number, item: T | null, filled: boolean): void {
    let it = item;
    let fromHistory = filled;
    if (c.held.has(s)) {
      it = c.held.get(s)!;
      c.held.delete(s);
      fromHistory = false;
    }
    c.last = s;
    if (it !== null) this.deps.deliver(peer, it, fromHistory);
  }

  /** Deliver the held arrivals that follow `last` without a hole. */
  private drain(peer: string, c: Conv<T>): void {
    while (c.held.has(c.last + 1)) this.step(peer, c, c.last + 1, null, false);
    if (c.held.size === 0 && c.timer !== null) {
      this.clearTimer(c.timer);
      c.timer = null;
    }
  }

  /** Give up on every seq up to `s`: held ones are delivered in order, the missing ones reported. */
  private skipTo(peer: string, c: Conv<T>, s: number, reason: SkipReason, error: unknown): void {
    if (s <= c.last) return;
    const heldUpTo = [...c.held.keys()].filter((k) => k <= s).sort((a, b) => a - b);
    let from = c.last + 1;
    for (const k of [...heldUpTo, s + 1]) {
      if (k > from) this.reportSkipped(peer, c, from, k - 1, reason, error);
      if (k <= s) this.step(peer, c, k, null, false);
      from = k + 1;
    }
    c.last = s;
    this.drain(peer, c);
  }

  private reportSkipped(peer: string, c: Conv<T>, first: number, last: number, reason: SkipReason, error: unknown): void {
    c.skipped.push([first, last]);
    if (c.skipped.length > MAX_SKIPPED_RANGES) c.skipped.shift();
    this.deps.skipped(peer, first, last, reason, error);
  }

  // ------------------------------------------------------------------ filling

  private armGrace(peer: string, c: Conv<T>): void {
    if (c.queued || c.timer !== null || c.held.size === 0 || this.stopped) return;
    c.timer = this.setTimer(() => {
      c.timer = null;
      if (c.held.size > 0) this.enqueue(peer, c);
    }, this.opts.graceMs);
  }

  private enqueue(peer: string, c: Conv<T>): void {
    if (this.stopped) return;
    if (c.timer !== null) {
      this.clearTimer(c.timer);
      c.timer = null;
    }
    if (!c.queued) {
      c.queued = true;
      this.queue.push(peer);
    }
    if (!this.running) {
      this.running = this.pump().finally(() => {
        this.running = null;
      });
    }
  }

  private async pump(): Promise<void> {
    for (let peer = this.queue.shift(); peer !== undefined && !this.stopped; peer = this.queue.shift()) {
      const c = this.convs.get(peer);
      if (!c) continue;
      c.queued = false;
      await this.fill(peer, c);
      // Holes opened while the job ran get their own grace period.
      this.armGrace(peer, c);
    }
  }

  /** One fill job: from `last` up to the wanted seq or the newest held one, in pages, at most `maxFill`. */
  private async fill(peer: string, c: Conv<T>): Promise<void> {
    const epoch = c.epoch;
    const target = Math.max(c.want, this.newestHeld(c) - 1);
    c.want = 0;
    if (target - c.last > this.opts.maxFill) this.skipTo(peer, c, target - this.opts.maxFill, 'capped', null);
    while (c.last < target && !this.stopped) {
      const lo = c.last + 1;
      const before = Math.min(lo + this.opts.pageSize, target + 1);
      let page: Array<SeqEntry<T>>;
      try {
        page = await this.deps.fetch(peer, before, before - lo);
      } catch (err) {
        if (!this.stopped && c.epoch === epoch) this.skipTo(peer, c, target, 'failed', err);
        return;
      }
      if (this.stopped || c.epoch !== epoch) return; // the history started again meanwhile: its seqs are another's
      for (const e of [...page].sort((a, b) => a.seq - b.seq)) {
        // Live arrivals may have moved `last` while the page was on its way.
        if (!Number.isSafeInteger(e.seq) || e.seq <= c.last || e.seq >= before) continue;
        if (e.at !== undefined && e.at > c.newestAt) c.newestAt = e.at;
        if (e.seq > c.last + 1) this.skipTo(peer, c, e.seq - 1, 'trimmed', null);
        this.step(peer, c, e.seq, e.item, true);
        this.drain(peer, c);
      }
      if (c.last < before - 1) this.skipTo(peer, c, before - 1, 'trimmed', null);
    }
  }

  private newestHeld(c: Conv<T>): number {
    let max = 0;
    for (const k of c.held.keys()) if (k > max) max = k;
    return max;
  }

  // ------------------------------------------------------------------ peers

  private touch(peer: string, c: Conv<T>): void {
    this.convs.delete(peer);
    this.convs.set(peer, c);
  }

  private remember(peer: string, c: Conv<T>): void {
    this.convs.set(peer, c);
    if (this.convs.size <= this.opts.maxPeers) return;
    for (const [p, old] of this.convs) {
      if (this.convs.size <= this.opts.maxPeers) break;
      if (old.held.size === 0 && !old.queued && old.timer === null) this.convs.delete(p);
    }
  }
}
