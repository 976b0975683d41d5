import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

/** Where a TcpProxy forwards to. */
export interface TcpProxyTarget {
  host: string;
  port: number;
}

/** One accepted connection and its connection to the target. */
interface Pair {
  client: Socket;
  upstream: Socket;
  /** Client side cut by `halfSever`: the upstream stays open, nothing is forwarded. */
  orphan: boolean;
}

/**
 * A loopback TCP proxy toward one target (a broker, Redis), so a test can simulate an outage of
 * *its own* connections without disturbing anyone else's on a shared server. Start it with
 * `TcpProxy.toward(serverUrl, defaultPort)` (or `new TcpProxy(target)` + `start()`), point the client
 * at `url(serverUrl)`, and then:
 *
 * - `stop()`: close the listener and cut every connection: the target looks down (connection
 *   refused). `start()` listens again on the same port: the target is back.
 * - `sever()`: cut every connection (both sides) but keep accepting new ones.
 * - `halfSever()`: cut only the client side: the target keeps a silent, half-open connection
 *   (a network partition) until it gives up on it (heartbeat, TCP keepalive).
 * - `freeze()`: keep every connection open but drop every byte both ways (a hung server); `resume()`
 *   forwards again. Bytes dropped while frozen are lost, not replayed.
 * - `close()`: `stop()` for good; every socket is destroyed and `start()` fails afterwards. Idempotent.
 *
 * Connections to the target that fail or close take their client connection with them.
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly pairs = new Set<Pair>();
  private frozen = false;
  private closed = false;
  private _port = 0;

  constructor(readonly target: TcpProxyTarget) {}

  /** A started proxy toward the host and port of `url` (`defaultPort` when the URL names none). */
  static async toward(url: string, defaultPort: number): Promise<TcpProxy> {
    const u = new URL(url);
    const proxy = new TcpProxy({ host: u.hostname, port: u.port === '' ? defaultPort : Number(u.port) });
    await proxy.start();
    return proxy;
  }

  /** The loopback port it listens on: 0 until the first `start()`, then the same port for good. */
  get port(): number {
    return this._port;
  }

  /** Proxied connections whose client side is still open (half-severed ones do not count). */
  get connections(): number {
    let n = 0;
    for (const p of this.pairs) if (!p.orphan) n += 1;
    return n;
  }

  /**
   * Listen on 127.0.0.1: on a free port the first time, on the same port after `stop()`. Rejects
   * when already listening, after `close()`, or when the port is taken.
   */
  async start(): Promise<void> {
    if (this.closed) throw new Error('TcpProxy is closed');
    if (this.server !== undefined) throw new Error('TcpProxy is already listening');
    const server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this._port, '127.0.0.1', () => resolve());
    });
    this._port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** `url` with its host and port replaced by this proxy's (call after the first `start()`). */
  url(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this._port);
    return u.toString();
  }

  /** Destroy every proxied connection, both sides; keep accepting new ones. */
  sever(): void {
    for (const p of this.pairs) {
      p.client.destroy();
      p.upstream.destroy();
    }
    this.pairs.clear();
  }

  /** Destroy only the client side of every connection; the target's side stays open and silent. */
  halfSever(): void {
    for (const p of this.pairs) {
      if (p.orphan) continue;
      p.orphan = true;
      p.client.destroy();
    }
  }

  /** Stop forwarding bytes in both directions without closing anything. */
  freeze(): void {
    this.frozen = true;
  }

  /** Forward again after `freeze()`. */
  resume(): void {
    this.frozen = false;
  }

  /** Sever and stop listening: connecting is refused until `start()`. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.sever();
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Stop for good: no listener, every socket destroyed. */
  async close(): Promise<void> {
    this.closed = true;
    await this.stop();
  }

  private accept(client: Socket): void {
    const upstream = connect(this.target.port, this.target.host);
    const pair: Pair = { client, upstream, orphan: false };
    this.pairs.add(pair);
    client.on('data', (d: Buffer) => {
      if (!this.frozen && !pair.orphan) upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      if (!this.frozen && !pair.orphan) client.write(d);
    });
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      this.pairs.delete(pair);
    };
    // Once half-severed, the client side's end must not take the target's side with it.
    const dropClient = (): void => {
      if (!pair.orphan) drop();
    };
    client.on('error', dropClient);
    client.on('close', dropClient);
    upstream.on('error', drop);
    upstream.on('close', drop);
  }
}
