#!/usr/bin/env node
// Container health check for every Switchboard role (the image's HEALTHCHECK; slim images have no curl).
//
//   node healthcheck.mjs [ready-file]
//
// Exits 0 when the role is ready and its HTTP port answers `GET /healthz` with 200, else 1 (Docker: healthy /
// unhealthy). The role writes its ready line to IM_READY_FILE (the image sets /tmp/switchboard-ready.json) once it
// is ready and removes it at exit, so this check reads the role and the ports the process really bound, port 0
// included (the scaled gateways of docker-compose.yml bind free ports):
//   gateway     → ports.admin
//   dispatch    → ports.dispatch
//   standalone  → both
//   cluster     → ports.dispatch (its children's ports are their own)
// No file: the role is still starting, or the file cannot be written (the process says why on stderr): unhealthy.
// Docker runs the check with the container's environment, so IM_READY_FILE, IM_BIND_HOST and IM_TLS_CERT /
// IM_TLS_KEY are the role's own.
//
// TLS: with IM_TLS_CERT and IM_TLS_KEY both set (as config.ts reads them: a blank value is unset), the dispatch
// port serves HTTPS (standalone and cluster included: the cluster's dispatch child inherits the variables), so it
// is asked over HTTPS; the admin port stays plain HTTP with TLS on (docs/operations.md "TLS"). The ready line does
// not say which listeners serve TLS, so the check decides from the same variables the role decided from.
import { readFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';

const DEADLINE_MS = 4_000;

const fail = (msg) => {
  process.stdout.write(`unhealthy: ${msg}\n`);
  process.exit(1);
};
setTimeout(() => fail(`no answer within ${DEADLINE_MS} ms`), DEADLINE_MS).unref();

/** Address to reach a listener bound to `bind`. */
const reach = (bind) => (!bind || bind === '0.0.0.0' || bind === '::' || bind === '[::]' ? '127.0.0.1' : bind.includes(':') ? `[${bind}]` : bind);

/** IM_TLS_CERT and IM_TLS_KEY both set, non-blank: the role serves HTTPS on its dispatch port (config.ts `tls`). */
const set = (v) => typeof v === 'string' && v.trim() !== '';
const tlsOn = set(process.env.IM_TLS_CERT) && set(process.env.IM_TLS_KEY);
/** The scheme each ready-file port speaks: only dispatch's listener serves TLS; admin is plain HTTP either way. */
const schemeOf = (name) => (tlsOn && name === 'dispatch' ? 'https' : 'http');

/** Resolve true when `GET /healthz` answers 200 (over HTTPS when `scheme` is 'https'). */
function healthz(scheme, host, port) {
  const opts = { host: host.replace(/^\[|\]$/g, ''), port, path: '/healthz', timeout: DEADLINE_MS };
  // The certificate is not checked: this asks the container's own process on its own address, over loopback by
  // default, while the certificate names the public host (IM_PUBLIC_HOST) and may come from a CA this image does
  // not trust (a private one, or self-signed). What the check proves is that the listener completes a TLS
  // handshake and answers 200; clients verify the certificate themselves.
  const get = scheme === 'https' ? (o, cb) => httpsGet({ ...o, rejectUnauthorized: false, agent: false }, cb) : httpGet;
  return new Promise((resolve) => {
    const req = get(opts, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

const file = process.argv[2] || process.env.IM_READY_FILE;
if (!file) fail('IM_READY_FILE is not set, so there is no ready file to read (the image sets it; was it cleared?)');
let ready;
try {
  ready = JSON.parse(readFileSync(file, 'utf8'));
} catch (err) {
  fail(err.code === 'ENOENT' ? `not ready yet: no ${file}` : `cannot read ${file}: ${err.message}`);
}
const ports = ready?.ports ?? {};
const wanted = { gateway: ['admin'], dispatch: ['dispatch'], standalone: ['admin', 'dispatch'], cluster: ['dispatch'] }[ready?.role];
if (!wanted) fail(`${file} names no known role: ${JSON.stringify(ready).slice(0, 200)}`);
const host = reach(process.env.IM_BIND_HOST);
for (const name of wanted) {
  const port = ports[name];
  if (!Number.isInteger(port) || port <= 0) fail(`${file} has no ${name} port`);
  const scheme = schemeOf(name);
  if (!(await healthz(scheme, host, port))) fail(`${ready.role}: GET ${scheme}://${host}:${port}/healthz did not answer 200`);
}
process.stdout.write(`healthy: ${ready.role} /healthz on ${wanted.map((n) => `${schemeOf(n) === 'https' ? 'https://' : ''}${host}:${ports[n]}`).join(', ')}\n`);
process.exit(0);
