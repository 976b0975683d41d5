import * as net from 'node:net';
import { WebSocket, type RawData } from 'ws';
import { decodeUtf8, TcpFrameDecoder } from '@switchboard/protocol';
import { InvalidArgumentError } from '@switchboard/core';
import type { CloseInfo, TestClientOptions, TestTransport } from './test-client-types.js';

/** What a `TestClient` hears from its socket. */
export interface SocketHandlers {
  /** The connection is open. */
  open(): void;
  /** One packet's text arrived. */
  text(text: string): void;
  /** An inbound frame that is no packet text (binary, bad UTF-8, broken TCP framing). */
  badFrame(err: Error): void;
  /** A socket error. */
  error(err: Error): void;
  /** The socket closed; `early` is the error a connect attempt still waiting fails with. */
  close(info: CloseInfo, early: Error): void;
}

/** Open a WebSocket to `url` (no compression, as MobileIMSDK's clients). */
export function openWs(url: string, h: SocketHandlers): WebSocket {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  ws.on('open', () => h.open());
  ws.on('message', (data, isBinary) => {
    const text = wsFrameText(data, isBinary);
    if (text instanceof Error) h.badFrame(text);
    else h.text(text);
  });
  ws.on('error', (err) => h.error(err));
  ws.on('close', (code, reason) => h.close({ code, reason: reason.toString('utf8') }, new Error(`closed during handshake (${code})`)));
  return ws;
}

/** Open a TCP connection to `tcp://host:port`, with 4-byte length framing of bodies up to `maxBodyBytes`. */
export function openTcp(url: string, maxBodyBytes: number, h: SocketHandlers): net.Socket {
  const { hostname, port } = new URL(url);
  const socket = net.connect({ host: hostname, port: Number(port), noDelay: true });
  const decoder = new TcpFrameDecoder(maxBodyBytes);
  socket.on('connect', () => h.open());
  socket.on('data', (chunk: Buffer) => {
    let bodies: Buffer[];
    try {
      bodies = decoder.push(chunk);
    } catch (err) {
      h.badFrame(asError(err));
      socket.destroy();
      return;
    }
    for (const body of bodies) {
      let text: string;
      try {
        text = decodeUtf8(body);
      } catch (err) {
        h.badFrame(asError(err));
        continue;
      }
      h.text(text);
    }
  });
  socket.on('error', (err) => h.error(err));
  socket.on('close', (hadError) => h.close({ hadError }, new Error('closed before connecting')));
  return socket;
}

/** The text of a WebSocket message, or why it is not a packet (a binary frame, bad UTF-8). */
function wsFrameText(data: RawData, isBinary: boolean): string | Error {
  const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
  if (isBinary) return new Error(`server sent a binary frame of ${buf.length} bytes; packets are text frames`);
  try {
    return decodeUtf8(buf);
  } catch (err) {
    return asError(err);
  }
}

/** The transport and URL `opts` ask for: from `url`, else from `host` + `port` (+ `path`). */
export function resolveEndpoint(opts: TestClientOptions): { transport: TestTransport; url: string } {
  if (opts.url !== undefined) {
    let u: URL;
    try {
      u = new URL(opts.url);
    } catch (err) {
      throw new InvalidArgumentError(`TestClient: bad url ${JSON.stringify(opts.url)}`, { cause: err });
    }
    const inferred: TestTransport = u.protocol === 'tcp:' ? 'tcp' : 'ws';
    const transport = opts.transport ?? inferred;
    if (transport !== inferred) throw new InvalidArgumentError(`TestClient: transport '${transport}' does not match url ${opts.url}`);
    if (transport === 'ws' && u.protocol !== 'ws:' && u.protocol !== 'wss:') {
      throw new InvalidArgumentError(`TestClient: url must start with ws://, wss:// or tcp://, got ${opts.url}`);
    }
    return { transport, url: opts.url };
  }
  if (opts.port === undefined) throw new InvalidArgumentError('TestClient: give either url or port');
  const transport = opts.transport ?? 'ws';
  const host = opts.host ?? '127.0.0.1';
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const url = transport === 'tcp' ? `tcp://${hostPart}:${opts.port}` : `ws://${hostPart}:${opts.port}${opts.path ?? '/websocket'}`;
  return { transport, url };
}

/** Epoch ms with sub-ms precision, monotonic within the process: fit for loopback latencies. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

export function describeClose(info: CloseInfo): string {
  if (info.code !== undefined) return `code ${info.code}${info.reason ? ` "${info.reason}"` : ''}`;
  if (info.hadError !== undefined) return info.hadError ? 'socket error' : 'socket closed';
  return 'never connected';
}

export function describe(err: unknown): string {
  return err instanceof Error ? err.message || err.name : String(err);
}

export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
