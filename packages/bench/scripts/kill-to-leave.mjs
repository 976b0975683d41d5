#!/usr/bin/env node
// Time from SIGKILL of a gateway to the node leaving dispatch.
//
//   node packages/bench/scripts/kill-to-leave.mjs [--runs 3] [--gateways 2] [--poll-ms 50]
//
// Per run: starts `switchboard dispatch` and N `switchboard gateway`s on a fresh IM_KEY_PREFIX (Redis and
// RabbitMQ must answer), waits until dispatch lists every gateway, SIGKILLs one gateway, and polls
// GET /admin/nodes (and GET /api/dispatch for a few uids) every --poll-ms until the node is gone.
// Prints one JSON line per run and a summary; no load is applied.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '3' }, gateways: { type: 'string', default: '2' }, 'poll-ms': { type: 'string', default: '50' } },
});
const runs = Number(values.runs);
const gateways = Number(values.gateways);
const pollMs = Number(values['poll-ms']);

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const tsx = pathToFileURL(createRequire(path.join(root, 'packages', 'cli', 'package.json')).resolve('tsx')).href;
const cmd = ['--conditions=source', '--import', tsx, path.join(root, 'packages', 'cli', 'src', 'main.ts')];

function start(role, env) {
  const child = spawn(process.execPath, [...cmd, role], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let buf = '';
  let out = '';
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${role}: no ready line in 30 s\n${out}`)), 30_000);
    child.stdout.on('data', (d) => {
      buf += d;
      out = (out + d).slice(-4000);
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          const o = JSON.parse(line);
          if (o.event === 'ready') {
            clearTimeout(timer);
            resolve(o);
          }
        } catch {}
      }
    });
    child.stderr.on('data', (d) => (out = (out + d).slice(-4000)));
    child.on('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`${role} exited (${code ?? sig})\n${out}`));
    });
  });
  return { child, ready };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function nodes(base) {
  const res = await fetch(`${base}/admin/nodes`);
  const body = await res.json();
  return (body.nodes ?? []).map((n) => n.id);
}
async function dispatched(base, uid) {
  try {
    const res = await fetch(`${base}/api/dispatch?uid=${encodeURIComponent(uid)}`);
    if (!res.ok) return null;
    return (await res.json()).node ?? null;
  } catch {
    return null;
  }
}

const results = [];
for (let run = 1; run <= runs; run++) {
  const env = {
    ...process.env,
    IM_KEY_PREFIX: `killtest-${randomBytes(4).toString('hex')}`,
    IM_AUTH: 'none',
    IM_LOG_LEVEL: 'warn',
    IM_DISPATCH_PORT: '0',
    IM_WS_PORT: '0',
    IM_TCP_PORT: '0',
    IM_UDP_PORT: '0',
    IM_ADMIN_PORT: '0',
  };
  delete env.IM_NODE_ID;
  const procs = [];
  try {
    const d = start('dispatch', env);
    procs.push(d.child);
    const dReady = await d.ready;
    const base = `http://127.0.0.1:${dReady.ports.dispatch}`;
    const gws = Array.from({ length: gateways }, () => start('gateway', env));
    procs.push(...gws.map((g) => g.child));
    const readies = await Promise.all(gws.map((g) => g.ready));
    const ids = readies.map((r) => r.nodeId);
    const t0 = performance.now();
    while (!ids.every((id) => id)) throw new Error('ready line without nodeId');
    for (;;) {
      const listed = await nodes(base);
      if (ids.every((id) => listed.includes(id))) break;
      if (performance.now() - t0 > 15_000) throw new Error(`dispatch lists ${listed} not all of ${ids}`);
      await sleep(50);
    }
    // a steady state (a couple of load reports after the last join), then a random phase against the 1 s report tick
    await sleep(1500 + Math.random() * 1000);
    const victim = gws[0];
    const victimId = ids[0];
    const kill = performance.now();
    victim.child.kill('SIGKILL');
    let lastDispatchedMs = null;
    let goneMs = null;
    let polls = 0;
    while (goneMs === null) {
      const tPoll = performance.now();
      const [listed, ...picks] = await Promise.all([nodes(base), ...[0, 1, 2, 3].map((k) => dispatched(base, `probe${run}-${polls}-${k}`))]);
      polls++;
      const now = performance.now() - kill;
      if (!listed.includes(victimId)) goneMs = now;
      else if (picks.includes(victimId)) lastDispatchedMs = now;
      if (now > 20_000) throw new Error('node still listed 20 s after SIGKILL');
      await sleep(Math.max(0, pollMs - (performance.now() - tPoll)));
    }
    const r = { run, victim: victimId, goneFromAdminNodesMs: Math.round(goneMs), lastHandedOutWhileListedMs: lastDispatchedMs === null ? null : Math.round(lastDispatchedMs), polls };
    results.push(r);
    console.log(JSON.stringify(r));
  } finally {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
    await sleep(1500);
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  }
}
const gone = results.map((r) => r.goneFromAdminNodesMs).sort((a, b) => a - b);
console.log(JSON.stringify({ runs: results.length, goneFromAdminNodesMs: gone, median: gone[Math.floor(gone.length / 2)] }));
