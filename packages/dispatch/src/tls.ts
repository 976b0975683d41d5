import { type IncomingMessage, type RequestListener, type Server as HttpServer, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { TlsCredentials } from '@switchboard/core';

/** A client that has not finished its TLS handshake this long after connecting is cut off. */
const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * Fastify's `serverFactory` for HTTPS (`IM_TLS_CERT` / `IM_TLS_KEY`): an `https.Server` on the
 * credentials' current pair, switched to each new pair as it loads (new connections get it; open
 * ones keep theirs). Typed as the plain HTTP server Fastify is built with: it serves the same
 * requests, and the routes do not depend on the difference.
 */
export function httpsServerFactory(creds: TlsCredentials, http: ServerOptions = {}): (handler: RequestListener<typeof IncomingMessage, typeof ServerResponse>) => HttpServer {
  return (handler) => {
    const server = createServer({ ...http, ...creds.current, handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS }, handler);
    const stop = creds.onChange((pair) => server.setSecureContext(pair));
    server.once('close', stop);
    return server as unknown as HttpServer;
  };
}

