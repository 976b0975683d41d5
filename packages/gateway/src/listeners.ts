import { createServer as createHttpServer, type RequestListener, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createTcpServer, type Server as TcpServer, type Socket, type AddressInfo } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import type { WebSocketServer } from 'ws';
import type { Logger } from '@switchboard/core';
import * as D from './defaults.js';
import type { GatewayConfig } from './options.js';
import { attachWebSocket } from './transport/ws-transport.js';
import { TcpTransport } from './transport/tcp-transport.js';
import { UdpListener } from './transport/udp-transport.js';
import type { Transport } from './transport/transport.js';

/** Where the listeners are bound (0 for one that is not running). */
export interface BoundPorts {
  ws: number;
  tcp: number;
  udp: number;
}

/** A client that has not finished its TLS handshake this long after connecting is cut off. */
const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * The gateway's three listeners: WebSocket (on an HTTP server that answers 426 to plain requests),
 * TCP and UDP. Every accepted connection becomes a Transport handed to `onTransport`. With
 * `cfg.tls` the WebSocket server is HTTPS (`wss://`) and TCP is TLS (the framing inside unchanged);
 * a new certificate pair applies to the connections that come after it.
 */
export class Listeners {
  private httpServer: HttpServer | HttpsServer | null = null;
  private wss: WebSocketServer | null = null;
  private tcpServer: TcpServer | TlsServer | null = null;
  private udp: UdpListener | null = null;
  private stopTlsUpdates: (() => void) | null = null;

  constructor(
    private readonly cfg: GatewayConfig,
    private readonly log: Logger,
    private readonly onTransport: (t: Transport) => void,
    private readonly onUdpDrop: (reason: string) => void,
  ) {}

  async listen(): Promise<BoundPorts> {
    const ports: BoundPorts = { ws: 0, tcp: 0, udp: 0 };
    const tls = this.cfg.tls;
    const tlsOptions = tls ? { ...tls.current, handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS } : null;
    const upgradeOnly: RequestListener = (_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('Use a WebSocket connection at ' + D.DEFAULT_WS_PATH + '\n');
    };
    this.httpServer = tlsOptions ? createHttpsServer(tlsOptions, upgradeOnly) : createHttpServer(upgradeOnly);
    this.httpServer.headersTimeout = 10_000;
    this.httpServer.requestTimeout = 10_000;
    this.wss = attachWebSocket(this.httpServer, {
      path: D.DEFAULT_WS_PATH,
      maxFrameBytes: this.cfg.wsMaxFrameBytes,
      onConnection: this.onTransport,
    });
    ports.ws = await listen(this.httpServer, this.cfg.wsPort, this.cfg.bindHost, 'ws');
    if (this.cfg.tcpPort !== null) {
      const maxBody = this.cfg.tcpMaxBodyBytes;
      const onSocket = (sock: Socket) => this.onTransport(new TcpTransport(sock, maxBody));
      this.tcpServer = tlsOptions ? createTlsServer({ ...tlsOptions, noDelay: true, keepAlive: true }, onSocket) : createTcpServer({ noDelay: true, keepAlive: true }, onSocket);
      ports.tcp = await listen(this.tcpServer, this.cfg.tcpPort, this.cfg.bindHost, 'tcp');
    }
    if (this.cfg.udpPort !== null) {
      this.udp = await tagged('udp', UdpListener.listen({
        host: this.cfg.bindHost,
        port: this.cfg.udpPort,
        maxSessions: this.cfg.udpMaxSessions,
        maxDatagramInBytes: D.DEFAULT_UDP_MAX_DATAGRAM_IN_BYTES,
        maxDatagramOutBytes: D.DEFAULT_UDP_MAX_DATAGRAM_OUT_BYTES,
        blockMs: this.cfg.udpBlockMs,
        capWarnIntervalMs: D.DEFAULT_UDP_CAP_WARN_INTERVAL_MS,
        log: this.log.child({ transport: 'udp' }),
        onSession: this.onTransport,
        onDrop: this.onUdpDrop,
      }));
      ports.udp = this.udp.port;
    }
    this.stopTlsUpdates =
      tls?.onChange((pair) => {
        for (const server of [this.httpServer, this.tcpServer]) if (server && 'setSecureContext' in server) server.setSecureContext(pair);
        this.log.info('TLS certificate in use for new connections');
      }) ?? null;
    return ports;
  }

  /** Stop accepting new connections; open ones stay. */
  stopAccepting(): void {
    this.stopTlsUpdates?.();
    this.stopTlsUpdates = null;
    this.udp?.stopAccepting();
    this.tcpServer?.close();
    this.httpServer?.close();
    this.wss?.close();
    this.tcpServer = null;
    this.httpServer = null;
  }

  /** Close the UDP socket (after its sessions: they share it). */
  async closeUdp(): Promise<void> {
    await this.udp?.close();
    this.udp = null;
  }
}

/**
 * A listener that fails to bind rejects with its error tagged `listener: 'ws' | 'tcp' | 'udp'`, so
 * that the caller can name the setting to change.
 */
async function tagged<T>(listener: keyof BoundPorts, p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof Error) Object.assign(err, { listener });
    throw err;
  }
}

function listen(server: HttpServer | TcpServer, port: number, host: string, name: keyof BoundPorts): Promise<number> {
  return tagged(name, new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, backlog: 4096 }, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  }));
}
