import { LogThrottle, UnroutableError, type Logger, type NodeId, type UserId } from '@switchboard/core';
import { ExtensionPacketType } from '@switchboard/protocol';
import type { Bridge, BridgeMessage, BridgeState, PresenceChange } from '@switchboard/cluster';
import type { GatewayMetrics } from '../metrics.js';
import type { CustodyDesk } from '../delivery/custody.js';
import type { LocalDelivery } from '../delivery/local-delivery.js';
import type { Messages } from '../delivery/messages.js';
import type { GroupReceiver } from '../delivery/group-receiver.js';
import type { Logins } from '../sessions/login.js';
import type { SessionHub } from '../sessions/session-hub.js';

export interface BridgeHandlerDeps {
  nodeId: NodeId;
  log: Logger;
  bridge: Bridge;
  metrics: GatewayMetrics;
  hub: SessionHub;
  local: LocalDelivery;
  custody: CustodyDesk;
  messages: Messages;
  logins: Logins;
  groupReceiver: GroupReceiver;
  drain: () => void;
  /** A presence broadcast (from any node, this one too). */
  presence: (changes: readonly PresenceChange[]) => void;
  /** The link came back after being down: deliver what fell to offline queues meanwhile. */
  redeliverOffline: (reason: string) => void;
  /** The link came back after being down: presence broadcasts may have been lost, so cached routes go. */
  forgetRoutes: () => void;
}

/**
 * What other nodes send this one (architecture §4): messages for local users go through the same
 * local write path as local senders' messages; acks settle custody held here; kicks, pushes and
 * drain requests go to their owners; notices reach the sessions that announced the feature.
 */
export class BridgeHandler {
  private wasDown = false;
  private readonly quietMiss = new LogThrottle();

  constructor(private readonly d: BridgeHandlerDeps) {}

  readonly onMessage = (msg: BridgeMessage): void => {
    try {
      this.handle(msg);
    } catch (err) {
      this.d.log.error({ err }, 'bridge message handler failed');
    }
  };

  readonly onStateChange = (state: BridgeState): void => {
    this.d.log.info({ bridge: state }, 'bridge state changed');
    if (state === 'down') this.wasDown = true;
    if (state === 'up' && this.wasDown) {
      this.wasDown = false;
      this.d.forgetRoutes();
      // While our queue was gone, messages for our users fell to their offline queues.
      this.d.redeliverOffline('bridge reconnected');
      // And messages we stored for users elsewhere could not be nudged to them.
      this.d.custody.nudgeHeldBack();
    }
  };

  private handle(msg: BridgeMessage): void {
    switch (msg.type) {
      case 'deliver': {
        // No session: the origin's route was stale (the user moved or left). A QoS message is answered
        // with `miss`, so its custody looks again at once instead of waiting for the resend. A session
        // whose transport cannot carry it: the origin's custody times out and stores it offline (kept
        // for a login on a transport that carries it).
        const s = this.d.hub.user(msg.to);
        if (!s) {
          if (msg.fp !== null) this.miss(msg.origin, msg.from, msg.to, msg.fp);
          return;
        }
        const ack = msg.fp === null ? null : { fp: msg.fp, record: { origin: msg.origin, sender: msg.from, viaOffline: false } };
        this.d.local.write(s, msg.packet, ack);
        return;
      }
      case 'ack':
        this.d.metrics.acksRelayed.inc();
        this.d.custody.onReceiverAck({ sender: msg.to, receiver: msg.from, fp: msg.fp });
        return;
      case 'miss':
        this.d.metrics.routeMisses.inc();
        this.d.custody.onMiss({ sender: msg.from, receiver: msg.to, fp: msg.fp });
        return;
      case 'kick': {
        const s = this.d.hub.conn(msg.connId);
        if (s && s.userId === msg.userId) this.d.logins.kickLocal(s, msg.code, msg.reason);
        return;
      }
      case 'push':
        // A push from dispatch for a user of this node: custody starts here.
        this.d.messages.push(msg.to, msg.dataContent, { typeu: msg.typeu, qos: msg.qos, fp: msg.fp, ...(msg.from === undefined ? {} : { from: msg.from }) });
        return;
      case 'control':
        if (msg.action === 'drain') this.d.drain();
        return;
      case 'group': {
        const m = this.d.groupReceiver.prepare({ gid: msg.gid, seq: msg.seq, fp: msg.fp, wire: msg.packet, qos: msg.qos, ...(msg.sentAt === undefined ? {} : { sentAt: msg.sentAt }) });
        for (const member of msg.members) {
          const s = this.d.hub.user(member);
          if (s) this.d.groupReceiver.deliver(s, m);
        }
        return;
      }
      case 'presence':
        this.d.presence(msg.changes);
        return;
      case 'notify': {
        // Only to a session that asked for it: MobileIMSDK clients never see extension packets.
        const s = this.d.hub.user(msg.to);
        if (s?.features?.includes(msg.feature)) this.d.hub.write(s, msg.packet, ExtensionPacketType.NOTICE);
        return;
      }
    }
  }

  /** Tell `origin` that user `to` has no session here for its message `fp` (best effort: its resend covers a loss). */
  private miss(origin: NodeId, from: UserId, to: UserId, fp: string): void {
    this.d.bridge.send(origin, { type: 'miss', origin: this.d.nodeId, fp, from, to }).catch((err: unknown) => {
      if (err instanceof UnroutableError) return; // the origin is gone, and its custody with it
      const skipped = this.quietMiss.take();
      if (skipped >= 0) this.d.log.warn({ err, node: origin, skipped }, 'route miss not sent; the origin resends');
    });
  }
}
