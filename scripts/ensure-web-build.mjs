#!/usr/bin/env node
// Builds the web pages (packages/web/dist, served by dispatch: the chat page at /, the admin dashboard
// at /admin/) when they are missing or older than their sources (the pages, the client SDK, the
// protocol package). A fresh build takes about a second; an up-to-date one costs a few stat calls.
// Run by `pnpm start`, `pnpm cluster` and the browser tests. Build output goes to stderr so stdout
// stays free for the server's ready line. `--force` rebuilds regardless. Exits non-zero when the build fails.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const web = join(root, 'packages', 'web');
const marker = join(web, 'dist', 'index.html');
const adminMarker = join(web, 'dist', 'admin', 'index.html');
const lock = join(web, '.build-lock');
const SOURCES = [
  join(web, 'index.html'),
  join(web, 'admin'),
  join(web, 'vite.config.ts'),
  join(web, 'package.json'),
  join(web, 'src'),
  join(root, 'packages', 'client', 'src'),
  join(root, 'packages', 'protocol', 'src'),
];
const LOCK_WAIT_MS = 120_000;

/** Newest modification time under `path` (a file or a directory tree), 0 when absent. */
function newest(path) {
  let st;
  try {
    st = statSync(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let m = st.mtimeMs;
  for (const name of readdirSync(path)) m = Math.max(m, newest(join(path, name)));
  return m;
}

/** Why a build is needed, or null when dist is up to date. */
function staleReason() {
  if (process.argv.includes('--force')) return 'forced';
  if (!existsSync(marker)) return 'packages/web/dist is missing';
  if (!existsSync(adminMarker)) return 'the admin dashboard is missing from packages/web/dist';
  const built = statSync(marker).mtimeMs;
  return SOURCES.some((s) => newest(s) > built) ? 'its sources changed' : null;
}

function build() {
  // The web package's `build` script is `vite build`; run that Vite directly so no pnpm is needed on PATH.
  const vite = join(dirname(createRequire(join(web, 'package.json')).resolve('vite/package.json')), 'bin', 'vite.js');
  const res = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: web, stdio: ['ignore', 2, 2] });
  return res.status === 0;
}

const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

let reason = staleReason();
if (reason === null) process.exit(0);

// One build at a time (pnpm start and a test run may race): an atomic mkdir is the lock.
const deadline = Date.now() + LOCK_WAIT_MS;
for (;;) {
  try {
    mkdirSync(lock);
    break;
  } catch (err) {
    if (err.code !== 'EEXIST') throw err;
    // A lock older than the wait limit is left over from a killed build.
    if (Date.now() - statSync(lock, { throwIfNoEntry: false })?.mtimeMs > LOCK_WAIT_MS) rmSync(lock, { recursive: true, force: true });
    if (Date.now() > deadline) {
      console.error(`ensure-web-build: ${lock} held for over ${LOCK_WAIT_MS / 1000} s; remove it if no build is running`);
      process.exit(1);
    }
    sleep(200);
  }
}
try {
  reason = staleReason(); // another process may have built it meanwhile
  if (reason !== null) {
    const t0 = Date.now();
    console.error(`ensure-web-build: building the web pages (${reason}) …`);
    if (!build()) {
      console.error('ensure-web-build: the web build failed (see above); run `pnpm --filter @switchboard/web build` to retry');
      process.exitCode = 1;
    } else {
      console.error(`ensure-web-build: built packages/web/dist in ${Date.now() - t0} ms`);
    }
  }
} finally {
  rmSync(lock, { recursive: true, force: true });
}
