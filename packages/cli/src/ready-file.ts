import { renameSync, rmSync, writeFileSync } from 'node:fs';

/**
 * `IM_READY_FILE` (set by deploy/Dockerfile; read by deploy/docker/healthcheck.mjs): the role's ready line, written
 * atomically once the role is ready and removed when the process exits. A container health check reads the ports
 * the role really bound there (port 0 included) instead of guessing them. `clearReadyFile` at boot drops the file of
 * an earlier run of the same container, so a restarted role is not taken for ready before it is.
 */
export function clearReadyFile(file: string | undefined): void {
  if (file) rmSync(file, { force: true });
}

/** Write the ready line to `file` (no-op when unset); a failure is reported on stderr and does not stop the role. */
export function writeReadyFile(file: string | undefined, ready: Readonly<Record<string, unknown>>): void {
  if (!file) return;
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, JSON.stringify(ready) + '\n', { mode: 0o644 });
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    process.stderr.write(`switchboard: cannot write IM_READY_FILE ${file}: ${err instanceof Error ? err.message : String(err)}\n`);
    return;
  }
  process.once('exit', () => rmSync(file, { force: true }));
}
