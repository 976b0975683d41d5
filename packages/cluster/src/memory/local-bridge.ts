import { UnavailableError, UnroutableError, type NodeId } from '@switchboard/core';
import type { Bridge, BridgeMessage, BridgeState } from '../bridge.js';

/**
 * An in-process bus that several LocalBridges share: the standalone default, and the way to run
 * several gateways in one test process. Delivery is asynchronous (next microtask) like a broker's.
 */
export class LocalBus {
  private handlers = new Map<NodeId, (msg: BridgeMessage) => void>();

  attach(nodeId: NodeId, handler: (msg: BridgeMessage) => void): void {
    this.handlers.set(nodeId, handler);
  }

  detach(nodeId: NodeId): void {
    this.handlers.delete(nodeId);
  }

  has(nodeId: NodeId): boolean {
    return this.handlers.has(nodeId);
  }

  /** Hand `msg` to every attached node (a fanout exchange). */
  deliverAll(msg: BridgeMessage): void {
    for (const h of this.handlers.values()) {
      const copy = structuredClone(msg);
      queueMicrotask(() => h(copy));
    }
  }

  deliver(target: NodeId, msg: BridgeMessage): boolean {
    const h = this.handlers.get(target);
    if (!h) return false;
    const copy = structuredClone(msg);
    queueMicrotask(() => h(copy));
    return true;
  }
}

/** Bridge over a LocalBus. Exposes fault injection for tests. */
export class LocalBridge implements Bridge {
  readonly nodeId: NodeId;
  private _state: BridgeState = 'connecting';
  private listeners: Array<(s: BridgeState) => void> = [];
  private failures = 0;

  constructor(
    private readonly bus: LocalBus,
    nodeId: NodeId,
  ) {
    this.nodeId = nodeId;
  }

  get state(): BridgeState {
    return this._state;
  }

  async start(handler: (msg: BridgeMessage) => void): Promise<void> {
    this.bus.attach(this.nodeId, handler);
    this.setState('up');
  }

  async send(target: NodeId, msg: BridgeMessage): Promise<void> {
    if (this.failures > 0) {
      this.failures--;
      throw new UnavailableError('injected bridge failure');
    }
    if (this._state === 'closed') throw new UnavailableError('bridge is closed');
    if (!this.bus.deliver(target, msg)) throw new UnroutableError(`no queue for node ${target}`);
  }

  async broadcast(msg: BridgeMessage): Promise<void> {
    if (this.failures > 0) {
      this.failures--;
      throw new UnavailableError('injected bridge failure');
    }
    if (this._state === 'closed') throw new UnavailableError('bridge is closed');
    this.bus.deliverAll(msg);
  }

  onStateChange(fn: (state: BridgeState) => void): void {
    this.listeners.push(fn);
  }

  /** Make the next `n` sends fail with UnavailableError (tests). */
  failNextSends(n = 1): void {
    this.failures += n;
  }

  async close(): Promise<void> {
    this.bus.detach(this.nodeId);
    this.setState('closed');
  }

  private setState(s: BridgeState): void {
    if (this._state === s) return;
    this._state = s;
    for (const fn of this.listeners) fn(s);
  }
}
