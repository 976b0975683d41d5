#!/usr/bin/env node
// Container health check for every Switchboard role (the image's HEALTHCHECK; slim images have no curl).
//
//   node healthcheck.mjs [role]
//
// Exits 0 when the role's HTTP port answers `GET /healthz` with 200, else 1 (Docker: healthy / unhealthy).
//   dispatch    → IM_DISPATCH_PORT (default 8080)
//   gateway     → IM_ADMIN_PORT (default 9100)
//   standalone  → both
//   cluster     → IM_DISPATCH_PORT (its children's ports are their own)
// The role and the IM_* settings are read from the switchboard process itself (/proc/<pid>/cmdline and
// /proc/<pid>/environ), so one HEALTHCHECK line serves every role. The process is PID 1 unless
// SWITCHBOARD_HEALTH_PID names another, or PID 1 is an init (docker run --init): then the first process whose
// command line runs `switchboard` is used.
//
// A port of 0 (the scaled gateways of docker-compose.yml bind free ports) cannot be read from the
// environment: the process's listening TCP sockets are taken from /proc/<pid>/fd and /proc/<pid>/net/tcp{,6}
// and each is sniffed with one NUL byte, which an HTTP server answers at once with `400 Bad Request` and the
// gateway's MobileIMSDK TCP listener merely buffers (it waits for a 4-byte length). Only the ports that speak
// HTTP get `GET /healthz`; the first 200 wins. So the raw TCP port never sees an HTTP request.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { get } from 'node:http';
import { connect } from 'node:net';

const ROLES = ['standalone', 'gateway', 'dispatch', 'cluster'];
const DEADLINE_MS = 4_000;
const SNIFF_MS = 1_000;

const fail = (msg) => {
  process.stdout.write(`unhealthy: ${msg}\n`);
  process.exit(1);
};
setTimeout(() => fail(`no answer within ${DEADLINE_MS} ms`), DEADLINE_MS).unref();

const cmdline = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
};
const runsSwitchboard = (args) => args.some((a) => /switchboard(\.mjs)?$|cli\/(dist|src)\/main\.[jt]s$/.test(a));

function targetPid() {
  if (process.env.SWITCHBOARD_HEALTH_PID) return Number(process.env.SWITCHBOARD_HEALTH_PID);
  if (runsSwitchboard(cmdline(1))) return 1;
  for (const name of readdirSync('/proc')) {
    if (/^\d+$/.test(name) && Number(name) !== process.pid && runsSwitchboard(cmdline(name))) return Number(name);
  }
  return 1;
}

function environOf(pid) {
  try {
    const env = {};
    for (const kv of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
      const i = kv.indexOf('=');
      if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
    }
    return env;
  } catch {
    return process.env; // not readable (another user): the container's environment is the same
  }
}

/** Address to reach a listener bound to `bind`. */
const reach = (bind) => (!bind || bind === '0.0.0.0' || bind === '::' || bind === '[::]' ? '127.0.0.1' : bind);

/** /proc/net/tcp addresses: IPv4 as one little-endian word, IPv6 as four. */
function decodeAddr(hex) {
  if (hex.length === 8) return [0, 2, 4, 6].map((i) => parseInt(hex.slice(i, i + 2), 16)).reverse().join('.');
  const bytes = [];
  for (let w = 0; w < 4; w++) {
    const word = hex.slice(w * 8, w * 8 + 8);
    for (let i = 6; i >= 0; i -= 2) bytes.push(parseInt(word.slice(i, i + 2), 16));
  }
  if (bytes.every((b) => b === 0)) return '::';
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12).join('.');
  const groups = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  return groups.join(':');
}

/** The TCP ports `pid` listens on, with the address to reach each. */
function listeners(pid) {
  const inodes = new Set();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // fd closed while we looked
    }
  }
  const found = new Map();
  for (const table of ['tcp', 'tcp6']) {
    let text = '';
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '0A' || !inodes.has(f[9])) continue; // 0A = LISTEN
      const [addr, portHex] = f[1].split(':');
      const port = parseInt(portHex, 16);
      if (!found.has(port)) found.set(port, reach(decodeAddr(addr)));
    }
  }
  return [...found].map(([port, host]) => ({ host, port }));
}

/** Resolve true when `GET /healthz` answers 200. */
function healthz(host, port) {
  return new Promise((resolve) => {
    const req = get({ host, port, path: '/healthz', timeout: DEADLINE_MS }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/** Resolve true when the listener answers one NUL byte with an HTTP status line (any HTTP server does, with 400). */
function speaksHttp(host, port) {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (v) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(false), SNIFF_MS);
    sock.once('connect', () => sock.write(Buffer.from([0])));
    sock.once('data', (chunk) => done(chunk.toString('latin1').startsWith('HTTP/')));
    sock.once('error', () => done(false));
    sock.once('close', () => done(false));
  });
}

async function discovered(pid) {
  const socks = listeners(pid);
  if (socks.length === 0) fail(`process ${pid} has no listening TCP socket`);
  const results = await Promise.all(
    socks.map(async ({ host, port }) => {
      if (!(await speaksHttp(host, port))) return false;
      const ok = await healthz(host, port);
      if (ok) {
        process.stdout.write(`healthy: /healthz on ${host}:${port} (found from /proc)\n`);
        process.exit(0);
      }
      return ok;
    }),
  );
  return results.some(Boolean);
}

const pid = targetPid();
const args = cmdline(pid);
const role = process.argv[2] ?? [...args].reverse().find((a) => ROLES.includes(a));
if (!role || !ROLES.includes(role)) fail(`cannot tell the role of process ${pid} (${args.join(' ') || 'not found'}); pass it: healthcheck.mjs <${ROLES.join('|')}>`);
const env = environOf(pid);
const host = reach(env.IM_BIND_HOST ?? '127.0.0.1');
const portOf = (name, dflt) => (env[name] === undefined || env[name] === '' ? dflt : Number(env[name]));
const ports = [];
if (role === 'gateway' || role === 'standalone') ports.push(portOf('IM_ADMIN_PORT', 9100));
if (role === 'dispatch' || role === 'standalone' || role === 'cluster') ports.push(portOf('IM_DISPATCH_PORT', 8080));

if (ports.includes(0)) {
  if (!(await discovered(pid))) fail(`no listener of process ${pid} answered GET /healthz with 200`);
} else {
  for (const port of ports) if (!(await healthz(host, port))) fail(`GET http://${host}:${port}/healthz did not answer 200`);
  process.stdout.write(`healthy: ${role} /healthz on ${ports.map((p) => `${host}:${p}`).join(', ')}\n`);
  process.exit(0);
}
