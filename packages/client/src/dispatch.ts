import { parseSenseMode, type SenseMode } from '@switchboard/protocol';
import type { ReconnectPolicy } from './defaults.js';
import { ClientError, ClientErrorCode } from './errors.js';

/** The answer of `GET /api/dispatch?uid=` (architecture §7). */
export interface DispatchInfo {
  /** Node id of the gateway picked for this user. */
  node: string;
  /** WebSocket URL of that gateway. */
  ws: string;
  /** TCP address of that gateway. */
  tcp: { host: string; port: number } | null;
  /** Heartbeat mode the gateways run; null when dispatch named none or an unknown one. */
  senseMode: SenseMode | null;
  /** Backoff to use between reconnect attempts; null when absent or malformed. */
  reconnect: ReconnectPolicy | null;
}

export type FetchLike = (url: string, init?: { method?: string; body?: string; signal?: AbortSignal; headers?: Record<string, string> }) => Promise<{
  ok: boolean;
  status: number;
  json(): Promise<unknown>;
  text(): Promise<string>;
}>;

/**
 * Ask dispatch which gateway `uid` should use. `baseUrl` is the dispatch origin
 * (`http://127.0.0.1:8080`). Rejects with a retryable `ClientError` (`DISPATCH_FAILED`, or
 * `TIMEOUT` after `timeoutMs`) when dispatch is unreachable, answers non-200 (503: no live
 * gateway) or answers something that is not a dispatch answer.
 */
export async function fetchDispatch(baseUrl: string, uid: string, opts: { fetch?: FetchLike; timeoutMs: number }): Promise<DispatchInfo> {
  const f = opts.fetch ?? (globalThis.fetch as unknown as FetchLike | undefined);
  if (!f) throw new ClientError(ClientErrorCode.INVALID_ARGUMENT, 'no fetch() available; pass options.fetch');
  const url = `${baseUrl.replace(/\/+$/, '')}/api/dispatch?uid=${encodeURIComponent(uid)}`;
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), opts.timeoutMs);
  let status = 0;
  let body: unknown;
  try {
    const res = await f(url, { signal: ctl.signal, headers: { accept: 'application/json' } });
    status = res.status;
    // A body that is not JSON is left null: the status, or parseDispatchInfo below, says what is wrong.
    body = await res.json().catch(() => null);
    if (!res.ok) {
      const reason = isRecord(body) && typeof body['reason'] === 'string' ? body['reason'] : `HTTP ${status}`;
      throw new ClientError(ClientErrorCode.DISPATCH_FAILED, `dispatch answered ${status}: ${reason}`, { retryable: true });
    }
  } catch (err) {
    if (err instanceof ClientError) throw err;
    if (ctl.signal.aborted) {
      throw new ClientError(ClientErrorCode.TIMEOUT, `dispatch did not answer within ${opts.timeoutMs} ms`, { cause: err, retryable: true });
    }
    throw new ClientError(ClientErrorCode.DISPATCH_FAILED, `dispatch unreachable at ${url}`, { cause: err, retryable: true });
  } finally {
    clearTimeout(timer);
  }
  return parseDispatchInfo(body);
}

/** Validate a dispatch answer. Throws a retryable `ClientError` when `node` or `ws` is missing. */
export function parseDispatchInfo(body: unknown): DispatchInfo {
  if (!isRecord(body) || typeof body['node'] !== 'string' || typeof body['ws'] !== 'string') {
    throw new ClientError(ClientErrorCode.DISPATCH_FAILED, 'dispatch answer lacks "node" or "ws"', { retryable: true });
  }
  const tcp = body['tcp'];
  const sense = body['senseMode'];
  return {
    node: body['node'],
    ws: body['ws'],
    tcp: isRecord(tcp) && typeof tcp['host'] === 'string' && typeof tcp['port'] === 'number' && tcp['port'] > 0 ? { host: tcp['host'], port: tcp['port'] } : null,
    senseMode: typeof sense === 'string' ? parseSenseMode(sense) : null,
    reconnect: parseReconnect(body['reconnect']),
  };
}

function parseReconnect(v: unknown): ReconnectPolicy | null {
  if (!isRecord(v)) return null;
  const { initialDelayMs, maxDelayMs, multiplier, jitter } = v;
  if (
    typeof initialDelayMs !== 'number' || !(initialDelayMs >= 0) ||
    typeof maxDelayMs !== 'number' || !(maxDelayMs >= initialDelayMs) ||
    typeof multiplier !== 'number' || !(multiplier >= 1) ||
    typeof jitter !== 'number' || !(jitter >= 0 && jitter <= 1)
  ) {
    return null;
  }
  return { initialDelayMs, maxDelayMs, multiplier, jitter };
}

/** A JSON object (not null, not an array). */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Delay before reconnect attempt `attempt` (0 = first after a link loss): `initialDelayMs ×
 * multiplier^attempt`, capped at `maxDelayMs`, minus up to `jitter` of it at random so that the
 * clients of a dead node do not come back in one wave.
 */
export function reconnectDelayMs(attempt: number, policy: ReconnectPolicy, random: () => number = Math.random): number {
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** Math.min(Math.max(attempt, 0), 64));
  const jitter = Math.min(1, Math.max(0, policy.jitter));
  return Math.max(0, Math.round(base * (1 - jitter * random())));
}
