// Pure formatting for the dashboard's table and totals (no DOM), unit-tested in
// packages/web/test/unit/admin-format.test.ts.
import type { AdminNode } from './api.js';

/**
 * Dispatch's load score of a gateway (lower gets the next clients): connections, plus event-loop
 * lag and cpu counted as extra connections, capped at a fifth of the connections (at least 20). The same formula as `loadScore` in
 * @switchboard/cluster (node-registry.ts), repeated here so the page does not bundle the server
 * package; test/web/admin-dashboard.test.ts checks that the two agree.
 */
export function loadScore(n: Pick<AdminNode, 'connections' | 'loopLagMs' | 'cpu'>): number {
  const busy = n.loopLagMs * 2 + n.cpu * 20;
  return n.connections + Math.min(busy, Math.max(20, n.connections * 0.2));
}

/** `12`, `3.5`, `1.2k`, `3.4M`: short counts and rates. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a >= 1e6) return `${trim(v / 1e6)}M`;
  if (a >= 1e4) return `${trim(v / 1e3)}k`;
  if (Number.isInteger(v)) return String(v);
  return a >= 100 ? String(Math.round(v)) : trim(v);
}

/** One decimal, without a trailing `.0`. */
function trim(v: number): string {
  const s = (Math.round(v * 10) / 10).toFixed(1);
  return s.endsWith('.0') ? s.slice(0, -2) : s;
}

/** Event-loop lag: `0.4 ms`, `12 ms`, `1.2 s`. */
export function formatLag(ms: number): string {
  if (ms >= 1000) return `${trim(ms / 1000)} s`;
  return ms >= 10 ? `${Math.round(ms)} ms` : `${(Math.round(ms * 10) / 10).toFixed(1)} ms`;
}

/** CPU as a percentage of one core (`cpu` is cores busy: 1.5 → `150 %`). */
export function formatCpu(cores: number): string {
  return `${Math.round(cores * 100)} %`;
}

/** Time since `sinceMs` at `nowMs`, two units at most: `45s`, `3m 12s`, `2h 05m`, `4d 3h`. */
export function formatAge(sinceMs: number, nowMs: number): string {
  const s = Math.max(0, Math.floor((nowMs - sinceMs) / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** `host` with its ports: `10.0.0.5 · ws 3000 · tcp 8901 · admin 9100` (a port 0 is not listening). */
export function formatAddress(n: Pick<AdminNode, 'host' | 'ports'>): string {
  const parts = [n.host];
  for (const k of ['ws', 'tcp', 'udp', 'admin'] as const) if (n.ports[k]) parts.push(`${k} ${n.ports[k]}`);
  return parts.join(' · ');
}

/** Wall-clock time of day, `14:03:07`. */
export function formatClock(ms: number): string {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((x) => String(x).padStart(2, '0')).join(':');
}
