// Shared harness of the MobileIMSDK Java-client interop checks (java-client.test.ts over TCP,
// java-udp-client.test.ts over UDP; see docs/interop.md): the prepare.sh verdict, the Switchboard
// standalone node or an external target, the Java driver process and the WebSocket peer.
// Self-contained on purpose: no testkit imports.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';
import WebSocket from 'ws';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(HERE, '..', '..');
const PREPARE = path.join(HERE, 'prepare.sh');

export type Json = Record<string, unknown>;

/** A MobileIMSDK packet as its Java SDK writes it. */
export interface Packet {
  bridge?: boolean;
  type: number;
  dataContent?: string | null;
  from?: string | null;
  to?: string | null;
  fp?: string | null;
  QoS?: boolean;
  typeu?: number;
  sm?: number;
  /** Switchboard envelope extensions (docs/protocol.md): the history seq and the server's send time. */
  seq?: number;
  sentAt?: number;
}

/** The Java client SDK under test. */
export type JavaTransport = 'tcp' | 'udp';

// ---------------------------------------------------------------------------------------------
// prepare.sh decides whether this machine can run the check at all.

/** What prepare.sh said. */
export interface Prepared {
  /** Every test is skipped: no jar cache (exit 3), or outside CI a cache without java/javac/Netty (exit 4). */
  unavailable: boolean;
  /** ` [skipped: <reason>]` when unavailable, else empty: appended to test names. */
  skipNote: string;
  /** Driver classpath (exit 0), else empty. */
  classpath: string;
  /** Throws with prepare.sh's output unless it succeeded (call in `beforeAll` when available). */
  requireClasspath(): string;
}

/** `CI` set to anything but empty, `0` or `false` (GitHub, GitLab and `.ci/run` set `CI=true`). */
export function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = (env['CI'] ?? '').trim().toLowerCase();
  return v !== '' && v !== '0' && v !== 'false';
}

/**
 * Run `prepare.sh` (`--udp` for the UDP SDK) synchronously. Exit 3 (no jar cache: the vendored
 * `../shared/vendor/mobileimsdk`, `MOBILEIMSDK_JARS` or the default cache) skips the `what` interop
 * tests with a visible warning. Exit 4 (the jars are there, but java, javac, Netty or a jar is
 * missing) does the same on a developer machine, but in CI the tests fail with the reason: CI has
 * the jars and must run them.
 */
export function prepare(transport: JavaTransport, what: string): Prepared {
  const args = transport === 'udp' ? ['--udp'] : [];
  const prep = spawnSync('bash', [PREPARE, ...args], { encoding: 'utf8', timeout: 300_000 });
  const reason = (prep.stdout ?? '').trim().replace(/^UNAVAILABLE:\s*/, '') || (prep.stderr ?? '').trim() || `prepare.sh exited ${prep.status}`;
  const unavailable = prep.status === 3 || (prep.status === 4 && !inCi());
  const classpath = prep.status === 0 ? prep.stdout.trim().split('\n').pop() ?? '' : '';
  if (unavailable) {
    console.warn(`[interop] SKIPPING the ${what} interop tests: ${reason}. docs/interop.md says how to provide the jars and Java.`);
  }
  return {
    unavailable,
    skipNote: unavailable ? ` [skipped: ${reason}]` : '',
    classpath,
    requireClasspath: () => {
      if (prep.status !== 0 || !classpath) {
        const command = ['test/interop/prepare.sh', ...args].join(' ');
        const why = prep.status === 4 ? ' (in CI, jars without a working Java setup are a failure, not a skip)' : '';
        const spawnErr = prep.error ? `\n${prep.error.message}` : '';
        throw new Error(`${command} failed (exit ${prep.status})${why}:\n${prep.stdout ?? ''}\n${prep.stderr ?? ''}${spawnErr}`);
      }
      return classpath;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

/** Poll `probe` every 20 ms until it returns something other than undefined/false; the error carries `diag()`. */
export async function waitFor<T>(probe: () => T | undefined | false, timeoutMs: number, what: string, diag: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${diag()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tail(s: string, n = 4000): string {
  return s.length > n ? `…${s.slice(-n)}` : s;
}

/** A child process that prints JSON lines; keeps every parsed line and the raw stderr. */
export class JsonLineProcess {
  readonly events: Json[] = [];
  stdoutRaw = '';
  stderr = '';
  exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  /** `jsonOnStderr`: also collect JSON lines printed on stderr (a logger may write there). */
  constructor(readonly name: string, readonly child: ChildProcess, jsonOnStderr = false) {
    const collect = (line: string): void => {
      const t = line.trim();
      if (!t.startsWith('{')) return;
      try {
        this.events.push(JSON.parse(t) as Json);
      } catch {
        // not a JSON line (log output): kept in the raw text only
      }
    };
    createInterface({ input: child.stdout! }).on('line', (line) => {
      this.stdoutRaw += `${line}\n`;
      collect(line);
    });
    createInterface({ input: child.stderr! }).on('line', (line) => {
      this.stderr += `${line}\n`;
      if (jsonOnStderr) collect(line);
    });
    child.on('exit', (code, signal) => {
      this.exited = { code, signal };
    });
  }

  diag = (): string =>
    `--- ${this.name} stdout ---\n${tail(this.stdoutRaw)}\n--- ${this.name} stderr ---\n${tail(this.stderr)}` +
    (this.exited ? `\n--- ${this.name} exited ${JSON.stringify(this.exited)}` : '');

  find(pred: (e: Json) => boolean): Json | undefined {
    return this.events.find(pred);
  }

  count(pred: (e: Json) => boolean): number {
    return this.events.filter(pred).length;
  }

  /** Ask it to exit (`polite`, else SIGTERM); SIGKILL after `graceMs`. Resolves once it exited. */
  async stop(graceMs: number, polite?: () => void): Promise<void> {
    if (this.exited || this.child.exitCode !== null) return;
    const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
    try {
      polite?.();
    } catch {
      // ignore
    }
    if (!polite) this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(t);
  }
}

// ---------------------------------------------------------------------------------------------
// The server side: a Switchboard standalone node, or an already running server.

/** Where the Java client (TCP or UDP, by the test file) and the WebSocket peer connect. */
export interface Target {
  host: string;
  port: number;
  wsUrl: string;
  /** Dispatch's HTTP address (the admin API), when known (a spawned standalone node). */
  dispatchUrl?: string;
}

/** Parse `<transport>=HOST:PORT,ws=ws://HOST:PORT/websocket` from the environment variable `envVar`. */
export function parseExternalTarget(spec: string, transport: JavaTransport, envVar: string): Target {
  const parts = new Map(spec.split(',').map((kv) => kv.split('=', 2) as [string, string]));
  const java = parts.get(transport);
  const ws = parts.get('ws');
  if (!java || !ws) throw new Error(`${envVar} must look like ${transport}=HOST:PORT,ws=ws://HOST:PORT/websocket, got ${spec}`);
  const i = java.lastIndexOf(':');
  return { host: java.slice(0, i), port: Number(java.slice(i + 1)), wsUrl: ws };
}

/** Spawn `switchboard standalone` on ephemeral ports, auth off, MODE_5S; wait for it with `standaloneTarget`. */
export function spawnStandalone(): JsonLineProcess {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'packages/cli/src/main.ts', 'standalone'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      IM_DISPATCH_PORT: '0',
      IM_WS_PORT: '0',
      IM_TCP_PORT: '0',
      IM_UDP_PORT: '0',
      IM_ADMIN_PORT: '0',
      // WS idle 11 s, UDP idle 10 s (the UDP client's default MODE_3S beats every 3 s).
      IM_SENSE_MODE: '5S',
      IM_AUTH: 'none',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new JsonLineProcess('switchboard', child, true);
}

/** Wait (60 s) for the node's `{"event":"ready"}` line; its `transport` and WebSocket addresses on loopback. */
export async function standaloneTarget(server: JsonLineProcess, transport: JavaTransport): Promise<Target> {
  const ready = await waitFor(
    () => {
      if (server.exited) throw new Error(`switchboard exited before ready\n${server.diag()}`);
      return server.find((e) => e.event === 'ready');
    },
    60_000,
    'switchboard {"event":"ready"}',
    server.diag,
  );
  const ports = ready.ports as Record<string, number> | undefined;
  const port = ports?.[transport];
  if (!ports || typeof port !== 'number' || port <= 0 || typeof ports.ws !== 'number') {
    throw new Error(`ready line has no ${transport}/ws ports: ${JSON.stringify(ready)}`);
  }
  return {
    host: '127.0.0.1',
    port,
    wsUrl: `ws://127.0.0.1:${ports.ws}/websocket`,
    ...(typeof ports.dispatch === 'number' && ports.dispatch > 0 ? { dispatchUrl: `http://127.0.0.1:${ports.dispatch}` } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Wire captures: a relay between the Java client and the server that records every packet each way,
// so a test sees the bytes the unmodified SDK received (the SDK's callbacks show only some fields).

/** One packet seen by a capture relay. */
export interface Captured {
  /** `in`: server to client; `out`: client to server. */
  dir: 'in' | 'out';
  text: string;
  /** The parsed packet, undefined when the text was not JSON. */
  packet: Packet | undefined;
  at: number;
}

abstract class Capture {
  readonly packets: Captured[] = [];
  port = 0;

  protected record(dir: 'in' | 'out', text: string): void {
    let packet: Packet | undefined;
    try {
      packet = JSON.parse(text) as Packet;
    } catch {
      packet = undefined;
    }
    this.packets.push({ dir, text, packet, at: Date.now() });
  }

  /** Packets the client received (`in`) or sent (`out`) matching `pred`. */
  seen(dir: 'in' | 'out', pred: (p: Packet) => boolean): Captured[] {
    return this.packets.filter((c) => c.dir === dir && c.packet !== undefined && pred(c.packet));
  }

  diag = (): string => `--- capture :${this.port} ---\n${tail(this.packets.map((c) => `${c.dir === 'in' ? '<<' : '>>'} ${c.text}`).join('\n'))}`;

  /** The same target with the Java transport's address replaced by this relay's. */
  via(target: Target): Target {
    return { ...target, host: '127.0.0.1', port: this.port };
  }
}

/** Reassembles MobileIMSDK TCP frames (4-byte big-endian body length, then the UTF-8 JSON body). */
function frameReader(onBody: (text: string) => void): (chunk: Buffer) => void {
  let buf = Buffer.alloc(0);
  return (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 4) {
      const n = buf.readUInt32BE(0);
      if (buf.length < 4 + n) return;
      onBody(buf.subarray(4, 4 + n).toString('utf8'));
      buf = buf.subarray(4 + n);
    }
  };
}

/** A TCP relay on 127.0.0.1 in front of `upstream`, recording the frames of every connection both ways. */
export class TcpCapture extends Capture {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();

  static async start(upstream: { host: string; port: number }): Promise<TcpCapture> {
    const c = new TcpCapture();
    c.server = net.createServer((client) => {
      const server = net.connect(upstream.port, upstream.host);
      for (const s of [client, server]) {
        c.sockets.add(s);
        s.on('close', () => c.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          server.destroy();
        });
      }
      const fromClient = frameReader((t) => c.record('out', t));
      const fromServer = frameReader((t) => c.record('in', t));
      client.on('data', (d) => {
        fromClient(d);
        server.write(d);
      });
      server.on('data', (d) => {
        fromServer(d);
        client.write(d);
      });
      client.on('end', () => server.end());
      server.on('end', () => client.end());
    });
    await new Promise<void>((resolve, reject) => {
      c.server!.once('error', reject);
      c.server!.listen(0, '127.0.0.1', () => resolve());
    });
    c.port = (c.server.address() as net.AddressInfo).port;
    return c;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** A UDP relay on 127.0.0.1 in front of `upstream`: one upstream socket per client address, every datagram recorded. */
export class UdpCapture extends Capture {
  private socket: dgram.Socket | undefined;
  private readonly upstreams = new Map<string, dgram.Socket>();

  static async start(upstream: { host: string; port: number }): Promise<UdpCapture> {
    const c = new UdpCapture();
    const front = (c.socket = dgram.createSocket('udp4'));
    front.on('message', (msg, from) => {
      const key = `${from.address}:${from.port}`;
      let up = c.upstreams.get(key);
      if (!up) {
        const sock = dgram.createSocket('udp4');
        sock.on('message', (reply) => {
          c.record('in', reply.toString('utf8'));
          try {
            front.send(reply, from.port, from.address);
          } catch {
            // the relay is closing
          }
        });
        sock.on('error', () => c.upstreams.delete(key));
        c.upstreams.set(key, sock);
        up = sock;
      }
      c.record('out', msg.toString('utf8'));
      try {
        up.send(msg, upstream.port, upstream.host);
      } catch {
        // the relay is closing: the datagram is lost, as on a real network
      }
    });
    await new Promise<void>((resolve, reject) => {
      front.once('error', reject);
      front.bind(0, '127.0.0.1', () => resolve());
    });
    c.port = front.address().port;
    return c;
  }

  async close(): Promise<void> {
    for (const s of this.upstreams.values()) {
      try {
        s.close();
      } catch {
        // already closed after an error
      }
    }
    this.upstreams.clear();
    await new Promise<void>((r) => (this.socket ? this.socket.close(() => r()) : r()));
  }
}

// ---------------------------------------------------------------------------------------------
// The clients.

/**
 * test/interop/java/SwitchboardInteropDriver around MobileIMSDK's Java client SDK (the classpath
 * picks TCP or UDP): logs in as `uid` (token `token-<uid>`) with keepalive mode `sense`, prints one
 * JSON line per SDK callback and takes commands on stdin.
 */
export class JavaDriver extends JsonLineProcess {
  constructor(name: string, classpath: string, target: Target, uid: string, sense: string) {
    super(
      name,
      spawn(
        'java',
        ['-Djava.awt.headless=true', '-cp', classpath, 'SwitchboardInteropDriver', target.host, String(target.port), uid, `token-${uid}`, '--sense', sense, '--login-timeout', '20000'],
        { stdio: ['pipe', 'pipe', 'pipe'] },
      ),
    );
  }

  /** One driver command line, e.g. `sendu <to> auto <typeu> <text>`. */
  command(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  /** Send `quit`; SIGKILL if it is still running after 3 s. */
  quit(): Promise<void> {
    return this.stop(3_000, () => this.child.stdin?.end('quit\n'));
  }
}

/** WebSocket user speaking the MobileIMSDK JSON protocol (Java-SDK-shaped packets), MODE_5S keepalives. */
export class WsPeer {
  readonly received: Packet[] = [];
  readonly log: string[] = [];
  private ws: WebSocket | undefined;
  private keepAlive: NodeJS.Timeout | undefined;

  constructor(readonly uid: string, readonly url: string) {}

  diag = (): string => `--- ws ${this.uid} frames ---\n${tail(this.log.join('\n'))}`;

  /** Open the socket and log in as `uid` (token `token-<uid>`); does not wait for the login response. */
  async connect(): Promise<void> {
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.on('message', (data, isBinary) => {
      const text = data.toString();
      this.log.push(`<< ${isBinary ? '(binary) ' : ''}${text}`);
      let p: Packet;
      try {
        p = JSON.parse(text) as Packet;
      } catch {
        return;
      }
      this.received.push(p);
      // Like every MobileIMSDK client: acknowledge each QoS packet at once (from/to swapped).
      if (p.QoS && p.fp) {
        this.send({ bridge: p.bridge ?? false, type: 4, dataContent: p.fp, from: p.to ?? this.uid, to: p.from ?? '0', QoS: false, typeu: -1, sm: -1 });
      }
    });
    ws.on('close', (code, reason) => this.log.push(`-- close ${code} ${reason.toString()}`));
    ws.on('error', (err) => this.log.push(`-- error ${err.message}`));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    this.send({
      bridge: false,
      type: 0,
      dataContent: JSON.stringify({ loginUserId: this.uid, loginToken: `token-${this.uid}`, firstLoginTime: 0 }),
      from: this.uid,
      to: '0',
      QoS: false,
      typeu: -1,
      sm: -1,
    });
    // MODE_5S heartbeat: one type-1 packet every 5 s, as the H5 client does.
    this.keepAlive = setInterval(() => {
      this.send({ bridge: false, type: 1, dataContent: '{}', from: this.uid, to: '0', QoS: false, typeu: -1, sm: -1 });
    }, 5_000);
    this.keepAlive.unref();
  }

  send(p: Packet): void {
    const text = JSON.stringify(p);
    this.log.push(`>> ${text}`);
    this.ws?.send(text);
  }

  close(): void {
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.ws?.terminate();
  }
}
