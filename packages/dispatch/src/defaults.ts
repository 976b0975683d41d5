/** Defaults of dispatch, in one place, units in the names. */

/** Reconnect policy handed to clients with every dispatch answer. */
export const DEFAULT_RECONNECT = { initialDelayMs: 500, maxDelayMs: 15_000, multiplier: 2, jitter: 0.5 } as const;
/** How long dispatch reuses one read of the node registry. */
export const NODE_LIST_CACHE_MS = 250;
/** Port the dispatch HTTP API listens on (`IM_DISPATCH_PORT`; `switchboard chat` asks there by default). */
export const DEFAULT_DISPATCH_PORT = 8080;
/** Messages `GET /api/history` answers without `limit`, and conversations `GET /api/conversations` lists. */
export const DEFAULT_HISTORY_PAGE = 50;
/** Largest `limit` of `GET /api/history` and `GET /api/conversations` (above it: 400). */
export const MAX_HISTORY_PAGE = 200;

/**
 * The whole request (headers and body) must arrive within this, as on a gateway's listeners: a client
 * sending a body byte now and then would otherwise hold its connection (and a file descriptor) forever.
 * Node checks every DISPATCH_TIMEOUT_CHECK_MS, so such a client is cut off (408) within their sum.
 */
export const DISPATCH_REQUEST_TIMEOUT_MS = 10_000;
export const DISPATCH_TIMEOUT_CHECK_MS = 2_000;
/** Idle keep-alive connections close after this (Fastify's default: longer than the usual load balancer's 60 s idle timeout). */
export const DISPATCH_KEEP_ALIVE_MS = 72_000;
