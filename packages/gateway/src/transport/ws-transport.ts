import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import { CloseCode } from '@switchboard/protocol';
import { TransportHandlers, type Transport } from './transport.js';
import { WriteBatcher } from '@switchboard/core';
import { watchFragments, wsSocket, type FragmentWatcher } from './ws-internals.js';

/**
 * Accepts MobileIMSDK WebSocket clients on exactly `path` (no query string, no trailing slash),
 * one unfragmented text frame per packet, at most `maxFrameBytes`; binary or fragmented frames
 * close the connection. No subprotocol is ever selected and no compression is offered, as the
 * MobileIMSDK server does.
 */
export function attachWebSocket(
  server: HttpServer,
  opts: { path: string; maxFrameBytes: number; onConnection: (t: Transport) => void },
): WebSocketServer {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: opts.maxFrameBytes,
    perMessageDeflate: false,
    clientTracking: false,
    handleProtocols: () => false,
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    destroyOnError(socket);
    if (req.url !== opts.path) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? 0}`;
    wss.handleUpgrade(req, socket, head, (ws) => opts.onConnection(new WsTransport(ws, remote)));
  });
  return wss;
}

/**
 * In a function of its own so the listener's closure holds only the socket: a closure made inside
 * the upgrade handler would keep the whole request (headers and all, ~1.5 KB) alive as long as the
 * connection.
 */
function destroyOnError(socket: Duplex): void {
  socket.on('error', () => socket.destroy());
}

class WsTransport extends TransportHandlers implements Transport, FragmentWatcher {
  readonly kind = 'ws' as const;
  private dead = false;
  private readonly batcher: WriteBatcher | null;

  constructor(
    private readonly ws: WebSocket,
    readonly remote: string,
  ) {
    super();
    // ws writes each frame to its socket; batching there turns the frames of one event-loop turn
    // into one writev.
    const sock = wsSocket(ws);
    this.batcher = sock ? new WriteBatcher(sock) : null;
    ws.on('message', (data: RawData, isBinary: boolean) => this.onMessage(data, isBinary));
    ws.on('error', () => this.violation('websocket protocol error'));
    ws.on('close', () => {
      this.dead = true;
      this.runCloseHandlers();
    });
    watchFragments(ws, this);
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.dead) return;
    if (isBinary) return this.violation('binary frames are not supported');
    this.packetFn(Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(data as Buffer[]).toString('utf8'));
  }

  /**
   * ws's receiver saw a frame of a fragmented message (see `watchFragments`). ws reassembles such
   * messages and has no option to refuse them, but MobileIMSDK servers close these connections.
   */
  fragmented(): void {
    this.violation('fragmented frames are not supported');
  }

  private violation(reason: string): void {
    if (this.dead) return;
    this.violationFn(reason);
    this.close(CloseCode.PROTOCOL_ERROR, reason);
  }

  send(text: string): boolean {
    if (this.dead || this.ws.readyState !== 1) return false;
    this.batcher?.batch();
    this.ws.send(text);
    return true;
  }

  bufferedBytes(): number {
    return this.ws.bufferedAmount;
  }

  close(code: number, reason: string): void {
    if (this.dead) return;
    this.dead = true;
    try {
      this.ws.close(code, reason.slice(0, 120));
    } catch {
      // ws throws for a close it cannot send (a code it refuses, a socket not open): cut it instead.
      this.ws.terminate();
    }
    // A peer that never answers the close handshake is cut off.
    setTimeout(() => this.ws.terminate(), 2_000).unref();
  }
}
