// TLS end to end with a certificate made by the test: `switchboard standalone` with IM_TLS_CERT and
// IM_TLS_KEY serves HTTPS and wss:// and hands clients wss:// URLs and a TLS TCP endpoint; the SDK
// (trusting the certificate as a private CA) and the web page in Chromium work over it; a new
// certificate renamed into place is served without a restart; bad TLS settings exit 2 with one line.
import { copyFileSync, renameSync } from 'node:fs';
import { get } from 'node:https';
import * as path from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@switchboard/core';
import { makeSelfSignedCert, ProcessGroup, repoRoot, startNode, type ReadyNodeProcess, type TestCert } from '@switchboard/testkit';
import { ChatPage, ensureWebBuild, launchChromium } from '../web/browser.js';

const PORTS_ANY = { IM_WS_PORT: '0', IM_TCP_PORT: '0', IM_UDP_PORT: '0', IM_ADMIN_PORT: '0', IM_DISPATCH_PORT: '0' };

/** GET over HTTPS trusting only `ca`: status, JSON body and the certificate's CN. */
function httpsJson(url: string, ca: Buffer): Promise<{ status: number; body: unknown; cn: string }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { ca, agent: false }, (res) => {
      const cn = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().subject.CN as string;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text || 'null'), cn }));
    });
    req.once('error', reject);
  });
}

/** The CN of the certificate a TLS port presents now. */
function presentedCn(port: number, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      resolve(s.getPeerCertificate().subject.CN as string);
      s.destroy();
    });
    s.once('error', reject);
  });
}

interface DispatchAnswer {
  ws: string;
  tcp: { host: string; port: number; tls: boolean };
}

describe('switchboard standalone with TLS', () => {
  const group = new ProcessGroup();
  let cert: TestCert;
  let next: TestCert;
  let node: ReadyNodeProcess;
  let ports: { ws: number; tcp: number; dispatch: number };
  let base: string;

  beforeAll(async () => {
    cert = makeSelfSignedCert({ cn: 'sb-first' });
    next = makeSelfSignedCert({ cn: 'sb-second' });
    node = await group.spawn({
      args: ['standalone'],
      env: { ...PORTS_ANY, IM_AUTH: 'none', IM_LOG_LEVEL: 'warn', IM_TLS_CERT: cert.certPath, IM_TLS_KEY: cert.keyPath, IM_TLS_RELOAD_INTERVAL_MS: '200' },
    });
    ports = node.ready['ports'] as typeof ports;
    base = `https://localhost:${ports.dispatch}`;
  });
  afterAll(async () => {
    await group.killAll();
    cert?.remove();
    next?.remove();
  });

  it('dispatch answers over HTTPS with a wss:// URL and a TLS TCP endpoint', async () => {
    const r = await httpsJson(`${base}/api/dispatch?uid=alice`, cert.cert);
    expect(r.status).toBe(200);
    expect(r.cn).toBe('sb-first');
    expect(r.body).toMatchObject({ ws: `wss://127.0.0.1:${ports.ws}/websocket`, tcp: { host: '127.0.0.1', port: ports.tcp, tls: true } });
    expect(await presentedCn(ports.tcp, cert.cert)).toBe('sb-first');
  });

  it('the SDK (Node, trusting the certificate as a private CA) finds the gateway over HTTPS and talks over wss://', async () => {
    const proc = startNode({
      script: path.join(repoRoot(), 'test', 'standalone', 'tls-sdk-client.ts'),
      args: [`https://127.0.0.1:${ports.dispatch}`],
      env: { NODE_EXTRA_CA_CERTS: cert.certPath },
      group,
    });
    const line = await proc.waitForLine((l) => l.json?.['event'] === 'done' || l.json?.['event'] === 'failed', { timeoutMs: 60_000 });
    expect(line.json, proc.output()).toMatchObject({ event: 'done', acked: true, got: { from: 'tls-alice', content: 'hello over wss' } });
    expect((line.json as { history: string[] }).history).toContain('hello over wss');
    expect((await proc.waitForExit(20_000)).code).toBe(0);
  });

  it('the web page, loaded over HTTPS, chats over wss://', async () => {
    ensureWebBuild();
    const browser = await launchChromium();
    try {
      // The test's certificate is not in Chromium's store: this context takes it as a trusted one would be.
      const open = async (uid: string) => {
        const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 960, height: 620 } });
        const p = new ChatPage(await ctx.newPage(), uid);
        await p.page.goto(`${base}/`);
        await p.login();
        return p;
      };
      const alice = await open('web-tls-alice');
      const bob = await open('web-tls-bob');
      expect(await alice.page.evaluate(() => location.protocol)).toBe('https:');
      await alice.openPeer('web-tls-bob');
      await alice.send('hi over wss');
      await alice.outgoing('hi over wss', ['delivered', 'read'], 15_000);
      await bob.conversation('web-tls-alice').click();
      await bob.incoming('hi over wss');
      expect([...alice.errors, ...bob.errors]).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it('a new certificate renamed into place is served to new connections without a restart', async () => {
    copyFileSync(next.keyPath, cert.keyPath + '.new');
    copyFileSync(next.certPath, cert.certPath + '.new');
    renameSync(cert.keyPath + '.new', cert.keyPath);
    renameSync(cert.certPath + '.new', cert.certPath);
    await waitFor(async () => (await presentedCn(ports.dispatch, next.cert).catch(() => '')) === 'sb-second', { timeoutMs: 10_000, what: 'dispatch on the new certificate' });
    expect(await presentedCn(ports.ws, next.cert)).toBe('sb-second');
    expect(await presentedCn(ports.tcp, next.cert)).toBe('sb-second');
    expect(node.exitInfo).toBeNull();
  });
});

describe('bad TLS settings', () => {
  it.each([
    [{ IM_TLS_CERT: '/nonexistent/cert.pem' }, /IM_TLS_KEY: required with IM_TLS_CERT/],
    [{ IM_TLS_CERT: '/nonexistent/cert.pem', IM_TLS_KEY: '/nonexistent/key.pem' }, /IM_TLS_CERT \/ IM_TLS_KEY: cannot read \/nonexistent\/cert\.pem/],
  ])('%o exits 2 with one configuration message', async (env, pattern) => {
    const proc = startNode({ args: ['standalone'], env: { ...PORTS_ANY, IM_LOG_LEVEL: 'warn', ...env } });
    const exit = await proc.waitForExit(30_000);
    const err = proc
      .lines()
      .filter((l) => l.stream === 'stderr')
      .map((l) => l.text)
      .join('\n');
    expect(exit.code, proc.output()).toBe(2);
    expect(err.match(/invalid configuration/g)).toHaveLength(1);
    expect(err).toMatch(pattern);
    expect(err).not.toMatch(/\n\s+at /);
  });

  it('a certificate with the key of another exits 2 naming both files', async () => {
    const a = makeSelfSignedCert();
    const b = makeSelfSignedCert();
    try {
      const proc = startNode({ args: ['standalone'], env: { ...PORTS_ANY, IM_LOG_LEVEL: 'warn', IM_TLS_CERT: a.certPath, IM_TLS_KEY: b.keyPath } });
      expect((await proc.waitForExit(30_000)).code).toBe(2);
      expect(proc.output()).toMatch(/not a matching PEM certificate and private key/);
    } finally {
      a.remove();
      b.remove();
    }
  });
});
