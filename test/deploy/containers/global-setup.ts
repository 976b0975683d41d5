import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { TestProject } from 'vitest/node';
import { parseExports, podmanProblem, removeLabelled, run, type PodmanSetup } from './podman.js';

// Global setup of the `containers` project: the stand-in images (deploy/local-images.sh prepare, idempotent) and
// podman's Docker API on a private socket, watched by deploy/podman/service.mjs, which also runs the containers'
// health checks (no systemd here). What it provides reaches the test files through `inject('podman')`, not the
// environment: the other projects' tests must not see a DOCKER_HOST (they would all switch to testcontainers).
// It never throws (a throwing global setup makes vitest report "No test files found"): problems are provided
// and the tests fail with them. Without podman outside CI the tests skip; in CI .ci/run installs it.

const PREPARE_TIMEOUT_MS = 15 * 60_000;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const inCi = process.env['CI'] === 'true';
  const problem = podmanProblem();
  if (problem) {
    project.provide('podman', inCi ? { state: 'error', reason: `CI, and ${problem}` } : { state: 'skip', reason: problem });
    return async () => {};
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'sb-podman-'));
  const socket = path.join(dir, 'podman.sock');
  const projectName = `sbtest${process.pid}${Date.now().toString(36)}`;
  let started = false;
  let setupValue: PodmanSetup;
  try {
    const prep = await run('bash', ['deploy/local-images.sh', 'prepare'], { timeoutMs: PREPARE_TIMEOUT_MS });
    if (prep.code !== 0) throw new Error(`deploy/local-images.sh prepare failed:\n${prep.out.slice(-4000)}`);
    // --watch: if this vitest process is killed, service.mjs removes the compose project's containers, networks and
    // volumes, waits for testcontainers' reapers (which use this socket) to finish, then stops podman's service.
    const start = await run(
      'bash',
      ['deploy/local-images.sh', 'start', socket, '--watch', String(process.pid), '--cleanup-label', `com.docker.compose.project=${projectName}`, '--remove-dir', dir],
      { timeoutMs: 60_000 },
    );
    if (start.code !== 0) throw new Error(`deploy/local-images.sh start failed:\n${start.out.slice(-4000)}`);
    started = true;
    const env = parseExports(start.out);
    console.info(`containers: stand-in images ready in ${(prep.ms / 1000).toFixed(1)} s; podman's Docker API on ${socket}`);
    setupValue = { state: 'ready', socket, env, prepareMs: prep.ms, project: projectName };
  } catch (err) {
    setupValue = { state: 'error', reason: err instanceof Error ? err.message : String(err) };
  }
  project.provide('podman', setupValue);

  // Quick: vitest gives global teardown 10 s (teardownTimeout) before it exits anyway. What takes longer happens in
  // service.mjs after this returns: it waits for testcontainers' reapers (which remove their containers ~10 s after
  // their process ends) before stopping podman's service, then removes the socket's directory (--remove-dir).
  return async () => {
    if (!started) {
      rmSync(dir, { recursive: true, force: true });
      return;
    }
    // What the compose test did not take down (it failed midway).
    await removeLabelled(socket, `com.docker.compose.project=${projectName}`).catch(() => {});
    try {
      process.kill(Number(readFileSync(`${socket}.pid`, 'utf8')), 'SIGTERM');
    } catch {
      // gone already; --watch ends it anyway once this process has exited
    }
  };
}
