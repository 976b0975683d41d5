// Interop check: MobileIMSDK's own prebuilt Java UDP client SDK (MobileIMSDK4j_udp.jar, driven by
// our test/interop/java/SwitchboardInteropDriver.java compiled against it) against a Switchboard
// standalone node, with a WebSocket peer that speaks the MobileIMSDK JSON protocol. The UDP
// sibling of java-client.test.ts; see docs/interop.md.
//
// The MobileIMSDK jars are not in the repository. When `test/interop/prepare.sh --udp` reports them
// unavailable (exit 3) every test here is skipped with a visible warning naming the reason.
//
// SWITCHBOARD_INTEROP_UDP_TARGET="udp=HOST:PORT,ws=ws://HOST:PORT/websocket" runs the same checks
// (except the Switchboard-only size limit) against an already running server instead of spawning
// Switchboard, for example MobileIMSDK's prebuilt demo server (docs/interop.md).
// SWITCHBOARD_INTEROP_DUMP=1 prints every process's output and every WebSocket frame at the end.
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
// prepare.sh --udp decides whether this machine can run the check at all.

const prep = spawnSync('bash', [PREPARE, '--udp'], { encoding: 'utf8', timeout: 300_000 });
const unavailable = prep.status === 3;
const unavailableReason = unavailable
  ? (prep.stdout.trim().replace(/^UNAVAILABLE:\s*/, '') || prep.stderr.trim() || 'prepare.sh exited 3')
  : '';
const classpath = prep.status === 0 ? prep.stdout.trim().split('\n').pop() ?? '' : '';
if (unavailable) {
  console.warn(
    `[interop] SKIPPING the MobileIMSDK Java UDP client interop tests: ${unavailableReason}. ` +
      'docs/interop.md says how to provide the jars.',
  );
}
const skipNote = unavailable ? ` [skipped: ${unavailableReason}]` : '';
const external = process.env['SWITCHBOARD_INTEROP_UDP_TARGET'];

// ---------------------------------------------------------------------------------------------
// Small helpers (self-contained on purpose, like java-client.test.ts: no testkit imports).

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

  constructor(readonly name: string, readonly child: ChildProcess, jsonOnStderr = false) {
    const collect = (line: string): void => {
      const t = line.trim();
      if (!t.startsWith('{')) return;
      try {
        this.events.push(JSON.parse(t) as Json);
      } catch {
        // a log line, kept in the raw text only
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

/** WebSocket user speaking the MobileIMSDK JSON protocol (Java-SDK-shaped packets), MODE_5S keepalives. */
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

interface Target {
  udpHost: string;
  udpPort: number;
  wsUrl: string;
}

function parseExternalTarget(spec: string): Target {
  const parts = new Map(spec.split(',').map((kv) => kv.split('=', 2) as [string, string]));
  const udp = parts.get('udp');
  const ws = parts.get('ws');
  if (!udp || !ws) throw new Error(`SWITCHBOARD_INTEROP_UDP_TARGET must look like udp=HOST:PORT,ws=ws://HOST:PORT/websocket, got ${spec}`);
  const i = udp.lastIndexOf(':');
  return { udpHost: udp.slice(0, i), udpPort: Number(udp.slice(i + 1)), wsUrl: ws };
}

// ---------------------------------------------------------------------------------------------

describe('MobileIMSDK Java UDP client SDK interop', () => {
  const runId = randomUUID().slice(0, 8);
  const javaUid = `judp-${runId}`;
  const slowUid = `jslow-${runId}`;
  const wsUid = `wspeer-${runId}`;
  let server: JsonLineProcess | undefined;
  let java: JsonLineProcess | undefined;
  /** A second client in MODE_30S: it beats every 30 s, so the server (10 s) forgets it in between. */
  let slow: JsonLineProcess | undefined;
  let peer: WsPeer | undefined;
  let loginAt = 0;

  const diag = (): string => [server?.diag(), java?.diag(), slow?.diag(), peer?.diag()].filter(Boolean).join('\n');
  const command = (line: string): void => {
    java!.child.stdin!.write(`${line}\n`);
  };
  const javaLogin = () => waitFor(() => java!.find((e) => e.event === 'login' && e.code === 0), 30_000, 'Java login', diag);

  beforeAll(async () => {
    if (unavailable) return;
    if (prep.status !== 0 || !classpath) {
      throw new Error(`test/interop/prepare.sh --udp failed (exit ${prep.status}):\n${prep.stdout}\n${prep.stderr}`);
    }
    let target: Target;
    if (external) {
      target = parseExternalTarget(external);
    } else {
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
      if (!ports || typeof ports.udp !== 'number' || ports.udp <= 0 || typeof ports.ws !== 'number') {
        throw new Error(`ready line has no udp/ws ports: ${JSON.stringify(ready)}`);
      }
      target = { udpHost: '127.0.0.1', udpPort: ports.udp, wsUrl: `ws://127.0.0.1:${ports.ws}/websocket` };
    }

    java = new JsonLineProcess(
      'java-udp-driver',
      spawn(
        'java',
        ['-Djava.awt.headless=true', '-cp', classpath, 'SwitchboardInteropDriver', target.udpHost, String(target.udpPort), javaUid, `token-${javaUid}`, '--sense', '3S', '--login-timeout', '20000'],
        { stdio: ['pipe', 'pipe', 'pipe'] },
      ),
    );
    slow = new JsonLineProcess(
      'java-udp-driver-30s',
      spawn(
        'java',
        ['-Djava.awt.headless=true', '-cp', classpath, 'SwitchboardInteropDriver', target.udpHost, String(target.udpPort), slowUid, `token-${slowUid}`, '--sense', '30S', '--login-timeout', '20000'],
        { stdio: ['pipe', 'pipe', 'pipe'] },
      ),
    );
    peer = new WsPeer(wsUid, target.wsUrl);
    await peer.connect();
  });

  afterAll(async () => {
    if (process.env['SWITCHBOARD_INTEROP_DUMP']) console.log(diag());
    peer?.close();
    const j = java;
    const sl = slow;
    await Promise.all([j?.stop(3_000, () => j.child.stdin?.end('quit\n')), sl?.stop(3_000, () => sl.child.stdin?.end('quit\n'))]);
    await server?.stop(5_000);
  });

  it.skipIf(unavailable)(`Java UDP client logs in with code 0${skipNote}`, async () => {
    const login = await waitFor(() => java!.find((e) => e.event === 'login' || (e.event === 'error' && e.source === 'driver')), 30_000, 'Java login event', diag);
    expect(login, diag()).toMatchObject({ event: 'login', code: 0 });
    loginAt = login.t as number;
    expect(typeof login.firstLoginTime === 'number' && login.firstLoginTime > 0, `firstLoginTime ${String(login.firstLoginTime)}`).toBe(true);
    const wsLogin = await waitFor(() => peer!.received.find((p) => p.type === 50), 10_000, 'WS login response', diag);
    expect(JSON.parse(wsLogin.dataContent ?? '{}'), diag()).toMatchObject({ code: 0 });
  });

  it.skipIf(unavailable)(`Java UDP -> WS QoS message is delivered once and Java gets one ack${skipNote}`, async () => {
    await javaLogin();
    await waitFor(() => peer!.received.find((p) => p.type === 50), 10_000, 'WS login response', diag);
    const text = `hello from Java UDP ${runId} <b>&="x'y" ünïcødé ✓`;
    const before = java!.events.length;
    command(`sendu ${wsUid} auto 7 ${text}`);
    const sending = await waitFor(() => java!.events.slice(before).find((e) => e.event === 'sending'), 10_000, 'Java sending event', diag);
    const fp = sending.fp as string;
    expect(fp).toMatch(/^[0-9a-f-]{36}$/);

    const delivered = await waitFor(() => peer!.received.find((p) => p.type === 2 && p.fp === fp), 10_000, `WS delivery of ${fp}`, diag);
    expect(delivered, diag()).toMatchObject({ type: 2, from: javaUid, to: wsUid, dataContent: text, QoS: true, typeu: 7 });
    await waitFor(() => java!.find((e) => e.event === 'acked' && e.fp === fp), 10_000, `Java acked event for ${fp}`, diag);
    expect(java!.find((e) => e.event === 'sent' && e.fp === fp), diag()).toMatchObject({ code: 0 });

    await sleep(2_500); // a resend or a second ack would show up in this window
    expect(peer!.received.filter((p) => p.type === 2 && p.fp === fp).length, diag()).toBe(1);
    expect(java!.count((e) => e.event === 'acked' && e.fp === fp), diag()).toBe(1);
    expect(java!.count((e) => e.event === 'lost'), diag()).toBe(0);
  });

  it.skipIf(unavailable)(`WS -> Java UDP QoS message reaches the Java callback once and WS gets one type-4 ack${skipNote}`, async () => {
    await javaLogin();
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

  it.skipIf(unavailable)(`Java UDP client stays logged in past the 10 s UDP idle time on its own keepalives${skipNote}`, async () => {
    await javaLogin();
    // The server forgets a silent pseudo-session after 10 s and the client gives up after 10 s without
    // a keepalive response: 13 s after login both sides must still be talking.
    const wait = loginAt + 13_000 - Date.now();
    if (wait > 0) await sleep(wait);
    expect(java!.count((e) => e.event === 'linkClose' || e.event === 'kickout' || e.event === 'error'), diag()).toBe(0);
    const fp = randomUUID();
    peer!.send({ bridge: false, type: 2, dataContent: 'still there?', from: wsUid, to: javaUid, fp, QoS: true, typeu: 1, sm: -1 });
    await waitFor(() => java!.find((e) => e.event === 'message' && e.fp === fp), 10_000, `Java message event for ${fp}`, diag);
    await waitFor(() => peer!.received.find((p) => p.type === 4 && p.dataContent === fp), 10_000, `type-4 ack for ${fp} on WS`, diag);
    const before = java!.events.length;
    command(`send ${wsUid} auto and back`);
    const sending = await waitFor(() => java!.events.slice(before).find((e) => e.event === 'sending'), 10_000, 'Java sending event', diag);
    await waitFor(() => java!.find((e) => e.event === 'acked' && e.fp === sending.fp), 10_000, 'Java acked event', diag);
  }, 40_000);

  it.skipIf(unavailable)(
    `a Java UDP client whose session the server forgot gets a 301 at its next keepalive and logs in again by itself${skipNote}`,
    async () => {
      // MODE_30S beats every 30 s; the server forgets a silent UDP session after 10 s. So the first
      // keepalive, 30 s after login, comes from an unknown address: 301 (shortened by Switchboard to
      // fit the keepalive's size), and the SDK logs in again 2 s later with its firstLoginTime.
      const first = await waitFor(() => slow!.find((e) => e.event === 'login' || (e.event === 'error' && e.source === 'driver')), 30_000, '30S login', diag);
      expect(first, diag()).toMatchObject({ event: 'login', code: 0 });
      const err = await waitFor(() => slow!.find((e) => e.event === 'error'), 45_000, 'the 301 at the first keepalive', diag);
      expect(err, diag()).toMatchObject({ code: 301, source: 'server' });
      // Switchboard cuts the echoed packet so the reply is no longer than the keepalive (99+ bytes).
      if (external === undefined) expect(String(err.msg).length, `errorMsg ${String(err.msg)}`).toBeLessThan(99);
      const again = await waitFor(() => slow!.events.find((e) => e.event === 'login' && e !== first), 15_000, 'the automatic re-login', diag);
      expect(again, diag()).toMatchObject({ code: 0, firstLoginTime: first.firstLoginTime });
      expect(slow!.count((e) => e.event === 'kickout' || e.event === 'lost'), diag()).toBe(0);
    },
    70_000,
  );

  it.skipIf(unavailable || external !== undefined)(
    `a WS message too long for a UDP datagram (> 1024 bytes) is error 1031 for WS and never reaches Java${skipNote}`,
    async () => {
      await javaLogin();
      const fp = randomUUID();
      peer!.send({ bridge: false, type: 2, dataContent: 'x'.repeat(1000), from: wsUid, to: javaUid, fp, QoS: true, typeu: 1, sm: -1 });
      const err = await waitFor(() => peer!.received.find((p) => p.type === 52 && (p.dataContent ?? '').includes(fp)), 10_000, 'error 1031 on WS', diag);
      expect(JSON.parse(err.dataContent ?? '{}'), diag()).toEqual({ errorCode: 1031, errorMsg: fp });
      await sleep(1_500);
      expect(java!.count((e) => e.event === 'message' && e.fp === fp), diag()).toBe(0);
      expect(peer!.received.filter((p) => p.type === 4 && p.dataContent === fp).length, diag()).toBe(0);
      expect(java!.count((e) => e.event === 'error' || e.event === 'linkClose'), diag()).toBe(0);
    },
  );
});
