import type { NodeId } from '@switchboard/core';
import type { NodeRecord, NodeRegistry } from '../node-registry.js';

/** In-process NodeRegistry, shareable by several gateways in one process. */
export class MemoryNodeRegistry implements NodeRegistry {
  private nodes = new Map<NodeId, { record: NodeRecord; expiresAt: number }>();
  private drains = new Set<NodeId>();
  private readonly now: () => number;

  constructor(opts: { now?: () => number } = {}) {
    this.now = opts.now ?? Date.now;
  }

  async report(record: Omit<NodeRecord, 'reportedAt'>, ttlMs: number): Promise<void> {
    const now = this.now();
    this.nodes.set(record.id, { record: { ...record, ports: { ...record.ports }, reportedAt: now }, expiresAt: now + ttlMs });
  }

  async list(): Promise<NodeRecord[]> {
    const now = this.now();
    const out: NodeRecord[] = [];
    for (const { record, expiresAt } of this.nodes.values()) if (expiresAt > now) out.push({ ...record, ports: { ...record.ports } });
    return out;
  }

  async get(id: NodeId): Promise<NodeRecord | null> {
    const e = this.nodes.get(id);
    return e && e.expiresAt > this.now() ? { ...e.record, ports: { ...e.record.ports } } : null;
  }

  async remove(id: NodeId): Promise<void> {
    this.nodes.delete(id);
    this.drains.delete(id);
  }

  async listExpired(): Promise<NodeId[]> {
    const now = this.now();
    return [...this.nodes].filter(([, e]) => e.expiresAt <= now).map(([id]) => id);
  }

  async forget(id: NodeId): Promise<void> {
    const e = this.nodes.get(id);
    if (e && e.expiresAt <= this.now()) this.nodes.delete(id);
    this.drains.delete(id);
  }

  async requestDrain(id: NodeId): Promise<void> {
    this.drains.add(id);
  }

  async drainRequested(id: NodeId): Promise<boolean> {
    return this.drains.has(id);
  }

  async close(): Promise<void> {}
}
