// deploy/docker/healthcheck.mjs (the image's HEALTHCHECK) against real `switchboard standalone` processes, with and
// without TLS: with IM_TLS_CERT / IM_TLS_KEY the dispatch port serves HTTPS (its certificate names the public host and
// is signed by a CA the container does not trust, here a self-signed one), the admin port stays plain HTTP, and the
// check must still say healthy. A port that does not answer, or answers /healthz with something other than 200, is
// unhealthy over either scheme. test/deploy/compose.test.ts runs the same script from the image tree, plain HTTP only.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@switchboard/core';
import { freePort, makeSelfSignedCert, ProcessGroup, repoRoot, type ReadyNodeProcess, type TestCert } from '@switchboard/testkit';

const SCRIPT = path.join(repoRoot(), 'deploy', 'docker', 'healthcheck.mjs');
const PORTS_ANY = { IM_WS_PORT: '0', IM_TCP_PORT: '0', IM_UDP_PORT: '0', IM_ADMIN_PORT: '0', IM_DISPATCH_PORT: '0' };

/** Run the health check as Docker does (`node healthcheck.mjs` with the container's environment, nothing else). */
function runCheck(envs: Record<string, string>): Promise<{ code: number; out: string }> {
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: tmpdir(), ...envs };
  return new Promise((resolve) => {
    execFile(process.execPath, [SCRIPT], { env, timeout: 15_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, out: stdout + stderr });
    });
  });
}

/** A server answering every request with `status`, on a free loopback port. */
async function answering(status: number, tls?: TestCert): Promise<{ port: number; close: () => Promise<void> }> {
  const handler = (_req: unknown, res: import('node:http').ServerResponse) => {
    res.statusCode = status;
    res.end('{}');
  };
  const srv: Server = tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, handler) : createHttpServer(handler);
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return {
    port: (srv.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => srv.close(() => resolve())),
  };
}

describe('deploy/docker/healthcheck.mjs against a real standalone', () => {
  const group = new ProcessGroup();
  let work = '';
  let cert: TestCert;
  /** What each container is given: the role and its health check see the same variables. */
  let plainEnv: Record<string, string>;
  let tlsEnv: Record<string, string>;
  let plain: ReadyNodeProcess;
  let secure: ReadyNodeProcess;
  const portsOf = (p: ReadyNodeProcess) => p.ready['ports'] as { admin: number; dispatch: number };

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'sb-healthcheck-'));
    // A certificate for the public name only (not the loopback address the check dials), from an untrusted CA.
    cert = makeSelfSignedCert({ cn: 'im.example.com', dir: work });
    const common = { ...PORTS_ANY, IM_BIND_HOST: '127.0.0.1', IM_AUTH: 'none', IM_LOG_LEVEL: 'warn' };
    plainEnv = { ...common, IM_READY_FILE: path.join(work, 'plain.ready.json') };
    tlsEnv = { ...common, IM_READY_FILE: path.join(work, 'tls.ready.json'), IM_TLS_CERT: cert.certPath, IM_TLS_KEY: cert.keyPath };
    // The variables a developer's shell may carry must not decide for the plain one.
    const noTls = { IM_TLS_CERT: undefined, IM_TLS_KEY: undefined };
    [plain, secure] = await Promise.all([
      group.spawn({ args: ['standalone'], name: 'standalone plain', env: { ...noTls, ...plainEnv } }),
      group.spawn({ args: ['standalone'], name: 'standalone tls', env: tlsEnv }),
    ]);
    // The ready file is written right after the ready line.
    for (const f of [plainEnv.IM_READY_FILE!, tlsEnv.IM_READY_FILE!]) {
      await waitFor(() => (existsSync(f) ? true : null), { timeoutMs: 5_000, what: `${f} written` });
    }
  });

  afterAll(async () => {
    await group.killAll();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('plain HTTP: healthy, both ports named as before', async () => {
    const { admin, dispatch } = portsOf(plain);
    const r = await runCheck(plainEnv);
    expect(r, r.out).toEqual({ code: 0, out: `healthy: standalone /healthz on 127.0.0.1:${admin}, 127.0.0.1:${dispatch}\n` });
  });

  it('TLS on: dispatch is asked over HTTPS (certificate for another name, untrusted CA), admin over plain HTTP: healthy', async () => {
    const { admin, dispatch } = portsOf(secure);
    const r = await runCheck(tlsEnv);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toBe(`healthy: standalone /healthz on 127.0.0.1:${admin}, https://127.0.0.1:${dispatch}\n`);
  });

  it('TLS on but the check not told (the old behaviour): plain HTTP to the HTTPS port is unhealthy', async () => {
    const { dispatch } = portsOf(secure);
    const r = await runCheck({ ...plainEnv, IM_READY_FILE: tlsEnv.IM_READY_FILE! });
    expect(r.code, r.out).toBe(1);
    expect(r.out).toBe(`unhealthy: standalone: GET http://127.0.0.1:${dispatch}/healthz did not answer 200\n`);
  });

  it('blank IM_TLS_CERT / IM_TLS_KEY count as unset, as for the role', async () => {
    const r = await runCheck({ ...plainEnv, IM_TLS_CERT: ' ', IM_TLS_KEY: '' });
    expect(r.code, r.out).toBe(0);
    expect(r.out).not.toContain('https://');
  });

  it('a port that does not answer: unhealthy, over either scheme', async () => {
    const [admin, dispatch] = await Promise.all([freePort(), freePort()]);
    const dead = path.join(work, 'dead.ready.json');
    writeFileSync(dead, JSON.stringify({ event: 'ready', role: 'dispatch', ports: { dispatch } }));
    for (const envs of [plainEnv, tlsEnv]) {
      const r = await runCheck({ ...envs, IM_READY_FILE: dead });
      expect(r.code, r.out).toBe(1);
      expect(r.out).toMatch(new RegExp(`^unhealthy: dispatch: GET https?://127\\.0\\.0\\.1:${dispatch}/healthz did not answer 200\\n$`));
    }
    // Standalone: the admin port is asked first, over plain HTTP with TLS on too.
    writeFileSync(dead, JSON.stringify({ event: 'ready', role: 'standalone', ports: { admin, dispatch: portsOf(secure).dispatch } }));
    const r = await runCheck({ ...tlsEnv, IM_READY_FILE: dead });
    expect(r, r.out).toEqual({ code: 1, out: `unhealthy: standalone: GET http://127.0.0.1:${admin}/healthz did not answer 200\n` });
  });

  it('a listener answering /healthz with 503: unhealthy, over HTTP and over HTTPS', async () => {
    const file = path.join(work, 'busy.ready.json');
    for (const [envs, tls, scheme] of [
      [plainEnv, undefined, 'http'],
      [tlsEnv, cert, 'https'],
    ] as const) {
      const srv = await answering(503, tls);
      try {
        writeFileSync(file, JSON.stringify({ event: 'ready', role: 'dispatch', ports: { dispatch: srv.port } }));
        const r = await runCheck({ ...envs, IM_READY_FILE: file });
        expect(r, r.out).toEqual({ code: 1, out: `unhealthy: dispatch: GET ${scheme}://127.0.0.1:${srv.port}/healthz did not answer 200\n` });
      } finally {
        await srv.close();
      }
    }
    // The same HTTPS server answering 200 is healthy: what failed above was the status, not the handshake.
    const ok = await answering(200, cert);
    try {
      writeFileSync(file, JSON.stringify({ event: 'ready', role: 'cluster', ports: { dispatch: ok.port } }));
      const r = await runCheck({ ...tlsEnv, IM_READY_FILE: file });
      expect(r, r.out).toEqual({ code: 0, out: `healthy: cluster /healthz on https://127.0.0.1:${ok.port}\n` });
    } finally {
      await ok.close();
    }
  });

  it('the server gone (its ready file removed at exit): unhealthy', async () => {
    await secure.stop();
    expect(existsSync(tlsEnv.IM_READY_FILE!), 'removed at exit').toBe(false);
    const r = await runCheck(tlsEnv);
    expect(r.code, r.out).toBe(1);
    expect(r.out).toMatch(/^unhealthy: not ready yet/);
  });
});
