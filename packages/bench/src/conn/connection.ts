import { connect as tcpConnect, type Socket } from 'node:net';
import WebSocket from 'ws';
import { TcpFrameDecoder, encodeTcpFrame } from '@switchboard/protocol';
import { TimeoutError, UnavailableError } from '@switchboard/core';
import { openRawWs } from './raw-ws.js';
import type { Conn, Endpoint, WsClient } from './types.js';

/** Largest inbound TCP body the bench accepts (a gateway may be configured above MobileIMSDK's 6144). */
const MAX_INBOUND_TCP_BODY_BYTES = 1 << 20;

/**
 * Open a connection; rejects with UnavailableError (refused, reset, upgrade refused) or TimeoutError.
 * `wsClient` picks the WebSocket client (default: the `ws` library).
 */
export function openConn(ep: Endpoint, timeoutMs: number, wsClient: WsClient = 'ws'): Promise<Conn> {
  if (ep.kind === 'tcp') return openTcp(ep.host, ep.port, timeoutMs);
  return wsClient === 'raw' ? openRawWs(ep.url, timeoutMs) : openWs(ep.url, timeoutMs);
}

function openWs(url: string, timeoutMs: number): Promise<Conn> {
  return new Promise((resolve, reject) => {
    // MobileIMSDK's server offers neither subprotocols nor compression.
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: timeoutMs, maxPayload: 1 << 20 });
    let settled = false;
    ws.once('open', () => {
      settled = true;
      resolve(new WsConn(ws));
    });
    ws.once('error', (err) => {
      if (settled) return;
      settled = true;
      ws.terminate();
      reject(isTimeout(err) ? new TimeoutError(`ws connect to ${url} timed out`, { cause: err }) : new UnavailableError(`ws connect to ${url} failed`, { cause: err }));
    });
  });
}

function isTimeout(err: Error): boolean {
  return /timed? ?out/i.test(err.message) || (err as NodeJS.ErrnoException).code === 'ETIMEDOUT';
}

/** What both connection kinds share: the callbacks and the closed-once bookkeeping. */
abstract class BaseConn implements Conn {
  protected textFn: (t: string) => void = () => {};
  protected closeFn: () => void = () => {};
  protected closed = false;
  abstract readonly kind: 'ws' | 'tcp';
  abstract readonly open: boolean;
  abstract send(text: string): void;
  abstract close(): void;

  onText(fn: (t: string) => void): void {
    this.textFn = fn;
  }

  onClose(fn: () => void): void {
    this.closeFn = fn;
  }

  protected gone(): void {
    if (this.closed) return;
    this.closed = true;
    this.closeFn();
  }
}

class WsConn extends BaseConn {
  readonly kind = 'ws' as const;

  constructor(private readonly ws: WebSocket) {
    super();
    ws.on('message', (data: WebSocket.RawData) => {
      if (this.closed) return;
      this.textFn(Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(data as Buffer[]).toString('utf8'));
    });
    ws.on('error', () => {}); // 'close' follows every error and reports the loss through onClose
    ws.on('close', () => this.gone());
  }

  get open(): boolean {
    return !this.closed && this.ws.readyState === WebSocket.OPEN;
  }

  send(text: string): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(text);
  }

  close(): void {
    if (this.closed) return;
    this.ws.terminate();
    this.gone();
  }

}

function openTcp(host: string, port: number, timeoutMs: number): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const sock = tcpConnect({ host, port, noDelay: true });
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      sock.destroy();
      reject(new TimeoutError(`tcp connect to ${host}:${port} timed out`));
    }, timeoutMs);
    sock.once('connect', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(new TcpConn(sock));
    });
    sock.once('error', (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      reject(new UnavailableError(`tcp connect to ${host}:${port} failed`, { cause: err }));
    });
  });
}

class TcpConn extends BaseConn {
  readonly kind = 'tcp' as const;
  private readonly decoder = new TcpFrameDecoder(MAX_INBOUND_TCP_BODY_BYTES);

  constructor(private readonly sock: Socket) {
    super();
    sock.on('data', (chunk: Buffer) => {
      if (this.closed) return;
      let bodies: Buffer[];
      try {
        bodies = this.decoder.push(chunk);
      } catch {
        this.close(); // a framing error from the server: nothing sensible left to read
        return;
      }
      for (const b of bodies) {
        if (this.closed) return;
        this.textFn(b.toString('utf8'));
      }
    });
    sock.on('error', () => {}); // 'close' follows every error and reports the loss through onClose
    sock.on('close', () => this.gone());
  }

  get open(): boolean {
    return !this.closed && !this.sock.destroyed;
  }

  send(text: string): void {
    if (!this.closed && !this.sock.destroyed) this.sock.write(encodeTcpFrame(text));
  }

  close(): void {
    if (this.closed) return;
    this.sock.destroy();
    this.gone();
  }

}
