import { isControlTypeu } from '@switchboard/protocol';
import type { NodeId, UserId } from '@switchboard/core';
import type { PushNeeded } from '../events.js';
import type { Outcomes } from '../delivery/outcomes.js';
import type { GatewayMetrics } from '../metrics.js';
import { DEFAULT_PUSH_PREVIEW_CHARS } from '../defaults.js';

/** Users with a window open at once, at most; past it a user's event goes out at once (no batching). */
const MAX_OPEN_WINDOWS = 100_000;

export interface PushNeededDeps {
  nodeId: NodeId;
  metrics: GatewayMetrics;
  outcomes: Outcomes;
  /** Window per user, ms (`IM_PUSH_WINDOW_MS`); 0 sends one event per stored message. */
  windowMs: number;
  /** Whether events carry the message's text (`IM_PUSH_PREVIEW`). */
  preview: boolean;
  /** The `onPushNeeded` gateway option, beside `hooks.onPushNeeded`. */
  onPushNeeded?: ((push: PushNeeded) => void) | undefined;
}

/** One stored message: who it was for and what it was. */
export interface StoredFor {
  user: UserId;
  from: string;
  fp: string;
  typeu: number;
  dataContent: string | null;
  group?: string;
}

/**
 * The offline-push hook (docs/presence.md): messages stored for offline users become `push.needed`
 * (event, webhook, `onPushNeeded` hook), one per user per window: the first stored message opens the
 * window, its end reports the count and the newest message. SDK control messages (receipts and the
 * like, typeu ≤ -100) wake nobody. Timers are unref'd and cleared by `close()`.
 */
export class PushNeededReporter {
  private readonly open = new Map<UserId, { push: PushNeeded; timer: NodeJS.Timeout }>();

  constructor(private readonly d: PushNeededDeps) {}

  stored(m: StoredFor): void {
    if (isControlTypeu(m.typeu)) return;
    const prev = this.open.get(m.user);
    const push: PushNeeded = {
      user: m.user,
      from: m.from,
      count: (prev?.push.count ?? 0) + 1,
      fp: m.fp,
      ...(this.d.preview && m.dataContent !== null ? { preview: m.dataContent.slice(0, DEFAULT_PUSH_PREVIEW_CHARS) } : {}),
      ...(m.group === undefined ? {} : { group: m.group }),
    };
    if (prev) {
      prev.push = push;
      return;
    }
    if (this.d.windowMs <= 0 || this.open.size >= MAX_OPEN_WINDOWS) {
      this.report(push);
      return;
    }
    const timer = setTimeout(() => this.flush(m.user), this.d.windowMs);
    timer.unref();
    this.open.set(m.user, { push, timer });
  }

  /** Users with a window open (tests). */
  get pending(): number {
    return this.open.size;
  }

  /** Report every open window now and stop (gateway close). */
  close(): void {
    for (const user of [...this.open.keys()]) this.flush(user);
  }

  private flush(user: UserId): void {
    const w = this.open.get(user);
    if (!w) return;
    clearTimeout(w.timer);
    this.open.delete(user);
    this.report(w.push);
  }

  private report(push: PushNeeded): void {
    const o = this.d.outcomes;
    this.d.metrics.pushNeeded.inc();
    o.hook(() => o.hooks.onPushNeeded?.(push));
    if (this.d.onPushNeeded) o.hook(() => this.d.onPushNeeded?.(push));
    o.emit({ type: 'push.needed', at: Date.now(), nodeId: this.d.nodeId, ...push });
  }
}
