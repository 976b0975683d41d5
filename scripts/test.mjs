#!/usr/bin/env node
// Runs every vitest project (unit, integration, cluster), then prints the plain closing line CI reads:
// "N passed, N failed, N skipped". Exits non-zero when anything failed or nothing ran.
// Extra arguments go to vitest (e.g. `pnpm test -- --project unit`).
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, '.vitest-results.json');
rmSync(out, { force: true });
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
const res = spawnSync(
  process.execPath,
  [vitest, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...process.argv.slice(2)],
  { cwd: root, stdio: 'inherit', env: process.env },
);

let passed = 0;
let failed = 0;
let skipped = 0;
let suiteFailures = 0;
try {
  const r = JSON.parse(readFileSync(out, 'utf8'));
  passed = r.numPassedTests ?? 0;
  failed = r.numFailedTests ?? 0;
  skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  suiteFailures = (r.testResults ?? []).filter((f) => f.status === 'failed' && (f.assertionResults ?? []).every((a) => a.status !== 'failed')).length;
} catch (err) {
  console.error(`test: could not read vitest results (${err.message})`);
  failed = Math.max(failed, 1);
}
// A file that failed to load counts as a failure even though no test inside it ran.
failed += suiteFailures;
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
if (res.status !== 0 || failed > 0 || passed === 0) process.exit(res.status || 1);
