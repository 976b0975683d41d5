import type { NodeRecord, NodeRegistry } from '@switchboard/cluster';
import { NODE_LIST_CACHE_MS } from './defaults.js';

/** `nodes.list()`, one read reused for NODE_LIST_CACHE_MS; a failed read is not reused. */
export function cachedNodeList(nodes: NodeRegistry): () => Promise<NodeRecord[]> {
  let cache: { at: number; nodes: Promise<NodeRecord[]> } | null = null;
  return () => {
    const now = Date.now();
    if (!cache || now - cache.at > NODE_LIST_CACHE_MS) {
      const list = nodes.list();
      cache = { at: now, nodes: list };
      list.catch(() => {
        // Forget the failed read so the next call asks again; its callers get the rejection.
        cache = null;
      });
    }
    return cache.nodes;
  };
}
