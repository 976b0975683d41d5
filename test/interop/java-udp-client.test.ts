// Interop check: MobileIMSDK's own prebuilt Java UDP client SDK (MobileIMSDK4j_udp.jar, driven by
// our test/interop/java/SwitchboardInteropDriver.java compiled against it) against a Switchboard
// standalone node, with a WebSocket peer that speaks the MobileIMSDK JSON protocol. The UDP
// sibling of java-client.test.ts; see docs/interop.md.
//
// The MobileIMSDK jars are not in the repository: `test/interop/prepare.sh --udp` uses the vendored
// copy beside it (../shared/vendor/mobileimsdk), else MOBILEIMSDK_JARS or the default cache. Without
// any (exit 3) every test here is skipped with a visible warning naming the reason; so is a cache
// without java or javac (exit 4), except in CI (CI=true), where that fails every test.
//
// SWITCHBOARD_INTEROP_UDP_TARGET="udp=HOST:PORT,ws=ws://HOST:PORT/websocket" runs the same checks
// (except the Switchboard-only size limit) against an already running server instead of spawning
// Switchboard, for example MobileIMSDK's prebuilt demo server (docs/interop.md).
// SWITCHBOARD_INTEROP_DUMP=1 prints every process's output and every WebSocket frame at the end.
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

const { unavailable, skipNote, requireClasspath } = prepare('udp', 'MobileIMSDK Java UDP client');
const external = process.env['SWITCHBOARD_INTEROP_UDP_TARGET'];

describe('MobileIMSDK Java UDP client SDK interop', () => {
  const runId = randomUUID().slice(0, 8);
  const javaUid = `judp-${runId}`;
  const slowUid = `jslow-${runId}`;
  const wsUid = `wspeer-${runId}`;
  let server: JsonLineProcess | undefined;
  let java: JavaDriver | undefined;
  /** A second client in MODE_30S: it beats every 30 s, so the server (10 s) forgets it in between. */
  let slow: JavaDriver | undefined;
  let peer: WsPeer | undefined;
  let loginAt = 0;

  const diag = (): string => [server?.diag(), java?.diag(), slow?.diag(), peer?.diag()].filter(Boolean).join('\n');
  const javaLogin = () => waitFor(() => java!.find((e) => e.event === 'login' && e.code === 0), 30_000, 'Java login', diag);

  beforeAll(async () => {
    if (unavailable) return;
    const classpath = requireClasspath();
    let target: Target;
    if (external) {
      target = parseExternalTarget(external, 'udp', 'SWITCHBOARD_INTEROP_UDP_TARGET');
    } else {
      server = spawnStandalone();
      target = await standaloneTarget(server, 'udp');
    }

    java = new JavaDriver('java-udp-driver', classpath, target, javaUid, '3S');
    slow = new JavaDriver('java-udp-driver-30s', classpath, target, slowUid, '30S');
    peer = new WsPeer(wsUid, target.wsUrl);
    await peer.connect();
  });

  afterAll(async () => {
    if (process.env['SWITCHBOARD_INTEROP_DUMP']) console.log(diag());
    peer?.close();
    await Promise.all([java?.quit(), slow?.quit()]);
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
    java!.command(`sendu ${wsUid} auto 7 ${text}`);
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
    java!.command(`send ${wsUid} auto and back`);
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
