// The dispatch admin API as the dashboard uses it (docs/operations.md, "Health, endpoints and
// metrics"). Plain fetch on the page's own origin, with `Authorization: Bearer <token>` when a token
// is set: an empty token sends no header, for installs without IM_ADMIN_TOKEN that answer loopback
// clients only.

/** A live gateway as `GET /admin/nodes` lists it. */
export interface AdminNode {
  id: string;
  host: string;
  ports: { ws: number; tcp: number; udp: number; admin: number };
  state: 'active' | 'draining';
  connections: number;
  /** Event-loop lag p99, ms. */
  loopLagMs: number;
  /** Cores busy over the last report interval (1 = one full core). */
  cpu: number;
  /** Messages handled per second. */
  msgRate: number;
  /** ms since the epoch. */
  startedAt: number;
  /** ms since the epoch. */
  reportedAt: number;
}

/** One sample of cluster totals. */
export interface StatsSample {
  /** ms since the epoch. */
  t: number;
  gateways: number;
  connections: number;
  msgRate: number;
}

/** `GET /admin/stats`: totals now, and samples every 2 s over the last 10 minutes, oldest first. */
export interface AdminStats extends StatsSample {
  draining: number;
  history: StatsSample[];
}

/** Where a user is connected. */
export interface AdminRoute {
  userId: string;
  nodeId: string;
  connId: string;
  firstLoginTime: number;
  since: number;
}

/** `GET /admin/users/:uid`. */
export interface AdminUser {
  userId: string;
  online: boolean;
  route: AdminRoute | null;
  offlineQueue: number;
}

/** What went wrong with an admin request; `kind` says what the page does about it. */
export type AdminErrorKind =
  /** 401 or 403: the token is wrong, or this client may not use the admin API at all. */
  | 'auth'
  /** The server answered with another error status (404, 409, 5xx…). */
  | 'http'
  /** No answer: dispatch is down or unreachable. */
  | 'network';

export class AdminApiError extends Error {
  constructor(
    readonly kind: AdminErrorKind,
    /** HTTP status; 0 for network errors. */
    readonly status: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AdminApiError';
  }
}

/** The admin endpoints of one dispatch, reached with one token. */
export class AdminApi {
  constructor(
    /** Base URL of dispatch, without a trailing slash (`location.origin` on the served page). */
    readonly baseUrl: string,
    /** Admin token; '' sends no Authorization header. */
    readonly token: string,
  ) {}

  nodes(): Promise<AdminNode[]> {
    return this.request<{ nodes: AdminNode[] }>('GET', '/admin/nodes').then((r) => r.nodes);
  }

  stats(): Promise<AdminStats> {
    return this.request<AdminStats>('GET', '/admin/stats');
  }

  user(uid: string): Promise<AdminUser> {
    return this.request<AdminUser>('GET', `/admin/users/${encodeURIComponent(uid)}`);
  }

  /** Kick a user (kickout code 2); 404 when the user is not online. */
  kick(uid: string, reason: string): Promise<{ kicked: boolean; nodeId: string }> {
    return this.request('POST', `/admin/users/${encodeURIComponent(uid)}/kick`, reason ? { reason } : {});
  }

  /** Ask a gateway to drain (202); 404 when it is not live. */
  drain(nodeId: string): Promise<{ draining: boolean; nodeId: string }> {
    return this.request('POST', `/admin/nodes/${encodeURIComponent(nodeId)}/drain`);
  }

  private async request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token) headers['authorization'] = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        cache: 'no-store',
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (err) {
      throw new AdminApiError('network', 0, `Cannot reach dispatch at ${this.baseUrl}`, { cause: err });
    }
    const text = await res.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      // Not JSON (a proxy's error page): the status says enough.
    }
    if (res.ok) return json as T;
    const message = (json as { message?: unknown } | null)?.message;
    const detail = typeof message === 'string' && message ? message : res.statusText || 'request failed';
    const kind: AdminErrorKind = res.status === 401 || res.status === 403 ? 'auth' : 'http';
    throw new AdminApiError(kind, res.status, `${method} ${path}: ${res.status} ${detail}`);
  }
}
