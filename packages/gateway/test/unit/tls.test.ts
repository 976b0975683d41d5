// TLS on the gateway's listeners with a certificate made by the test: wss:// and MobileIMSDK TCP
// framing inside TLS, the node record telling dispatch so, the public WebSocket URL override, and a
// new certificate taken by new connections without a restart (TlsCredentials, watchTlsFiles).
import { renameSync, writeFileSync, copyFileSync } from 'node:fs';
import * as path from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { TlsCredentials, TlsFilesError, readTlsPair, silentLogger, waitFor, watchTlsFiles, type NodeId } from '@switchboard/core';
import { MemoryNodeRegistry } from '@switchboard/cluster';
import { encodeTcpFrame, PacketType, TcpFrameDecoder } from '@switchboard/protocol';
import { createGateway, type Gateway } from '@switchboard/gateway';
import { makeSelfSignedCert, type TestCert } from '@switchboard/testkit';
import { WebSocket } from 'ws';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function cert(opts: { cn?: string; dir?: string; name?: string } = {}): TestCert {
  const c = makeSelfSignedCert(opts);
  if (!opts.dir) cleanups.push(() => c.remove());
  return c;
}

/** The certificate a TLS server presents on `port`, checked against `ca`. */
function presented(port: number, ca: Buffer): Promise<{ cn: string; socket: TLSSocket }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      resolve({ cn: socket.getPeerCertificate().subject.CN as string, socket });
    });
    socket.once('error', reject);
  });
}

const loginPacket = (uid: string) =>
  JSON.stringify({ bridge: false, type: PacketType.LOGIN, dataContent: JSON.stringify({ loginUserId: uid, loginToken: 't', extra: null, firstLoginTime: 0 }), from: uid, to: '0', fp: null, QoS: false, typeu: -1 });

/** A MobileIMSDK WebSocket login over wss:// trusting only `ca`; resolves with the login response's body and the open socket. */
function wssLogin(port: number, ca: Buffer, uid: string): Promise<{ code: number; ws: WebSocket }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://localhost:${port}/websocket`, { ca });
    ws.once('open', () => ws.send(loginPacket(uid)));
    ws.on('message', (data: Buffer) => {
      const p = JSON.parse(data.toString('utf8')) as { type: number; dataContent: string };
      if (p.type === PacketType.LOGIN_RESPONSE) resolve({ ...(JSON.parse(p.dataContent) as { code: number }), ws });
    });
    ws.once('error', reject);
  });
}

/** A MobileIMSDK TCP login (type 0) over TLS; resolves with the login response's body. */
function tcpLoginOverTls(port: number, ca: Buffer, uid: string): Promise<{ code: number }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      socket.write(encodeTcpFrame(loginPacket(uid)));
    });
    const decoder = new TcpFrameDecoder(6144);
    socket.on('data', (chunk: Buffer) => {
      for (const body of decoder.push(chunk)) {
        const p = JSON.parse(body.toString('utf8')) as { type: number; dataContent: string };
        if (p.type === PacketType.LOGIN_RESPONSE) {
          socket.destroy();
          resolve(JSON.parse(p.dataContent) as { code: number });
        }
      }
    });
    socket.once('error', reject);
  });
}

async function gateway(opts: Parameters<typeof createGateway>[0]): Promise<{ gw: Gateway; ports: { ws: number; tcp: number } }> {
  const gw = createGateway({ log: silentLogger(), wsPort: 0, tcpPort: 0, ...opts });
  cleanups.push(() => gw.close());
  const ports = await gw.start();
  return { gw, ports };
}

describe('TlsCredentials and readTlsPair', () => {
  it('reads a matching pair; refuses unreadable files, a key of another certificate, and bad updates (keeping the current pair)', () => {
    const a = cert({ cn: 'a' });
    const b = cert({ cn: 'b' });
    const creds = new TlsCredentials(readTlsPair(a.certPath, a.keyPath));
    expect(() => readTlsPair(path.join(a.dir, 'missing.pem'), a.keyPath)).toThrow(TlsFilesError);
    expect(() => readTlsPair(path.join(a.dir, 'missing.pem'), a.keyPath)).toThrow(/cannot read .*missing\.pem/);
    expect(() => readTlsPair(a.certPath, b.keyPath)).toThrow(/not a matching PEM certificate and private key/);
    const seen: string[] = [];
    creds.onChange((p) => seen.push(p.cert.toString().slice(0, 40)));
    expect(() => creds.update({ cert: a.cert, key: b.key })).toThrow(TlsFilesError);
    expect(creds.current.cert).toEqual(a.cert);
    creds.update({ cert: b.cert, key: b.key });
    expect(creds.current.cert).toEqual(b.cert);
    expect(seen).toHaveLength(1);
  });

  it('watchTlsFiles: a pair renamed into place is loaded; a half-written one is logged and skipped until it is whole', async () => {
    const live = cert({ cn: 'first' });
    const next = cert({ cn: 'second' });
    const creds = new TlsCredentials(readTlsPair(live.certPath, live.keyPath));
    const stop = watchTlsFiles(creds, { cert: live.certPath, key: live.keyPath }, { intervalMs: 20, log: silentLogger() });
    cleanups.push(stop);
    // A new certificate without its key yet: not loaded.
    writeFileSync(live.certPath + '.tmp', next.cert);
    renameSync(live.certPath + '.tmp', live.certPath);
    await new Promise((r) => setTimeout(r, 100));
    expect(creds.current.cert).toEqual(live.cert);
    // Then the key: the pair loads.
    copyFileSync(next.keyPath, live.keyPath + '.tmp');
    renameSync(live.keyPath + '.tmp', live.keyPath);
    await waitFor(() => creds.current.cert.equals(next.cert), { timeoutMs: 5_000, what: 'the new pair loaded' });
  });
});

describe('gateway listeners with TLS', () => {
  it('wss:// and TLS on TCP with the certificate; the node record says tls; a new certificate goes to new connections', async () => {
    const first = cert({ cn: 'first' });
    const second = cert({ cn: 'second' });
    const creds = new TlsCredentials({ cert: first.cert, key: first.key });
    const nodes = new MemoryNodeRegistry();
    const { gw, ports } = await gateway({ tls: creds, nodes });
    // WebSocket over TLS, certificate checked (the client trusts the test's certificate only).
    const login = await wssLogin(ports.ws, first.cert, 'tls-alice');
    cleanups.push(() => login.ws.terminate());
    expect(login.code).toBe(0);
    // A client that does not trust the certificate cannot connect.
    await expect(wssLogin(ports.ws, second.cert, 'tls-eve')).rejects.toThrow(/self.signed|unable to verify|certificate/i);
    // MobileIMSDK framing inside TLS.
    expect(await tcpLoginOverTls(ports.tcp, first.cert, 'tls-bob')).toEqual(expect.objectContaining({ code: 0 }));
    const rec = await waitFor(async () => (await nodes.get(gw.nodeId as NodeId)) ?? undefined, { what: 'node record' });
    expect(rec.tls).toBe(true);
    expect(rec.wsUrl).toBeUndefined();
    // Rotate: open connections keep going, new ones see the new certificate.
    creds.update({ cert: second.cert, key: second.key });
    const ws2 = await presented(ports.ws, second.cert);
    expect(ws2.cn).toBe('second');
    ws2.socket.destroy();
    const tcp2 = await presented(ports.tcp, second.cert);
    expect(tcp2.cn).toBe('second');
    tcp2.socket.destroy();
    expect(login.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('IM_PUBLIC_WS_URL: the node record carries the public URL with {port} and {node} filled in', async () => {
    const nodes = new MemoryNodeRegistry();
    const { gw, ports } = await gateway({ nodes, publicWsUrl: 'wss://im.example.com/gw/{node}/{port}/websocket' });
    const rec = await waitFor(async () => (await nodes.get(gw.nodeId as NodeId)) ?? undefined, { what: 'node record' });
    expect(rec.wsUrl).toBe(`wss://im.example.com/gw/${gw.nodeId}/${ports.ws}/websocket`);
    expect(rec.tls).toBeUndefined();
  });
});
