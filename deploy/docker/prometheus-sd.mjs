#!/usr/bin/env node
// Prometheus file-based service discovery for Switchboard gateways.
//
//   node prometheus-sd.mjs            poll forever (SIGTERM/SIGINT stop it)
//   node prometheus-sd.mjs --once     one poll, exit 0 when the file was written, 1 otherwise
//   node prometheus-sd.mjs --check    exit 0 when the file exists and was refreshed recently (a health check)
//
// Gateways that bind free ports (IM_ADMIN_PORT=0, as the scaled gateways of docker-compose.yml do) cannot be
// listed in a static scrape config. Every gateway registers its admin port in the node registry, and dispatch's
// `GET /admin/nodes` lists the live ones; this script turns that list into a file_sd JSON file
// (`[{"targets": ["host:adminPort"], "labels": {...}}]`) that Prometheus watches. A gateway that dies leaves the
// registry within seconds and so leaves the file at the next poll.
//
// Settings (environment):
//   IM_SD_DISPATCH_URL   dispatch base URL                       default http://127.0.0.1:8080
//   IM_SD_FILE           file to write (atomically, by rename)    default /var/lib/switchboard/prometheus-sd/gateways.json
//   IM_SD_INTERVAL_MS    poll interval                            default 5000
//   IM_SD_TARGET_HOST    host to scrape every gateway at          default each gateway's public host
//   IM_ADMIN_TOKEN       sent as a bearer token when set; unset, /admin/nodes answers only on loopback, so run this
//                        in dispatch's network namespace (docker-compose.yml: network_mode "service:dispatch")
import { mkdirSync, renameSync, statSync, utimesSync, writeFileSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

const env = process.env;
const dispatchUrl = (env.IM_SD_DISPATCH_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');
const file = env.IM_SD_FILE || '/var/lib/switchboard/prometheus-sd/gateways.json';
const intervalMs = Number(env.IM_SD_INTERVAL_MS || 5000);
const targetHost = env.IM_SD_TARGET_HOST || '';
const token = env.IM_ADMIN_TOKEN || '';
const mode = process.argv[2] ?? '';

const log = (level, msg, extra = {}) =>
  process.stderr.write(JSON.stringify({ level, time: Date.now(), component: 'prometheus-sd', msg, ...extra }) + '\n');

if (!Number.isInteger(intervalMs) || intervalMs < 100) {
  log('error', `IM_SD_INTERVAL_MS must be a whole number of ms ≥ 100, got ${JSON.stringify(env.IM_SD_INTERVAL_MS)}`);
  process.exit(2);
}

if (mode === '--check') {
  try {
    const age = Date.now() - statSync(file).mtimeMs;
    if (age > Math.max(3 * intervalMs, 15_000)) throw new Error(`${file} not refreshed for ${Math.round(age / 1000)} s`);
    process.stdout.write(`healthy: ${file} refreshed ${Math.round(age / 1000)} s ago\n`);
    process.exit(0);
  } catch (err) {
    process.stdout.write(`unhealthy: ${err.message}\n`);
    process.exit(1);
  }
}

/** The file_sd groups for dispatch's node list: one group per gateway, so each carries its own labels. */
function toTargets(nodes) {
  return nodes
    .filter((n) => n && typeof n.id === 'string' && n.ports && Number.isInteger(n.ports.admin) && n.ports.admin > 0)
    .sort((a, b) => a.id.localeCompare(b.id))
    .map((n) => ({
      targets: [`${targetHost || n.host}:${n.ports.admin}`],
      labels: { role: 'gateway', node: n.id, public_host: String(n.host) },
    }));
}

async function poll() {
  const res = await fetch(`${dispatchUrl}/admin/nodes`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    signal: AbortSignal.timeout(Math.max(1000, intervalMs)),
  });
  if (!res.ok) throw new Error(`GET ${dispatchUrl}/admin/nodes answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
  const body = await res.json();
  const groups = toTargets(Array.isArray(body.nodes) ? body.nodes : []);
  const text = JSON.stringify(groups, null, 2) + '\n';
  let previous = null;
  try {
    previous = readFileSync(file, 'utf8');
  } catch {
    // first write
  }
  if (text !== previous) {
    mkdirSync(dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, text);
    renameSync(tmp, file); // Prometheus never reads a half-written file
    log('info', 'targets changed', { gateways: groups.length, targets: groups.map((g) => g.targets[0]) });
  } else {
    const now = new Date();
    utimesSync(file, now, now); // unchanged, but fresh: --check looks at the mtime
  }
  return groups.length;
}

if (mode === '--once') {
  try {
    await poll();
    process.exit(0);
  } catch (err) {
    log('error', 'poll failed', { err: err.message });
    process.exit(1);
  }
}

let timer = null;
let failing = false;
const loop = async () => {
  try {
    await poll();
    if (failing) log('info', 'dispatch answers again');
    failing = false;
  } catch (err) {
    // Keep the last file: Prometheus keeps scraping the known gateways (a dead one shows up=0) until dispatch answers.
    if (!failing) log('warn', 'poll failed; keeping the last targets', { err: err.message });
    failing = true;
  }
  timer = setTimeout(loop, intervalMs);
};
const stop = () => {
  if (timer) clearTimeout(timer);
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
log('info', 'started', { dispatchUrl, file, intervalMs, targetHost: targetHost || null });
await loop();
