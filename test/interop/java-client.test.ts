// Interop check: MobileIMSDK's own prebuilt Java TCP client SDK (driven by our
// test/interop/java/SwitchboardInteropDriver.java) against a Switchboard standalone node, with a
// WebSocket peer that speaks the MobileIMSDK JSON protocol. See docs/interop.md.
//
// The MobileIMSDK jars are not in the repository. When test/interop/prepare.sh reports them
// unavailable (exit 3) every test here is skipped with a visible warning naming the reason.
//
// SWITCHBOARD_INTEROP_TARGET="tcp=HOST:PORT,ws=ws://HOST:PORT/websocket" runs the same checks
// against an already running server instead of spawning Switchboard (used to check this file
// against MobileIMSDK's prebuilt demo server: docs/interop.md). SWITCHBOARD_INTEROP_DUMP=1 prints
// every process's output and every WebSocket frame at the end.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(HERE, '..', '..');
const PREPARE = path.join(HERE, 'prepare.sh');

type Json = Record<string, unknown>;

interface Packet {
  bridge?: boolean;
  type: number;
  dataContent?: string | null;
  from?: string | null;
  to?: string | null;
  fp?: string | null;
  QoS?: boolean;
  typeu?: number;
  sm?: number;
}

// ---------------------------------------------------------------------------------------------
// prepare.sh decides whether this machine can run the check at all.

const prep = spawnSync('bash', [PREPARE], { encoding: 'utf8', timeout: 300_000 });
const unavailable = prep.status === 3;
const unavailableReason = unavailable
  ? (prep.stdout.trim().replace(/^UNAVAILABLE:\s*/, '') || prep.stderr.trim() || 'prepare.sh exited 3')
  : '';
const classpath = prep.status === 0 ? prep.stdout.trim().split('\n').pop() ?? '' : '';
if (unavailable) {
  console.warn(
    `[interop] SKIPPING the MobileIMSDK Java client interop tests: ${unavailableReason}. ` +
      'docs/interop.md says how to provide the jars.',
  );
}
const skipNote = unavailable ? ` [skipped: ${unavailableReason}]` : '';

// ---------------------------------------------------------------------------------------------
// Small helpers (self-contained on purpose: no testkit imports).

async function waitFor<T>(probe: () => T | undefined | false, timeoutMs: number, what: string, diag: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${diag()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tail(s: string, n = 4000): string {
  return s.length > n ? `…${s.slice(-n)}` : s;
}

/** A child process that prints JSON lines; keeps every parsed line and the raw stderr. */
class JsonLineProcess {
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

/** WebSocket user speaking the MobileIMSDK JSON protocol (Java-SDK-shaped packets). */
class WsPeer {
  readonly received: Packet[] = [];
  readonly log: string[] = [];
  private ws: WebSocket | undefined;
  private keepAlive: NodeJS.Timeout | undefined;

  constructor(readonly uid: string, readonly url: string) {}

  diag = (): string => `--- ws ${this.uid} frames ---\n${tail(this.log.join('\n'))}`;

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

// ---------------------------------------------------------------------------------------------

interface Target {
  tcpHost: string;
  tcpPort: number;
  wsUrl: string;
}

function parseExternalTarget(spec: string): Target {
  const parts = new Map(spec.split(',').map((kv) => kv.split('=', 2) as [string, string]));
  const tcp = parts.get('tcp');
  const ws = parts.get('ws');
  if (!tcp || !ws) throw new Error(`SWITCHBOARD_INTEROP_TARGET must look like tcp=HOST:PORT,ws=ws://HOST:PORT/websocket, got ${spec}`);
  const i = tcp.lastIndexOf(':');
  return { tcpHost: tcp.slice(0, i), tcpPort: Number(tcp.slice(i + 1)), wsUrl: ws };
}

describe('MobileIMSDK Java TCP client SDK interop', () => {
  const runId = randomUUID().slice(0, 8);
  const javaUid = `jtcp-${runId}`;
  const wsUid = `wspeer-${runId}`;
  let server: JsonLineProcess | undefined;
  let java: JsonLineProcess | undefined;
  let peer: WsPeer | undefined;
  let target: Target | undefined;

  const diag = (): string => [server?.diag(), java?.diag(), peer?.diag()].filter(Boolean).join('\n');

  beforeAll(async () => {
    if (unavailable) return;
    if (prep.status !== 0 || !classpath) {
      throw new Error(`test/interop/prepare.sh failed (exit ${prep.status}):\n${prep.stdout}\n${prep.stderr}`);
    }

    const external = process.env.SWITCHBOARD_INTEROP_TARGET;
    if (external) {
      target = parseExternalTarget(external);
    } else {
      const child = spawn(
        process.execPath,
        ['--conditions=source', '--import', 'tsx', 'packages/cli/src/main.ts', 'standalone'],
        {
          cwd: REPO_ROOT,
          env: {
            ...process.env,
            IM_DISPATCH_PORT: '0',
            IM_WS_PORT: '0',
            IM_TCP_PORT: '0',
            IM_UDP_PORT: '0',
            IM_ADMIN_PORT: '0',
            IM_SENSE_MODE: '5S',
            IM_AUTH: 'none',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      server = new JsonLineProcess('switchboard', child, true);
      const s = server;
      const ready = await waitFor(
        () => {
          if (s.exited) throw new Error(`switchboard exited before ready\n${s.diag()}`);
          return s.find((e) => e.event === 'ready');
        },
        60_000,
        'switchboard {"event":"ready"}',
        s.diag,
      );
      const ports = ready.ports as Record<string, number> | undefined;
      if (!ports || typeof ports.tcp !== 'number' || typeof ports.ws !== 'number') {
        throw new Error(`ready line has no tcp/ws ports: ${JSON.stringify(ready)}`);
      }
      target = { tcpHost: '127.0.0.1', tcpPort: ports.tcp, wsUrl: `ws://127.0.0.1:${ports.ws}/websocket` };
    }

    java = new JsonLineProcess(
      'java-driver',
      spawn(
        'java',
        ['-Djava.awt.headless=true', '-cp', classpath, 'SwitchboardInteropDriver', target.tcpHost, String(target.tcpPort), javaUid, `token-${javaUid}`, '--sense', '5S', '--login-timeout', '20000'],
        { stdio: ['pipe', 'pipe', 'pipe'] },
      ),
    );
    peer = new WsPeer(wsUid, target.wsUrl);
    await peer.connect();
  });

  afterAll(async () => {
    if (process.env.SWITCHBOARD_INTEROP_DUMP) console.log(diag());
    peer?.close();
    const j = java;
    await j?.stop(3_000, () => j.child.stdin?.end('quit\n'));
    await server?.stop(5_000);
  });

  const command = (line: string): void => {
    java!.child.stdin!.write(`${line}\n`);
  };

  it.skipIf(unavailable)(`Java client logs in with code 0${skipNote}`, async () => {
    const login = await waitFor(() => java!.find((e) => e.event === 'login' || (e.event === 'error' && e.source === 'driver')), 30_000, 'Java login event', diag);
    expect(login, diag()).toMatchObject({ event: 'login', code: 0 });
    expect(typeof login.firstLoginTime === 'number' && login.firstLoginTime > 0, `firstLoginTime ${String(login.firstLoginTime)}`).toBe(true);
    const wsLogin = await waitFor(() => peer!.received.find((p) => p.type === 50), 10_000, 'WS login response', diag);
    expect(JSON.parse(wsLogin.dataContent ?? '{}'), diag()).toMatchObject({ code: 0 });
  });

  it.skipIf(unavailable)(`Java -> WS QoS message is delivered once and Java gets the ack${skipNote}`, async () => {
    await waitFor(() => java!.find((e) => e.event === 'login' && e.code === 0), 30_000, 'Java login', diag);
    await waitFor(() => peer!.received.find((p) => p.type === 50), 10_000, 'WS login response', diag);
    // Non-ASCII and Gson-escaped characters (< > & = ') on purpose.
    const text = `hello from Java ${runId} <b>&="x'y" ünïcødé ✓`;
    const before = java!.events.length;
    command(`sendu ${wsUid} auto 7 ${text}`);
    const sending = await waitFor(() => java!.events.slice(before).find((e) => e.event === 'sending'), 10_000, 'Java sending event', diag);
    const fp = sending.fp as string;
    expect(fp).toMatch(/^[0-9a-f-]{36}$/);

    const delivered = await waitFor(() => peer!.received.find((p) => p.type === 2 && p.fp === fp), 10_000, `WS delivery of ${fp}`, diag);
    expect(delivered, diag()).toMatchObject({ type: 2, from: javaUid, to: wsUid, dataContent: text, QoS: true, typeu: 7 });
    await waitFor(() => java!.find((e) => e.event === 'acked' && e.fp === fp), 10_000, `Java acked event for ${fp}`, diag);
    expect(java!.find((e) => e.event === 'sent' && e.fp === fp), diag()).toMatchObject({ code: 0 });

    await sleep(2_500); // anything duplicated (resend, double ack) would show up in this window
    expect(peer!.received.filter((p) => p.type === 2 && p.fp === fp).length, diag()).toBe(1);
    expect(java!.count((e) => e.event === 'acked' && e.fp === fp), diag()).toBe(1);
    expect(java!.count((e) => e.event === 'lost'), diag()).toBe(0);
  });

  it.skipIf(unavailable)(`WS -> Java QoS message reaches the Java callback and WS gets a type-4 ack${skipNote}`, async () => {
    await waitFor(() => java!.find((e) => e.event === 'login' && e.code === 0), 30_000, 'Java login', diag);
    const fp = randomUUID();
    const text = `hello from WS ${runId} — <ok> & 'fine'`;
    peer!.send({ bridge: false, type: 2, dataContent: text, from: wsUid, to: javaUid, fp, QoS: true, typeu: 9, sm: -1 });

    const msg = await waitFor(() => java!.find((e) => e.event === 'message' && e.fp === fp), 10_000, `Java message event for ${fp}`, diag);
    expect(msg, diag()).toMatchObject({ from: wsUid, content: text, typeu: 9 });
    const ack = await waitFor(() => peer!.received.find((p) => p.type === 4 && p.dataContent === fp), 10_000, `type-4 ack for ${fp} on WS`, diag);
    expect(ack, diag()).toMatchObject({ type: 4, dataContent: fp, from: javaUid, to: wsUid });

    await sleep(2_500);
    expect(java!.count((e) => e.event === 'message' && e.fp === fp), diag()).toBe(1);
    expect(peer!.received.filter((p) => p.type === 4 && p.dataContent === fp).length, diag()).toBe(1);
    expect(java!.count((e) => e.event === 'error'), diag()).toBe(0);
  });
});
