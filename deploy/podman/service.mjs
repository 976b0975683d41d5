#!/usr/bin/env node
// podman's Docker API for docker-compose and testcontainers, on a host without systemd (deploy/local-images.sh start).
//
//   node service.mjs SOCKET [--watch PID] [--cleanup-label KEY=VALUE]... [--remove-dir DIR]
//
// - Runs `podman system service --time=0 unix://SOCKET` and prints "ready" once GET /_ping answers there.
// - Runs the containers' health checks. podman schedules them with systemd timers; without systemd (containers,
//   CI machines) nothing runs them, every container stays "starting", and docker-compose's
//   `depends_on: condition: service_healthy` waits forever. This loop asks podman to run each running container's
//   check (GET /v4.0.0/libpod/containers/{id}/healthcheck, which also applies retries and the start period) as Docker would
//   schedule it: every Interval (default 30 s) from the container's start, one check at a time per container.
// - With --watch PID: when that process is gone (a test runner killed mid-run), first removes the containers,
//   networks and volumes carrying any --cleanup-label (e.g. com.docker.compose.project=NAME), then stops.
// - With --remove-dir DIR: removes DIR (the socket's temporary directory, with this log) once the service is down.
// - SIGTERM / SIGINT: stops the podman service and exits; containers are left as they are, except that it first
//   waits (at most 40 s) for containers that use this socket to finish: testcontainers' reaper (Ryuk) removes a
//   test process's containers through it some seconds after that process has gone.
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { rmSync } from 'node:fs';

const args = process.argv.slice(2);
const socket = args[0];
if (!socket || socket.startsWith('-')) {
  process.stderr.write('usage: service.mjs SOCKET [--watch PID] [--cleanup-label KEY=VALUE]... [--remove-dir DIR]\n');
  process.exit(2);
}
let watchPid = 0;
let removeDir = '';
const cleanupLabels = [];
for (let i = 1; i < args.length; i++) {
  if (args[i] === '--watch') watchPid = Number(args[++i]);
  else if (args[i] === '--cleanup-label') cleanupLabels.push(args[++i]);
  else if (args[i] === '--remove-dir') removeDir = args[++i];
  else {
    process.stderr.write(`service.mjs: unknown argument ${args[i]}\n`);
    process.exit(2);
  }
}
const log = (msg) => process.stderr.write(`${new Date().toISOString()} [podman-service] ${msg}\n`);

function api(method, path, timeoutMs = 30_000) {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, method, path, headers: { host: 'd' }, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

rmSync(socket, { force: true });
const podman = spawn('podman', ['system', 'service', '--time=0', `unix://${socket}`], { stdio: ['ignore', 2, 2] });
let stopping = false;
podman.on('exit', (code, signal) => {
  if (!stopping) log(`podman system service exited (${code ?? signal})`);
  rmSync(socket, { force: true });
  if (removeDir) rmSync(removeDir, { recursive: true, force: true });
  process.exit(stopping ? 0 : 1);
});

/** Containers that mount this socket: testcontainers' reapers, which need the API to do their work. */
async function socketUsers() {
  const res = await api('GET', '/containers/json', 5_000);
  if (res.status !== 200) return [];
  return JSON.parse(res.body).filter((c) => (c.Mounts ?? []).some((m) => m.Source === socket));
}

async function stop(why) {
  if (stopping) return;
  stopping = true;
  log(`stopping: ${why}`);
  const deadline = Date.now() + 40_000;
  while (Date.now() < deadline) {
    const users = await socketUsers().catch(() => []);
    if (users.length === 0) break;
    if (Date.now() + 40_000 - deadline < 1_500) log(`waiting for ${users.length} container(s) using the socket (reapers) to finish`);
    await new Promise((r) => setTimeout(r, 1_000));
  }
  podman.kill('SIGTERM');
  setTimeout(() => podman.kill('SIGKILL'), 5_000).unref();
}
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));

// ---- health checks -----------------------------------------------------------------------------------------------
/** id → { intervalMs, next, running } for running containers with a health check; null for those without. */
const checks = new Map();
const DEFAULT_INTERVAL_MS = 30_000;

async function tick() {
  const res = await api('GET', '/containers/json');
  if (res.status !== 200) return;
  const running = new Set();
  for (const c of JSON.parse(res.body)) {
    running.add(c.Id);
    if (!checks.has(c.Id)) {
      const inspect = await api('GET', `/containers/${c.Id}/json`);
      if (inspect.status !== 200) continue;
      const info = JSON.parse(inspect.body);
      const hc = info.Config?.Healthcheck;
      const test = hc?.Test ?? [];
      if (test.length === 0 || test[0] === 'NONE') {
        checks.set(c.Id, null);
        continue;
      }
      const intervalMs = hc.Interval ? hc.Interval / 1e6 : DEFAULT_INTERVAL_MS;
      const started = Date.parse(info.State?.StartedAt ?? '') || Date.now();
      checks.set(c.Id, { intervalMs, next: started + intervalMs, running: false });
    }
    const s = checks.get(c.Id);
    if (!s || s.running || Date.now() < s.next) continue;
    s.running = true;
    api('GET', `/v4.0.0/libpod/containers/${c.Id}/healthcheck`, 120_000)
      .catch(() => {})
      .finally(() => {
        s.running = false;
        s.next = Date.now() + s.intervalMs;
      });
  }
  for (const id of checks.keys()) if (!running.has(id)) checks.delete(id);
}

// ---- the watched process -------------------------------------------------------------------------------------------
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
};

async function cleanup() {
  for (const label of cleanupLabels) {
    const q = encodeURIComponent(JSON.stringify({ label: [label] }));
    for (const [list, del] of [
      [`/containers/json?all=true&filters=${q}`, (x) => `/containers/${x.Id}?force=true&v=true`],
      [`/networks?filters=${q}`, (x) => `/networks/${x.Id}`],
      [`/volumes?filters=${q}`, (x) => `/volumes/${encodeURIComponent(x.Name)}?force=true`],
    ]) {
      try {
        const parsed = JSON.parse((await api('GET', list)).body || '[]');
        for (const x of Array.isArray(parsed) ? parsed : (parsed.Volumes ?? [])) {
          const r = await api('DELETE', del(x), 60_000);
          log(`cleanup ${label}: DELETE ${del(x)} → ${r.status}`);
        }
      } catch (err) {
        log(`cleanup ${label}: ${err.message}`);
      }
    }
  }
}

let ready = false;
for (let i = 0; i < 200 && !ready; i++) {
  ready = await api('GET', '/_ping', 1_000).then((r) => r.status === 200, () => false);
  if (!ready) await new Promise((r) => setTimeout(r, 100));
}
if (!ready) {
  log(`no answer on ${socket} within 20 s`);
  await stop('not ready');
} else {
  process.stdout.write('ready\n');
  let busy = false;
  setInterval(() => {
    if (stopping) return;
    if (watchPid && !alive(watchPid)) {
      const gone = watchPid;
      watchPid = 0;
      stopping = true; // no more health checks
      void cleanup().finally(() => {
        stopping = false;
        void stop(`process ${gone} is gone`);
      });
      return;
    }
    if (busy) return;
    busy = true;
    tick()
      .catch(() => {})
      .finally(() => (busy = false));
  }, 1_000);
}
