// Interop check: MobileIMSDK's own prebuilt Java TCP client SDK (driven by our
// test/interop/java/SwitchboardInteropDriver.java) against a Switchboard standalone node, with a
// WebSocket peer that speaks the MobileIMSDK JSON protocol. See docs/interop.md.
//
// The MobileIMSDK jars are not in the repository: test/interop/prepare.sh uses the vendored copy
// beside it (../shared/vendor/mobileimsdk), else MOBILEIMSDK_JARS or the default cache. Without any
// (exit 3) every test here is skipped with a visible warning naming the reason; so is a cache without
// java, javac or Netty (exit 4), except in CI (CI=true), where that fails every test.
//
// SWITCHBOARD_INTEROP_TARGET="tcp=HOST:PORT,ws=ws://HOST:PORT/websocket" runs the same checks
// against an already running server instead of spawning Switchboard (used to check this file
// against MobileIMSDK's prebuilt demo server: docs/interop.md). SWITCHBOARD_INTEROP_DUMP=1 prints
// every process's output and every WebSocket frame at the end.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  JavaDriver,
  WsPeer,
  parseExternalTarget,
  prepare,
  sleep,
  spawnStandalone,
  standaloneTarget,
  waitFor,
  type JsonLineProcess,
  type Target,
} from './harness.js';

const { unavailable, skipNote, requireClasspath } = prepare('tcp', 'MobileIMSDK Java client');

describe('MobileIMSDK Java TCP client SDK interop', () => {
  const runId = randomUUID().slice(0, 8);
  const javaUid = `jtcp-${runId}`;
  const wsUid = `wspeer-${runId}`;
  let server: JsonLineProcess | undefined;
  let java: JavaDriver | undefined;
  let peer: WsPeer | undefined;
  let target: Target | undefined;

  const diag = (): string => [server?.diag(), java?.diag(), peer?.diag()].filter(Boolean).join('\n');

  beforeAll(async () => {
    if (unavailable) return;
    const classpath = requireClasspath();

    const external = process.env.SWITCHBOARD_INTEROP_TARGET;
    if (external) {
      target = parseExternalTarget(external, 'tcp', 'SWITCHBOARD_INTEROP_TARGET');
    } else {
      server = spawnStandalone();
      target = await standaloneTarget(server, 'tcp');
    }

    java = new JavaDriver('java-driver', classpath, target, javaUid, '5S');
    peer = new WsPeer(wsUid, target.wsUrl);
    await peer.connect();
  });

  afterAll(async () => {
    if (process.env.SWITCHBOARD_INTEROP_DUMP) console.log(diag());
    peer?.close();
    await java?.quit();
    await server?.stop(5_000);
  });

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
    java!.command(`sendu ${wsUid} auto 7 ${text}`);
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
