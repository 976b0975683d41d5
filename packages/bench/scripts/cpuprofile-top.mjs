#!/usr/bin/env node
// Top self-time functions of V8 .cpuprofile files (as written by `node --cpu-prof`).
//   node packages/bench/scripts/cpuprofile-top.mjs [--top N] [--by-file] FILE...
// Several files (e.g. the main thread and a worker, or several runs) are added together.
// Percentages are of all samples, idle included; "busy" excludes (idle).
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
let top = 30;
let byFile = false;
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--top') top = Number(args[++i]);
  else if (args[i] === '--by-file') byFile = true;
  else files.push(args[i]);
}
if (files.length === 0) {
  console.error('usage: cpuprofile-top.mjs [--top N] [--by-file] FILE.cpuprofile...');
  process.exit(2);
}

const self = new Map();
let total = 0;
for (const f of files) {
  const p = JSON.parse(readFileSync(f, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  for (let i = 0; i < p.samples.length; i++) {
    const n = byId.get(p.samples[i]);
    const dt = p.timeDeltas[i] ?? 0;
    total += dt;
    const cf = n.callFrame;
    const url = cf.url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\/\.pnpm\/[^/]+\/node_modules\//, '').replace(process.cwd() + '/', '');
    const key = byFile ? url || cf.functionName : `${cf.functionName || '(anonymous)'}  ${url}${url ? ':' + (cf.lineNumber + 1) : ''}`;
    self.set(key, (self.get(key) ?? 0) + dt);
  }
}
const idle = [...self].filter(([k]) => k.startsWith('(idle)')).reduce((a, [, v]) => a + v, 0);
const busy = total - idle;
console.log(`${files.length} profile(s), ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy`);
console.log(byFile ? '  self ms   %busy  file' : '  self ms   %busy  function  location');
for (const [k, v] of [...self].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${(v / 1000).toFixed(0).padStart(8)}  ${((100 * v) / busy).toFixed(1).padStart(5)}%  ${k}`);
}
