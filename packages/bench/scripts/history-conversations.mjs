#!/usr/bin/env node
// What the standalone's in-memory history takes for many conversations, against what it counts for
// IM_HISTORY_MEMORY_BYTES: N appends, each opening a conversation (user u<i % USERS> to a new peer p<i>,
// one 100-character message; READ=1 adds a read marker to each), a bound of MAX bytes, then two full GCs.
// Needs the build (`pnpm -s build`) and --expose-gc:
//
//   MAX=50000000 N=1000000 node --expose-gc packages/bench/scripts/history-conversations.mjs
import { MemoryHistoryStore, peerConversation } from '../../cluster/dist/index.js';

const N = Number(process.env.N ?? 200_000);
const USERS = Number(process.env.USERS ?? 1000);
const MAX = Number(process.env.MAX ?? 8e9);
const READ = process.env.READ === '1';
if (typeof gc !== 'function') throw new Error('run with node --expose-gc');

const store = new MemoryHistoryStore({ maxBytes: MAX });
gc();
gc();
const h0 = process.memoryUsage().heapUsed;
const body = 'x'.repeat(100);
for (let i = 0; i < N; i++) {
  const a = `u${i % USERS}`;
  const b = `p${i}`;
  const conv = peerConversation(a, b);
  await store.append(conv, { fp: `fp-${i}`, from: a, to: b, dataContent: body, typeu: 0, sentAt: Date.now() }, { indexFor: [a, b] });
  if (READ) await store.markRead(b, conv, 1);
}
gc();
gc();
const heap = process.memoryUsage().heapUsed - h0;
const m = store.memory;
const mb = (n) => Math.round(n / 1e5) / 10;
console.log(
  JSON.stringify({ N, USERS, READ, heapMB: mb(heap), buffersMB: mb(m.arena.chunkBytes), countedMB: mb(m.bytes), conversations: m.conversations, forgotten: m.forgotten }),
);
