// Dispatch and TLS: HTTPS with a certificate made by the test (switched to a new one without a
// restart), and the answer naming wss://, a TLS TCP endpoint, or a gateway's public URL override.
import { get } from 'node:https';
import { afterAll, describe, expect, it } from 'vitest';
import { TlsCredentials, silentLogger, type NodeId } from '@switchboard/core';
import { MemoryNodeRegistry, MemoryOfflineStore, MemoryRouteStore, type NodeRecord } from '@switchboard/cluster';
import { buildDispatch } from '@switchboard/dispatch';
import { adminGuard } from '@switchboard/gateway';
import { makeSelfSignedCert } from '@switchboard/testkit';

const first = makeSelfSignedCert({ cn: 'dispatch-first' });
const second = makeSelfSignedCert({ cn: 'dispatch-second' });
afterAll(() => {
  first.remove();
  second.remove();
});

function record(id: string, extra: Partial<NodeRecord> = {}): Omit<NodeRecord, 'reportedAt'> {
  return { id: id as NodeId, host: 'gw.example.com', ports: { ws: 3001, tcp: 8902, udp: 7902, admin: 9101 }, state: 'active', connections: 0, loopLagMs: 0, cpu: 0, msgRate: 0, startedAt: 1, ...extra };
}

async function answerFor(rec: Omit<NodeRecord, 'reportedAt'>) {
  const nodes = new MemoryNodeRegistry();
  await nodes.report(rec, 60_000);
  const { app } = buildDispatch({ nodes, routes: new MemoryRouteStore(), offline: new MemoryOfflineStore(), log: silentLogger(), senseMode: '15S', guard: adminGuard(undefined) });
  const body = (await app.inject({ url: '/api/dispatch?uid=alice' })).json() as { ws: string; tcp: { host: string; port: number; tls: boolean } };
  await app.close();
  return body;
}

/** GET `path` over HTTPS trusting only `ca`: status, body and the certificate's CN. */
function httpsGet(port: number, path: string, ca: Buffer): Promise<{ status: number; body: string; cn: string }> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path, ca, servername: 'localhost', agent: false }, (res) => {
      const cn = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().subject.CN as string;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, cn }));
    });
    req.once('error', reject);
  });
}

describe('dispatch answers for TLS gateways', () => {
  it('wss:// and tcp.tls for a gateway serving TLS; ws:// and the unchanged {host, port} for a plain one; the public URL when the gateway set one', async () => {
    expect(await answerFor(record('gw-tls', { tls: true }))).toMatchObject({ ws: 'wss://gw.example.com:3001/websocket', tcp: { host: 'gw.example.com', port: 8902, tls: true } });
    const plain = (await answerFor(record('gw-plain'))) as { ws: string; tcp: unknown };
    expect(plain.ws).toBe('ws://gw.example.com:3001/websocket');
    expect(plain.tcp).toEqual({ host: 'gw.example.com', port: 8902 });
    expect(await answerFor(record('gw-proxied', { wsUrl: 'wss://im.example.com/gw-proxied/websocket' }))).toMatchObject({ ws: 'wss://im.example.com/gw-proxied/websocket' });
  });
});

describe('dispatch over HTTPS', () => {
  it('serves HTTPS with the certificate and switches to a new one without a restart', async () => {
    const creds = new TlsCredentials({ cert: first.cert, key: first.key });
    const nodes = new MemoryNodeRegistry();
    await nodes.report(record('gw-1', { tls: true, host: '127.0.0.1' }), 60_000);
    const { app } = buildDispatch({ nodes, routes: new MemoryRouteStore(), offline: new MemoryOfflineStore(), log: silentLogger(), senseMode: '15S', guard: adminGuard(undefined), tls: creds });
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const port = (app.server.address() as { port: number }).port;
      const a = await httpsGet(port, '/api/dispatch?uid=alice', first.cert);
      expect(a.status).toBe(200);
      expect(a.cn).toBe('dispatch-first');
      expect(JSON.parse(a.body)).toMatchObject({ ws: 'wss://127.0.0.1:3001/websocket', tcp: { tls: true } });
      await expect(httpsGet(port, '/healthz', second.cert)).rejects.toThrow();
      creds.update({ cert: second.cert, key: second.key });
      const b = await httpsGet(port, '/healthz', second.cert);
      expect(b).toMatchObject({ status: 200, cn: 'dispatch-second' });
    } finally {
      await app.close();
    }
  });
});
