/**
 * What src/transport/ws-internals.ts relies on in ws (pinned 8.23.0), checked on real sockets.
 * When a ws upgrade fails here, the gateway lost its write batching or its refusal of fragmented
 * frames: fix ws-internals.ts before taking the upgrade.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { Socket, type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { waitFor } from '@switchboard/core';
import { watchFragments, wsSocket } from '../../src/transport/ws-internals.js';

const require = createRequire(import.meta.url);
const WS_VERSION = (require('ws/package.json') as { version: string }).version;
const WHO = `ws ${WS_VERSION} (pinned 8.23.0)`;
/** ws's Receiver class (exported at runtime, absent from @types/ws). */
const Receiver = (require('ws') as { Receiver?: { prototype: object } }).Receiver;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

interface Pair {
  /** The server side, as the gateway gets it from `handleUpgrade`. */
  server: WebSocket;
  /** The socket the upgrade request came on. */
  upgradeSocket: Duplex;
  /** A ws client in this process, connected to `server`. */
  client: WebSocket;
}

let http: Server | undefined;
let wss: WebSocketServer | undefined;
let accepted: Array<(p: { server: WebSocket; upgradeSocket: Duplex }) => void> = [];

/** A server-side WebSocket and a client, over loopback on port 0, set up like attachWebSocket does. */
async function pair(): Promise<Pair> {
  if (http === undefined) {
    const srv = createServer();
    const w = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false });
    srv.on('upgrade', (req, socket: Duplex, head: Buffer) =>
      w.handleUpgrade(req, socket, head, (ws) => accepted.shift()?.({ server: ws, upgradeSocket: socket })),
    );
    srv.listen(0, '127.0.0.1');
    await once(srv, 'listening');
    http = srv;
    wss = w;
    cleanups.push(async () => {
      wss?.close();
      await new Promise<void>((resolve) => srv.close(() => resolve()));
      srv.closeAllConnections();
      http = undefined;
      wss = undefined;
      accepted = [];
    });
  }
  const side = new Promise<{ server: WebSocket; upgradeSocket: Duplex }>((resolve) => accepted.push(resolve));
  const client = new WebSocket(`ws://127.0.0.1:${(http.address() as AddressInfo).port}/`);
  await once(client, 'open');
  const { server, upgradeSocket } = await side;
  cleanups.push(() => {
    client.terminate();
    server.terminate();
  });
  return { server, upgradeSocket, client };
}

/** Text messages `ws` emits, in order. */
function messages(ws: WebSocket): string[] {
  const got: string[] = [];
  ws.on('message', (data, isBinary) => {
    if (!isBinary) got.push(String(data));
  });
  return got;
}

describe(`ws internals (${WHO})`, () => {
  it('a connected server-side WebSocket has _socket (the upgrade socket) and _receiver (a Receiver with _fragmented and getInfo on its prototype)', async () => {
    const { server, upgradeSocket } = await pair();
    const raw = server as unknown as { _socket?: unknown; _receiver?: Record<string, unknown> };
    expect(raw._socket, `${WHO}: WebSocket#_socket is gone`).toBeInstanceOf(Socket);
    expect(raw._socket, `${WHO}: WebSocket#_socket is not the upgrade socket`).toBe(upgradeSocket);
    expect(wsSocket(server)).toBe(upgradeSocket);

    expect(Receiver, `${WHO}: ws no longer exports Receiver`).toBeTypeOf('function');
    const rx = raw._receiver;
    expect(rx, `${WHO}: WebSocket#_receiver is not a Receiver`).toBeInstanceOf(Receiver as unknown as new () => object);
    expect(Object.getPrototypeOf(rx), `${WHO}: the receiver's prototype is not Receiver.prototype`).toBe(Receiver!.prototype);
    expect(Object.hasOwn(Receiver!.prototype, 'getInfo'), `${WHO}: Receiver.prototype.getInfo is gone`).toBe(true);
    expect(Object.hasOwn(rx!, 'getInfo'), `${WHO}: receivers carry their own getInfo (a prototype patch would miss it)`).toBe(false);
    expect(rx!['_fragmented'], `${WHO}: Receiver#_fragmented is gone`).toBe(0);
  });

  it('frames ws sends go through _socket: corked there, they wait for the uncork', async () => {
    const { server, client } = await pair();
    const got = messages(client);
    const sock = wsSocket(server)!;
    sock.cork();
    server.send('one');
    server.send('two');
    expect(sock.writableLength, `${WHO}: ws.send did not write to WebSocket#_socket`).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(got).toEqual([]);
    sock.uncork();
    await waitFor(() => got.length === 2, { timeoutMs: 2_000, what: 'both messages after the uncork' });
    expect(got).toEqual(['one', 'two']);
  });

  it('watchFragments sees the first fragment of a fragmented message, before the message is complete', async () => {
    const { server, client } = await pair();
    const got = messages(server);
    let calls = 0;
    expect(watchFragments(server, { fragmented: () => calls++ }), `${WHO}: watchFragments found no receiver to watch`).toBe(true);

    client.send('whole');
    await waitFor(() => got.length === 1, { timeoutMs: 2_000, what: 'the unfragmented message' });
    expect(calls, 'an unfragmented message was reported as fragmented').toBe(0);

    client.send('frag', { fin: false });
    await waitFor(() => calls > 0, { timeoutMs: 2_000, what: `${WHO}: the patched getInfo to see the first fragment` });
    expect(got, 'the watcher was told only after ws had reassembled the message').toEqual(['whole']);
  });

  it('patches getInfo once per process, and receivers nobody watches are untouched', async () => {
    const a = await pair();
    let aCalls = 0;
    watchFragments(a.server, { fragmented: () => aCalls++ });
    const patched = (Receiver!.prototype as { getInfo: unknown }).getInfo;
    const b = await pair();
    let bCalls = 0;
    watchFragments(b.server, { fragmented: () => bCalls++ });
    expect((Receiver!.prototype as { getInfo: unknown }).getInfo, 'getInfo was wrapped again').toBe(patched);

    // An unwatched server-side connection and a client in the same process reassemble fragmented
    // messages as ws always does.
    const c = await pair();
    const onServer = messages(c.server);
    const onClient = messages(c.client);
    c.client.send('he', { fin: false });
    c.client.send('llo', { fin: true });
    c.server.send('wor', { fin: false });
    c.server.send('ld', { fin: true });
    await waitFor(() => onServer.length === 1 && onClient.length === 1, { timeoutMs: 2_000, what: 'both reassembled messages' });
    expect(onServer).toEqual(['hello']);
    expect(onClient).toEqual(['world']);

    // Each watcher hears only of its own connection.
    b.client.send('x', { fin: false });
    await waitFor(() => bCalls > 0, { timeoutMs: 2_000, what: 'the second connection’s watcher' });
    expect(aCalls).toBe(0);
  });
});
