/** How `switchboard bench idle` reads the gateways' RSS, CPU and `/metrics`. */
import { delay, UnavailableError } from '@switchboard/core';
import { dispatchUser, type DispatchAnswer } from '../shared/dispatch-client.js';
import { readCpuSeconds, readRssBytes } from '../shared/proc.js';
import type { Sut } from '../shared/sut.js';
import * as D from '../shared/defaults.js';
import type { IdleGateway } from './idle-ipc.js';
import type { GatewayMetricsSample } from './idle-report.js';

/** How the bench reads one gateway's RSS and CPU. */
export interface Probe {
  gw: IdleGateway;
  pid: number | null;
  /** Admin base URL (`/metrics`); for spawned gateways only used for heap and connection figures. */
  admin: string | null;
  source: 'proc' | 'metrics' | 'unknown';
}

export interface ProbeSample {
  rssBytes: number | null;
  cpuSeconds: number | null;
  metrics: GatewayMetricsSample | null;
}

/**
 * Prometheus text exposition → value per metric name, summed over label sets (e.g.
 * `switchboard_connections{transport=...}`). Comments, histograms' suffixes and NaN lines are kept
 * as they come; only `name{labels} value` lines are read.
 */
export function parsePromText(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.charCodeAt(0) === 35 /* # */) continue;
    const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const v = Number(m[2]);
    if (Number.isFinite(v)) out.set(m[1]!, (out.get(m[1]!) ?? 0) + v);
  }
  return out;
}

/** GET `<admin>/metrics`; null when it cannot be read. */
async function fetchMetrics(admin: string): Promise<(GatewayMetricsSample & { cpuSeconds: number | null }) | null> {
  try {
    const res = await fetch(`${admin}/metrics`, { signal: AbortSignal.timeout(D.DEFAULT_HTTP_TIMEOUT_MS) });
    if (!res.ok) return null;
    const text = await res.text();
    const m = parsePromText(text);
    const get = (k: string) => m.get(k) ?? null;
    // A labelled gauge nobody set has no sample line: declared but absent means 0 connections.
    const declared = text.includes('# TYPE switchboard_connections ');
    return {
      rssBytes: get('process_resident_memory_bytes'),
      heapUsedBytes: get('nodejs_heap_size_used_bytes'),
      heapTotalBytes: get('nodejs_heap_size_total_bytes'),
      externalBytes: get('nodejs_external_memory_bytes'),
      connections: get('switchboard_connections') ?? (declared ? 0 : null),
      cpuSeconds: get('process_cpu_seconds_total'),
    };
  } catch {
    return null; // unreachable, slow or gone: this reading stays unknown in the report (the run goes on)
  }
}

/** RSS and CPU of one gateway now; `withMetrics` also reads `/metrics` where there is an admin URL. */
export async function sample(p: Probe, withMetrics: boolean): Promise<ProbeSample> {
  if (p.source === 'proc') {
    const rssBytes = readRssBytes(p.pid!);
    const cpuSeconds = readCpuSeconds(p.pid!);
    const metrics = withMetrics && p.admin ? await fetchMetrics(p.admin) : null;
    return { rssBytes, cpuSeconds, metrics: metrics ? stripCpu(metrics) : null };
  }
  if (p.source === 'metrics') {
    const m = await fetchMetrics(p.admin!);
    return { rssBytes: m?.rssBytes ?? null, cpuSeconds: m?.cpuSeconds ?? null, metrics: m ? stripCpu(m) : null };
  }
  return { rssBytes: null, cpuSeconds: null, metrics: null };
}

function stripCpu(m: GatewayMetricsSample & { cpuSeconds: number | null }): GatewayMetricsSample {
  const { cpuSeconds: _cpu, ...rest } = m;
  return rest;
}

/** The gateways of a spawned system, with the WebSocket path and host dispatch hands out. */
export async function spawnedProbes(sut: Sut, uidPrefix: string): Promise<Probe[]> {
  let a: DispatchAnswer | null = null;
  const deadline = performance.now() + 15_000;
  for (let attempt = 0; a === null; attempt++) {
    try {
      a = await dispatchUser(sut.dispatchUrl, `${uidPrefix}probe`);
    } catch (err) {
      // Dispatch may not route yet just after the start: retry until the deadline, then fail with this error as the cause.
      if (performance.now() > deadline) throw new UnavailableError('dispatch of the spawned system never answered', { cause: err });
      // An unref'd wait is enough here: the spawned processes' pipes hold the process open.
      await delay(Math.min(1_000, 100 * 2 ** attempt));
    }
  }
  const answer = a;
  return sut.gateways().map((p) => {
    const ports = p.ready!.ports;
    const ws = new URL(answer.ws);
    ws.port = String(ports['ws']);
    return {
      gw: { node: p.ready?.nodeId ?? p.name, ws: ws.href, tcp: { host: answer.tcp.host, port: ports['tcp']! } },
      pid: p.pid ?? null,
      admin: ports['admin'] ? `http://${answer.tcp.host}:${ports['admin']}` : null,
      source: 'proc' as const,
    };
  });
}
