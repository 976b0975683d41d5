import { exec } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ConfigError } from '@switchboard/core';
import type { BenchOptions } from './args.js';
import { drainNode } from '../shared/dispatch-client.js';
import type { Sut } from '../shared/sut.js';
import type { Window } from './stats.js';

/** One chaos action as it happened. */
export interface ChaosEvent {
  action: 'kill-node' | 'drain-node' | 'restart-rabbitmq';
  /** Seconds from the start of the load. */
  atS: number;
  nodeId?: string;
  pid?: number;
  /** Users on that node when it happened. */
  users?: number;
  ok: boolean;
  detail: string;
  /** How long the action took (the RabbitMQ restart command), ms. */
  tookMs?: number;
}

/** Read `--cluster-pids FILE`: `{ "<nodeId>": pid }`. */
export function readClusterPids(file: string): Map<string, number> {
  let o: unknown;
  try {
    o = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError([`--cluster-pids: cannot read ${file} as JSON (${err instanceof Error ? err.message : String(err)})`]);
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new ConfigError(['--cluster-pids: the file must hold an object {"<nodeId>": pid}']);
  const m = new Map<string, number>();
  for (const [k, v] of Object.entries(o)) {
    if (!Number.isInteger(v) || (v as number) <= 0) throw new ConfigError([`--cluster-pids: pid of ${k} must be a positive integer`]);
    m.set(k, v as number);
  }
  return m;
}

/** The node with the most online users, and how many. */
export function busiestNode(nodes: Iterable<string>): { nodeId: string; users: number } | null {
  const counts = new Map<string, number>();
  for (const n of nodes) if (n) counts.set(n, (counts.get(n) ?? 0) + 1);
  let best: { nodeId: string; users: number } | null = null;
  for (const [nodeId, users] of counts) if (!best || users > best.users) best = { nodeId, users };
  return best;
}

/**
 * Schedule the chaos flags relative to the start of the load. `onlineNodes` returns the node of
 * every online user at the time of the action. Returns a function that cancels what has not run.
 */
export function scheduleChaos(
  opts: BenchOptions,
  env: {
    window: Window;
    dispatchUrl: string | null;
    sut: Sut | null;
    pids: Map<string, number> | null;
    onlineNodes: () => Iterable<string>;
    events: ChaosEvent[];
    log: (line: string) => void;
  },
): () => void {
  const timers: NodeJS.Timeout[] = [];
  const at = (s: number | null, fn: () => Promise<void>) => {
    if (s === null) return;
    const wait = Math.max(0, env.window.start + s * 1000 - performance.now());
    timers.push(setTimeout(() => void fn().catch((err: unknown) => env.log(`chaos failed: ${String(err)}`)), wait));
  };
  const atS = () => Math.round((performance.now() - env.window.start) / 100) / 10;
  const record = (e: ChaosEvent) => {
    env.events.push(e);
    env.log(`chaos t=${e.atS}s ${e.action}${e.nodeId ? ` ${e.nodeId}` : ''}${e.users !== undefined ? ` (${e.users} users)` : ''}: ${e.detail}`);
  };

  at(opts.chaos.killNodeAtS, async () => {
    const target = busiestNode(env.onlineNodes());
    if (!target) return record({ action: 'kill-node', atS: atS(), ok: false, detail: 'no online user, no node to kill' });
    const pid = env.sut?.byNode(target.nodeId)?.pid ?? env.pids?.get(target.nodeId);
    if (pid === undefined) return record({ action: 'kill-node', atS: atS(), nodeId: target.nodeId, ok: false, detail: 'pid of this node unknown' });
    try {
      process.kill(pid, 'SIGKILL');
      record({ action: 'kill-node', atS: atS(), nodeId: target.nodeId, pid, users: target.users, ok: true, detail: `SIGKILL pid ${pid}` });
    } catch (err) {
      record({ action: 'kill-node', atS: atS(), nodeId: target.nodeId, pid, ok: false, detail: String(err) });
    }
  });

  at(opts.chaos.drainNodeAtS, async () => {
    const target = busiestNode(env.onlineNodes());
    if (!target || !env.dispatchUrl) return record({ action: 'drain-node', atS: atS(), ok: false, detail: 'no node to drain' });
    try {
      await drainNode(env.dispatchUrl, target.nodeId);
      record({ action: 'drain-node', atS: atS(), nodeId: target.nodeId, users: target.users, ok: true, detail: 'POST /admin/nodes/:id/drain accepted' });
    } catch (err) {
      record({ action: 'drain-node', atS: atS(), nodeId: target.nodeId, ok: false, detail: String(err) });
    }
  });

  at(opts.chaos.restartRabbitmqAtS, async () => {
    const t0 = performance.now();
    const startedAt = atS();
    const r = await new Promise<{ ok: boolean; detail: string }>((resolve) =>
      exec(opts.chaos.rabbitmqRestartCmd, { timeout: 120_000 }, (err, _stdout, stderr) =>
        resolve(err ? { ok: false, detail: `${err.message.trim()} ${stderr.trim()}`.slice(0, 300) } : { ok: true, detail: opts.chaos.rabbitmqRestartCmd }),
      ),
    );
    record({ action: 'restart-rabbitmq', atS: startedAt, ok: r.ok, detail: r.detail, tookMs: Math.round(performance.now() - t0) });
  });

  return () => {
    for (const t of timers) clearTimeout(t);
  };
}
