// Interop check of Switchboard's additions to the MobileIMSDK wire with MobileIMSDK's own prebuilt
// Java client SDKs (TCP and UDP, unchanged jars driven by test/interop/java/SwitchboardInteropDriver.java)
// against a Switchboard standalone node with history on (the default). See docs/interop.md section 8
// and docs/groups.md "In an unmodified MobileIMSDK app".
//
// (a) Messages and acks a Java client receives carry the envelope extensions `seq` and `sentAt`: a
//     capture relay between the SDK and the server records the exact packets, and the SDK still shows
//     the message in its callback, acks it, and reports its own message acked.
// (b) Group messages: a Java TCP member sees `userid` = `g:<gid>:<sender>` and the content, acks it
//     (the sender's ack comes from the server, once), and its own message to `g:<gid>` reaches the
//     other members (WebSocket users and a Java UDP client).
//
// Switchboard-only (history and groups are not MobileIMSDK features), so there is no external-target
// mode. Skipped like the other interop files when prepare.sh finds no jars (or, outside CI, no Java).
// SWITCHBOARD_INTEROP_DUMP=1 prints every process's output, the captures and the WebSocket frames.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  JavaDriver,
  TcpCapture,
  UdpCapture,
  WsPeer,
  prepare,
  sleep,
  spawnStandalone,
  standaloneTarget,
  waitFor,
  type Json,
  type JsonLineProcess,
  type Packet,
} from './harness.js';

const tcp = prepare('tcp', 'MobileIMSDK Java client (history and groups)');
const udp = prepare('udp', 'MobileIMSDK Java UDP client (history and groups)');

/** The gateway's custody resend interval (IM_CUSTODY_RESEND_MS default): a second copy or ack would come within it. */
const RESEND_WINDOW_MS = 2_500;

describe('MobileIMSDK Java clients with Switchboard history (seq, sentAt) and groups', () => {
  const runId = randomUUID().slice(0, 8);
  const gid = `interop-${runId}`;
  const group = `g:${gid}`;
  const jtUid = `jtcp-${runId}`;
  const juUid = `judp-${runId}`;
  const aUid = `wsa-${runId}`;
  const bUid = `wsb-${runId}`;
  let server: JsonLineProcess | undefined;
  let jt: JavaDriver | undefined;
  let ju: JavaDriver | undefined;
  let tcpCap: TcpCapture | undefined;
  let udpCap: UdpCapture | undefined;
  let a: WsPeer | undefined;
  let b: WsPeer | undefined;
  /** Checks of "exactly once" run after one shared resend window, at the end. */
  const onceChecks: Array<{ what: string; check: () => void }> = [];

  const diag = (): string => [server?.diag(), jt?.diag(), tcpCap?.diag(), ju?.diag(), udpCap?.diag(), a?.diag(), b?.diag()].filter(Boolean).join('\n');
  const loggedIn = (d: JavaDriver | undefined, what: string) => waitFor(() => d!.find((e) => e.event === 'login' && e.code === 0), 30_000, `${what} login`, diag);
  const dataTo = (peer: WsPeer, fp: string) => peer.received.filter((p) => p.type === 2 && p.fp === fp);
  const acksTo = (peer: WsPeer, fp: string) => peer.received.filter((p) => p.type === 4 && p.dataContent === fp);
  /** The fp of the next message the driver sends (its `sending` event). */
  const sendFrom = async (d: JavaDriver, to: string, typeu: number, text: string): Promise<string> => {
    const before = d.events.length;
    d.command(`sendu ${to} auto ${typeu} ${text}`);
    const sending = await waitFor(() => d.events.slice(before).find((e) => e.event === 'sending'), 10_000, `${d.name} sending event`, diag);
    return sending.fp as string;
  };
  /**
   * A WebSocket peer's copies of one message: the application sees it once, because every MobileIMSDK
   * client drops a repeated fp. A second copy on the wire (a resend of a packet whose ack came late, or a
   * group message repeated by catch-up, which docs/groups.md allows) must be the same packet.
   */
  const onceAfterDedupe = (copies: Packet[], what: string) => {
    expect(copies.length, `${what}: no copy`).toBeGreaterThanOrEqual(1);
    for (const c of copies.slice(1)) expect(c, `${what}: a second copy that differs`).toEqual(copies[0]);
    if (copies.length > 1) console.info(`[interop] ${what}: ${copies.length} identical copies on the wire (dropped by fp)`);
  };
  const expectExtensions = (p: Packet | undefined, what: string) => {
    expect(typeof p?.seq === 'number' && p.seq > 0, `${what}: seq ${String(p?.seq)}\n${diag()}`).toBe(true);
    expect(typeof p?.sentAt === 'number' && Math.abs(p.sentAt - Date.now()) < 120_000, `${what}: sentAt ${String(p?.sentAt)}`).toBe(true);
  };

  beforeAll(async () => {
    if (tcp.unavailable && udp.unavailable) return;
    server = spawnStandalone();
    const target = await standaloneTarget(server, 'tcp');
    const udpTarget = await standaloneTarget(server, 'udp');
    if (!tcp.unavailable) {
      tcpCap = await TcpCapture.start(target);
      jt = new JavaDriver('java-tcp', tcp.requireClasspath(), tcpCap.via(target), jtUid, '5S');
    }
    if (!udp.unavailable) {
      udpCap = await UdpCapture.start(udpTarget);
      ju = new JavaDriver('java-udp', udp.requireClasspath(), udpCap.via(udpTarget), juUid, '3S');
    }
    a = new WsPeer(aUid, target.wsUrl);
    b = new WsPeer(bUid, target.wsUrl);
    await Promise.all([a.connect(), b.connect()]);
    // The group, through dispatch's admin API (loopback, no IM_ADMIN_TOKEN: no token needed).
    if (!target.dispatchUrl) throw new Error(`the ready line names no dispatch port\n${diag()}`);
    const res = await fetch(`${target.dispatchUrl}/admin/groups/${gid}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Interop', members: [jtUid, juUid, aUid, bUid] }),
    });
    if (res.status !== 200) throw new Error(`PUT /admin/groups/${gid} answered ${res.status}: ${await res.text()}`);
    await waitFor(() => a!.received.some((p) => p.type === 50) && b!.received.some((p) => p.type === 50), 10_000, 'WS logins', diag);
  });

  afterAll(async () => {
    if (process.env['SWITCHBOARD_INTEROP_DUMP']) console.log(diag());
    a?.close();
    b?.close();
    await Promise.all([jt?.quit(), ju?.quit()]);
    await Promise.all([tcpCap?.close(), udpCap?.close()]);
    await server?.stop(5_000);
  });

  /** (a) for one Java client behind its capture: WS -> Java and Java -> WS, with the extensions on the wire. */
  const extensionsRoundTrip = async (d: JavaDriver, cap: TcpCapture | UdpCapture, uid: string, label: string) => {
    await loggedIn(d, label);
    // WS -> Java: the packet the SDK received carries seq and sentAt; its callback shows the message; it acks.
    const fp = randomUUID();
    const text = `to ${label} ${runId} with seq <&> ünï`;
    a!.send({ bridge: false, type: 2, dataContent: text, from: aUid, to: uid, fp, QoS: true, typeu: 9, sm: -1 });
    const msg = await waitFor(() => d.find((e) => e.event === 'message' && e.fp === fp), 15_000, `${label} message callback for ${fp}`, diag);
    expect(msg, diag()).toMatchObject({ from: aUid, content: text, typeu: 9 });
    const wire = cap.seen('in', (p) => p.type === 2 && p.fp === fp)[0]?.packet;
    expect(wire, diag()).toMatchObject({ type: 2, from: aUid, to: uid, dataContent: text, QoS: true, typeu: 9 });
    expectExtensions(wire, `${label} received packet`);
    const javaAck = await waitFor(() => cap.seen('out', (p) => p.type === 4 && p.dataContent === fp)[0]?.packet, 10_000, `${label}'s ack on the wire`, diag);
    expect(javaAck, diag()).toMatchObject({ from: uid, to: aUid });
    const ackOnWs = await waitFor(() => acksTo(a!, fp)[0], 10_000, `the ack of ${fp} at WS`, diag);
    expect(ackOnWs, diag()).toMatchObject({ type: 4, from: uid, to: aUid });

    // Java -> WS: the ack the SDK received carries seq and sentAt (those of the WS copy); the SDK reports it acked as usual.
    const text2 = `from ${label} ${runId} <b>&="x'y"`;
    const fp2 = await sendFrom(d, aUid, 7, text2);
    const atWs = await waitFor(() => dataTo(a!, fp2)[0], 15_000, `WS delivery of ${fp2}`, diag);
    expect(atWs, diag()).toMatchObject({ from: uid, to: aUid, dataContent: text2, typeu: 7 });
    expectExtensions(atWs, `WS copy of ${label}'s message`);
    await waitFor(() => d.find((e) => e.event === 'acked' && e.fp === fp2), 15_000, `${label} acked event for ${fp2}`, diag);
    const ackWire = cap.seen('in', (p) => p.type === 4 && p.dataContent === fp2)[0]?.packet;
    expect(ackWire?.seq, `seq of the ack ${label} received\n${diag()}`).toBe(atWs.seq);
    expect(ackWire?.sentAt, `sentAt of the ack ${label} received\n${diag()}`).toBe(atWs.sentAt);

    onceChecks.push({
      what: `${label} extensions round trip`,
      check: () => {
        expect(d.count((e) => e.event === 'message' && e.fp === fp), `${label} message callbacks`).toBe(1);
        expect(acksTo(a!, fp), `acks of ${fp} at WS`).toHaveLength(1);
        onceAfterDedupe(dataTo(a!, fp2), `copies of ${fp2} at WS`);
        expect(d.count((e) => e.event === 'acked' && e.fp === fp2), `${label} acked events`).toBe(1);
        expect(d.count((e) => e.event === 'lost' || e.event === 'error'), `${label} lost/error events`).toBe(0);
      },
    });
  };

  it.skipIf(tcp.unavailable)(`(a) TCP: the Java client receives seq and sentAt on messages and acks, and parses, shows and acks them${tcp.skipNote}`, async () => {
    await extensionsRoundTrip(jt!, tcpCap!, jtUid, 'Java TCP');
  });

  it.skipIf(udp.unavailable)(`(a) UDP: the Java client receives seq and sentAt on messages and acks, and parses, shows and acks them${udp.skipNote}`, async () => {
    await extensionsRoundTrip(ju!, udpCap!, juUid, 'Java UDP');
  });

  it.skipIf(tcp.unavailable)(`(b) a group message reaches the Java TCP client as g:<gid>:<sender>; it acks; the sender's ack comes from the server once${tcp.skipNote}`, async () => {
    await loggedIn(jt, 'Java TCP');
    const fp = randomUUID();
    const text = `team news ${runId} — ünï <&>`;
    a!.send({ bridge: false, type: 2, dataContent: text, from: aUid, to: group, fp, QoS: true, typeu: 7, sm: -1 });
    const ack = await waitFor(() => acksTo(a!, fp)[0], 10_000, `the server's ack of group message ${fp}`, diag);
    // The ack comes from the group's address: the server acks once it is in history, not a member.
    expect(ack, diag()).toMatchObject({ type: 4, from: group, to: aUid });
    expect(ack.seq, diag()).toBeGreaterThan(0);

    const msg = await waitFor(() => jt!.find((e) => e.event === 'message' && e.fp === fp), 15_000, `Java TCP callback for ${fp}`, diag);
    expect(msg, diag()).toMatchObject({ from: `${group}:${aUid}`, content: text, typeu: 7 });
    const wire = tcpCap!.seen('in', (p) => p.type === 2 && p.fp === fp)[0]?.packet;
    expect(wire, diag()).toMatchObject({ from: `${group}:${aUid}`, to: group, dataContent: text, QoS: true, seq: ack.seq });
    expectExtensions(wire, 'group packet at the Java TCP client');
    // The SDK acks it like any QoS message: from/to swapped, so from the group's address to g:<gid>:<sender>.
    const javaAck = await waitFor(() => tcpCap!.seen('out', (p) => p.type === 4 && p.dataContent === fp)[0]?.packet, 10_000, 'the Java ack of the group message', diag);
    expect(javaAck, diag()).toMatchObject({ from: group, to: `${group}:${aUid}` });
    const atB = await waitFor(() => dataTo(b!, fp)[0], 10_000, `WS B copy of ${fp}`, diag);
    expect(atB, diag()).toMatchObject({ from: `${group}:${aUid}`, to: group, dataContent: text, seq: ack.seq });
    if (ju) {
      const udpMsg = await waitFor(() => ju!.find((e) => e.event === 'message' && e.fp === fp), 15_000, `Java UDP callback for ${fp}`, diag);
      expect(udpMsg, diag()).toMatchObject({ from: `${group}:${aUid}`, content: text, typeu: 7 });
    }

    onceChecks.push({
      what: 'group message to Java',
      check: () => {
        expect(acksTo(a!, fp), 'acks of the group message at its sender').toHaveLength(1);
        expect(dataTo(a!, fp), 'the sender does not get its own group message').toHaveLength(0);
        expect(jt!.count((e) => e.event === 'message' && e.fp === fp), 'Java TCP callbacks').toBe(1);
        onceAfterDedupe(dataTo(b!, fp), 'copies of the group message at WS B');
        if (ju) expect(ju.count((e) => e.event === 'message' && e.fp === fp), 'Java UDP callbacks').toBe(1);
      },
    });
  });

  it.skipIf(tcp.unavailable)(`(b) the Java TCP client sends to g:<gid>: every other member receives it, the Java sender is acked once${tcp.skipNote}`, async () => {
    await loggedIn(jt, 'Java TCP');
    const text = `from Java to the group ${runId} <b>&="x'y" ✓`;
    const fp = await sendFrom(jt!, group, 7, text);
    await waitFor(() => jt!.find((e) => e.event === 'acked' && e.fp === fp), 15_000, `Java acked event for ${fp}`, diag);
    const ackWire = tcpCap!.seen('in', (p) => p.type === 4 && p.dataContent === fp)[0]?.packet;
    expect(ackWire, diag()).toMatchObject({ from: group, to: jtUid });
    expect(ackWire?.seq, diag()).toBeGreaterThan(0);
    expect(typeof ackWire?.sentAt, diag()).toBe('number');
    const shape = { type: 2, from: `${group}:${jtUid}`, to: group, dataContent: text, QoS: true, typeu: 7, seq: ackWire!.seq, sentAt: ackWire!.sentAt };
    const atA = await waitFor(() => dataTo(a!, fp)[0], 15_000, `WS A copy of ${fp}`, diag);
    const atB = await waitFor(() => dataTo(b!, fp)[0], 15_000, `WS B copy of ${fp}`, diag);
    expect(atA, diag()).toMatchObject(shape);
    expect(atB, diag()).toMatchObject(shape);
    if (ju) {
      const udpMsg = await waitFor(() => ju!.find((e) => e.event === 'message' && e.fp === fp), 15_000, `Java UDP callback for ${fp}`, diag);
      expect(udpMsg, diag()).toMatchObject({ from: `${group}:${jtUid}`, content: text, typeu: 7 });
      expectExtensions(udpCap!.seen('in', (p) => p.type === 2 && p.fp === fp)[0]?.packet, 'group packet at the Java UDP client');
    }
    onceChecks.push({
      what: 'group message from Java',
      check: () => {
        expect(jt!.count((e: Json) => e.event === 'acked' && e.fp === fp), 'Java acked events').toBe(1);
        expect(jt!.count((e: Json) => e.event === 'message' && e.fp === fp), 'the Java sender does not get its own message').toBe(0);
        onceAfterDedupe(dataTo(a!, fp), 'copies of the Java group message at WS A');
        onceAfterDedupe(dataTo(b!, fp), 'copies of the Java group message at WS B');
        if (ju) expect(ju.count((e) => e.event === 'message' && e.fp === fp), 'Java UDP callbacks').toBe(1);
        expect(jt!.count((e) => e.event === 'lost' || e.event === 'error'), 'Java lost/error events').toBe(0);
      },
    });
  });

  it.skipIf(tcp.unavailable && udp.unavailable)(`nothing above arrived twice: no second copy, callback or ack within the server's resend interval${tcp.skipNote}`, async () => {
    expect(onceChecks.length, 'the checks above ran').toBeGreaterThan(0);
    // An absence can only be observed over time: the gateway resends an unacked QoS packet after
    // IM_CUSTODY_RESEND_MS (2 s), so one window covers every check above.
    await sleep(RESEND_WINDOW_MS);
    for (const c of onceChecks) c.check();
  });
});
