import { UnroutableError, type NodeId } from '@switchboard/core';
import { MAX_NUDGE_AGAIN } from '../defaults.js';
import type { SessionHub } from '../sessions/session-hub.js';
import type { Custody } from './custody.js';
import type { LocalDelivery } from './local-delivery.js';
import type { RouteResolver } from './route-resolver.js';

export interface NudgeDeps {
  nodeId: NodeId;
  hub: SessionHub;
  local: LocalDelivery;
  resolver: RouteResolver;
}

/**
 * After custody stored a message offline, the receiver may have logged in meanwhile (after its
 * gateway drained the queue): one copy is delivered without custody, and its ack removes the queue
 * entry. Nudges that could not cross the bridge (our link was down) are kept and sent again when it
 * is back, so they do not wait for a re-login.
 */
export class Nudges {
  private readonly held = new Map<string, Custody>();

  constructor(
    private readonly d: NudgeDeps,
    private readonly forward: (target: NodeId, c: Custody) => Promise<void>,
  ) {}

  async nudge(c: Custody): Promise<void> {
    const s = this.d.hub.user(c.receiver);
    if (s) {
      // A connection that already got the message (and its resend) without acking gets no third copy.
      if (c.triedConns.includes(s.connId)) return;
      this.d.local.write(s, c.wire, { fp: c.fp, record: { origin: this.d.nodeId, sender: c.sender, viaOffline: true } });
      return;
    }
    let target: NodeId;
    try {
      const r = await this.d.resolver.remote(c.receiver);
      if (!r || c.triedConns.includes(r.connId)) return;
      target = r.nodeId;
    } catch {
      return; // the route store failed: it stays queued for the next login
    }
    try {
      await this.forward(target, c);
    } catch (err) {
      // It stays queued for the next login. If our link is what failed (not a missing queue there,
      // whose node redelivers at its own reconnect), nudge again when the link is back.
      if (!(err instanceof UnroutableError) && this.held.size < MAX_NUDGE_AGAIN) this.held.set(c.key, c);
    }
  }

  /** The bridge is back: nudge what could not cross it meanwhile. */
  again(): void {
    const again = [...this.held.values()];
    this.held.clear();
    for (const c of again) void this.nudge(c);
  }
}
