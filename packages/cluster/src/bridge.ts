import type { ConnId, NodeId, UserId } from '@switchboard/core';

/**
 * Messages between gateways (architecture §4). Every message names its `origin` node.
 * - `deliver`: write `packet` (wire JSON of a C2C or S2C packet) from sender `from` to user `to` on
 *   the target node; `fp` is null for a message without QoS (no ack expected).
 * - `ack`: the receiver `from` acked `fp`, relayed to the node holding custody for sender `to`
 *   (names as on the wire: the ack travels from the receiver to the sender).
 * - `kick`: close user `userId`'s connection `connId` with a kickout code.
 * - `push`: a server message (from "0") for user `to`, to be taken into custody on the target node
 *   (the push API of dispatch). `fp` is chosen by the sender so it can answer with it at once.
 *   `from`: sent as that user (an admin-token push on a user's behalf) instead of "0".
 * - `control`: node-level notices (drain and the like).
 * - `group`: a group message (history seq `seq`, sender's `fp`) for the listed `members` of group
 *   `gid` whose sessions are on the target node; `packet` is the wire JSON every one of them gets.
 *   One per target node per group message; the receiving node holds per-connection custody.
 * - `notify`: write `packet` (a Switchboard extension packet, e.g. a read notice) to user `to`'s
 *   session on the target node if that session announced `feature` at login; otherwise drop it.
 *   Best effort, no ack. A node of an earlier version logs and drops it as an unknown type.
 * - `miss`: the answer to a QoS `deliver` whose receiver `to` has no session on the target node (a
 *   route that went stale: the user moved or left), sent back to the deliver's origin so its custody
 *   looks the route up again at once instead of waiting for its resend. Best effort; a node of an
 *   earlier version logs and drops it as an unknown type (its custody then resends as before).
 * - `presence`: users that went online or offline (`at`: when, ms since epoch), batched over an
 *   interval by the node that saw the change; sent with `broadcast` to every node, which tells its
 *   local watchers (docs/presence.md). Best effort.
 */
export type BridgeMessage =
  | { type: 'deliver'; origin: NodeId; from: UserId; to: UserId; fp: string | null; packet: string }
  | { type: 'push'; origin: NodeId; to: UserId; fp: string; dataContent: string; typeu: number; qos: boolean; from?: UserId }
  | { type: 'ack'; origin: NodeId; fp: string; from: UserId; to: UserId }
  | { type: 'miss'; origin: NodeId; fp: string; from: UserId; to: UserId }
  | { type: 'kick'; origin: NodeId; userId: UserId; connId: ConnId; code: number; reason: string | null }
  | { type: 'control'; origin: NodeId; action: 'drain' }
  | { type: 'notify'; origin: NodeId; to: UserId; feature: string; packet: string }
  | { type: 'group'; origin: NodeId; gid: string; seq: number; fp: string; qos: boolean; members: UserId[]; packet: string; sentAt?: number }
  | { type: 'presence'; origin: NodeId; changes: PresenceChange[] };

/** One user's presence change on the bridge: online or offline since `at` (ms since epoch). */
export interface PresenceChange {
  uid: UserId;
  online: boolean;
  at: number;
}

export type BridgeMessageType = BridgeMessage['type'];

/** Connection state of a bridge, for readiness. */
export type BridgeState = 'connecting' | 'up' | 'down' | 'closed';

/**
 * Node-addressed messaging between gateways. At-most-once per `send`: the sender keeps custody
 * and retries at the application level (QoS), so the bridge never needs to persist.
 */
export interface Bridge {
  readonly nodeId: NodeId;
  readonly state: BridgeState;
  /** Start consuming this node's queue; `handler` gets every message addressed to this node. */
  start(handler: (msg: BridgeMessage) => void): Promise<void>;
  /**
   * Send one message to one node. Resolves when the broker has taken it (publisher confirm).
   * Rejects with UnroutableError when no queue takes it (the node is gone), UnavailableError
   * when the broker cannot be reached.
   */
  send(target: NodeId, msg: BridgeMessage): Promise<void>;
  /**
   * Send one message to every node, this one included (the fanout exchange `<prefix>.bridge.all`).
   * Resolves when the broker has taken it; UnavailableError when it cannot. At most once per node;
   * meant for rare, batched notices (presence), never for per-message traffic.
   */
  broadcast(msg: BridgeMessage): Promise<void>;
  /** Called on every state change (for readiness and logs). */
  onStateChange(fn: (state: BridgeState) => void): void;
  /** Stop consuming and delete this node's queue. */
  close(): Promise<void>;
}
