/** The load shapes `load/args.ts` parses and `load/load.ts` drives (here so neither imports the other). */

/** Closed loop (`--inflight`) or open loop (`--rate`). */
export type LoadMode = { kind: 'closed'; inflight: number } | { kind: 'open'; ratePerSec: number };

/** How a sender's receiver is chosen: any other user, one on the sender's node, or one on another node. */
export type Pairing = 'random' | 'same-node' | 'cross-node';
