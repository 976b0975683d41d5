import { TimeoutError, UnavailableError } from '@switchboard/core';
import { DEFAULT_HTTP_TIMEOUT_MS } from './defaults.js';

/** Reconnect policy handed out by dispatch (architecture §7). */
export interface ReconnectPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
  multiplier: number;
  jitter: number;
}

/** What `GET /api/dispatch?uid=` answers. */
export interface DispatchAnswer {
  node: string;
  ws: string;
  tcp: { host: string; port: number };
  reconnect: ReconnectPolicy | null;
}

/** One gateway as `GET /admin/nodes` lists it (the fields the bench uses). */
export interface AdminNode {
  id: string;
  state: string;
  connections: number;
  loopLagMs?: number;
  cpu?: number;
  host: string;
  ports: { ws: number; tcp: number; admin?: number };
}

async function request(url: string, init: RequestInit = {}, timeoutMs = DEFAULT_HTTP_TIMEOUT_MS): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
      throw new TimeoutError(`${init.method ?? 'GET'} ${url} timed out after ${timeoutMs} ms`, { cause: err });
    }
    throw new UnavailableError(`${init.method ?? 'GET'} ${url} failed`, { cause: err });
  }
}

/** Ask dispatch where `uid` should connect. Throws UnavailableError on 503 / network errors. */
export async function dispatchUser(baseUrl: string, uid: string): Promise<DispatchAnswer> {
  const res = await request(`${baseUrl}/api/dispatch?uid=${encodeURIComponent(uid)}`);
  // A body that is not JSON counts as none: the error below then names the HTTP status instead.
  const body = (await res.json().catch(() => null)) as Record<string, unknown> | null;
  if (!res.ok || !body) {
    const reason = body && typeof body['reason'] === 'string' ? body['reason'] : `HTTP ${res.status}`;
    throw new UnavailableError(`dispatch answered ${res.status}: ${reason}`);
  }
  const tcp = body['tcp'] as { host?: unknown; port?: unknown } | undefined;
  if (typeof body['node'] !== 'string' || typeof body['ws'] !== 'string' || !tcp || typeof tcp.host !== 'string' || typeof tcp.port !== 'number') {
    throw new UnavailableError('dispatch answered without node, ws and tcp');
  }
  const r = body['reconnect'] as Partial<ReconnectPolicy> | undefined;
  const reconnect =
    r && typeof r.initialDelayMs === 'number' && typeof r.maxDelayMs === 'number' && typeof r.multiplier === 'number'
      ? { initialDelayMs: r.initialDelayMs, maxDelayMs: r.maxDelayMs, multiplier: r.multiplier, jitter: typeof r.jitter === 'number' ? r.jitter : 0.5 }
      : null;
  return { node: body['node'], ws: body['ws'], tcp: { host: tcp.host, port: tcp.port }, reconnect };
}

/** The admin API's `Authorization` header for `token` (none without one: loopback without IM_ADMIN_TOKEN). */
function adminHeaders(token: string | null): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** `GET /admin/nodes` on dispatch. */
export async function listNodes(baseUrl: string, token: string | null = null): Promise<AdminNode[]> {
  const res = await request(`${baseUrl}/admin/nodes`, { headers: adminHeaders(token) });
  if (!res.ok) throw new UnavailableError(`GET /admin/nodes answered ${res.status}`);
  const body = (await res.json()) as { nodes?: AdminNode[] };
  return body.nodes ?? [];
}

/** `POST /admin/nodes/:id/drain` on dispatch. */
export async function drainNode(baseUrl: string, nodeId: string): Promise<void> {
  const res = await request(`${baseUrl}/admin/nodes/${encodeURIComponent(nodeId)}/drain`, { method: 'POST' });
  if (!res.ok) throw new UnavailableError(`POST /admin/nodes/${nodeId}/drain answered ${res.status}`);
}

/**
 * `PUT /admin/groups/:gid` on dispatch: create the group (or replace its name and members). Throws
 * UnavailableError naming the answer when it is not 200 (401 without the right token, 409 over the
 * member cap, 503 without a group store).
 */
export async function putGroup(baseUrl: string, gid: string, group: { name: string; members: string[] }, token: string | null = null): Promise<void> {
  const res = await request(`${baseUrl}/admin/groups/${encodeURIComponent(gid)}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', ...adminHeaders(token) },
    body: JSON.stringify(group),
  });
  if (!res.ok) {
    // The answer's body names the reason (e.g. too_many_members); an unreadable one leaves the status alone.
    const text = await res.text().catch(() => '');
    throw new UnavailableError(`PUT /admin/groups/${gid} answered ${res.status}${text ? `: ${text.slice(0, 300)}` : ''}`);
  }
}
