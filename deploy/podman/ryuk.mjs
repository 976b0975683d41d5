#!/usr/bin/env node
// Stand-in for testcontainers' reaper, Ryuk (deploy/local-images.sh builds it into
// localhost/switchboard-standin/ryuk; RYUK_CONTAINER_IMAGE selects it). testcontainers/ryuk cannot be pulled here.
//
// The same protocol as Ryuk, as testcontainers-node 11 uses it: listen on TCP 8080, print "Started" once ready;
// each client sends filter lines such as `label=org.testcontainers.session-id=<uuid>` (several `&`-joined pairs in
// one line must all match) and gets `ACK` for each. When the last client has been gone for
// RYUK_RECONNECTION_TIMEOUT (or nobody connected within RYUK_CONNECTION_TIMEOUT), every container, network and
// volume matching any of the filters is removed through the Docker API on /var/run/docker.sock, then this
// container removes itself. So the containers a test process started go away even when the process is killed.
import { request } from 'node:http';
import { createServer } from 'node:net';
import { hostname } from 'node:os';

const SOCKET = '/var/run/docker.sock';
const seconds = (v, d) => {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v ?? '');
  if (!m) return d;
  return Number(m[1]) * (m[2] === 'ms' ? 0.001 : m[2] === 'm' ? 60 : 1);
};
const connectionTimeoutS = seconds(process.env.RYUK_CONNECTION_TIMEOUT, 60);
const reconnectionTimeoutS = seconds(process.env.RYUK_RECONNECTION_TIMEOUT, 10);
const verbose = process.env.RYUK_VERBOSE === 'true';
const log = (msg) => process.stdout.write(`${new Date().toISOString()} ${msg}\n`);

/** `label=a=b&label=c` → Docker API filters {"label": ["a=b", "c"]}. */
function toFilters(line) {
  const filters = {};
  for (const part of line.split('&')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    const key = decodeURIComponent(part.slice(0, i));
    (filters[key] ??= []).push(decodeURIComponent(part.slice(i + 1)));
  }
  return filters;
}

function api(method, path) {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: SOCKET, method, path, headers: { host: 'docker' }, timeout: 30_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

const filterSets = new Map(); // JSON of the filters → filters
let clients = 0;
let timer = null;

function arm(s) {
  clearTimeout(timer);
  timer = setTimeout(() => void prune().finally(() => process.exit(0)), s * 1000);
}

async function prune() {
  const self = hostname();
  let removed = 0;
  for (const filters of filterSets.values()) {
    const q = encodeURIComponent(JSON.stringify(filters));
    for (const [kind, list, del] of [
      ['container', `/containers/json?all=true&filters=${q}`, (x) => `/containers/${x.Id}?force=true&v=true`],
      ['network', `/networks?filters=${q}`, (x) => `/networks/${x.Id}`],
      ['volume', `/volumes?filters=${q}`, (x) => `/volumes/${encodeURIComponent(x.Name)}?force=true`],
    ]) {
      try {
        const res = await api('GET', list);
        const parsed = JSON.parse(res.body || '[]');
        const items = Array.isArray(parsed) ? parsed : (parsed.Volumes ?? []);
        for (const x of items) {
          if (kind === 'container' && typeof x.Id === 'string' && x.Id.startsWith(self)) continue;
          const r = await api('DELETE', del(x));
          if (r.status < 300 || r.status === 404) removed++;
          else log(`could not remove ${kind} ${x.Id ?? x.Name}: ${r.status} ${r.body.slice(0, 200)}`);
        }
      } catch (err) {
        log(`listing ${kind}s failed: ${err.message}`);
      }
    }
  }
  log(`removed ${removed} containers, networks and volumes`);
  // Last, this container itself (Ryuk's container is not auto-removed either; testcontainers labels it with the session).
  await api('DELETE', `/containers/${self}?force=true`).catch(() => {});
}

const server = createServer((sock) => {
  clients++;
  clearTimeout(timer);
  if (verbose) log(`client connected (${clients})`);
  let buf = '';
  sock.setEncoding('utf8');
  sock.on('data', (chunk) => {
    buf += chunk;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (line === '') continue;
      const filters = toFilters(line);
      filterSets.set(JSON.stringify(filters), filters);
      if (verbose) log(`filter ${line}`);
      sock.write('ACK\n');
    }
  });
  sock.on('error', () => {});
  sock.on('close', () => {
    clients--;
    if (verbose) log(`client gone (${clients} left)`);
    if (clients === 0) arm(reconnectionTimeoutS);
  });
});
server.listen(8080, () => {
  log('Started');
  arm(connectionTimeoutS);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => void prune().finally(() => process.exit(0)));
