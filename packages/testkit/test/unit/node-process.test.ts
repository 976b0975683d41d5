import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '@switchboard/core';
import { cliEntry, ProcessGroup, repoRoot, spawnNode, startNode } from '../../src/index.js';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
const fixture = (name: string): string => path.join(fixtures, name);
const group = new ProcessGroup();

afterAll(() => group.killAll());

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('spawnNode', () => {
  it('repoRoot - finds the workspace root and the CLI entry', () => {
    expect(existsSync(path.join(repoRoot(), 'pnpm-workspace.yaml'))).toBe(true);
    expect(cliEntry()).toBe(path.join(repoRoot(), 'packages', 'cli', 'src', 'main.ts'));
  });

  it('ready - resolves with the parsed ready line, passing args, env and cwd', async () => {
    const proc = await group.spawn({ script: fixture('ready.mjs'), args: ['gateway', '--x'], env: { FAKE_VALUE: 'v1' } });
    expect(proc.ready).toEqual({ event: 'ready', role: 'fake', args: ['gateway', '--x'], env: 'v1', cwd: repoRoot() });
    expect(proc.alive).toBe(true);
    expect(proc.lines().map((l) => l.text)).toContain('booting on stderr');
    expect(proc.lines().find((l) => l.stream === 'stderr')?.text).toBe('booting on stderr');

    const later = await proc.waitForLine((l) => l.json?.['msg'] === 'later');
    expect(later.json).toEqual({ msg: 'later', n: 1 });

    const seen: string[] = [];
    const off = proc.onLine((l) => seen.push(l.text));
    expect(proc.kill('SIGTERM')).toBe(true);
    const exit = await proc.waitForExit(5_000);
    off();
    expect(exit).toEqual({ code: 0, signal: null });
    expect(seen).toEqual(['got SIGTERM']);
    expect(proc.kill()).toBe(false);
  });

  it('early exit - rejects at once with the exit code and the output', async () => {
    // The deadline is far beyond the test's own timeout, so a rejection at all means the exit ended the
    // wait (the message says which); no wall-clock bound, which a busy machine would stretch.
    const err = await spawnNode({ script: fixture('early-exit.mjs'), readyTimeoutMs: 600_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    const msg = (err as Error).message;
    expect(msg).toMatch(/early-exit\.mjs \(pid \d+\): exited \(exit code 3\) before ready/);
    expect(msg).not.toMatch(/not ready after/);
    expect(msg).toContain('[stdout] starting');
    expect(msg).toContain('[stderr] config error: IM_WS_PORT must be a port number');
  });

  it('deadline - rejects when no ready line comes in time and kills the child', async () => {
    const proc = startNode({ script: fixture('never-ready.mjs'), group });
    // Node with tsx can take seconds to start on a busy machine: the deadline under test starts once the
    // child is running, so its output is known to be there when the deadline passes.
    await proc.waitForLine((l) => l.text === 'still starting...', { timeoutMs: 15_000 });
    const err = await proc.whenReady(1_500).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/not ready after 1500 ms \(killed\)/);
    expect((err as Error).message).toContain('[stdout] still starting...');
    expect(proc.alive).toBe(false);
    expect(proc.exitInfo?.signal).toBe('SIGKILL');
  });

  it('ProcessGroup.killAll - SIGKILLs a child that ignores SIGTERM after the grace period', async () => {
    const local = new ProcessGroup();
    const proc = await local.spawn({ script: fixture('stubborn.mjs') });
    expect(local.alive).toHaveLength(1);
    await local.killAll(300);
    expect(proc.alive).toBe(false);
    expect(proc.exitInfo?.signal).toBe('SIGKILL');
    expect(proc.lines().map((l) => l.text)).toContain('ignoring SIGTERM');
    expect(local.alive).toHaveLength(0);
  });

  it('watchdog - a child ends itself when its parent dies without killing it', async () => {
    const parent = await group.spawn({ script: fixture('spawner.mjs') });
    const childPid = parent.ready['childPid'] as number;
    expect(isAlive(childPid)).toBe(true);
    parent.kill('SIGKILL');
    await parent.waitForExit(5_000);
    await waitFor(() => !isAlive(childPid), { timeoutMs: 8_000, what: `orphan ${childPid} to exit` });
  });

  it('waitForLine - rejects with the output when the child exits first', async () => {
    const proc = startNode({ script: fixture('early-exit.mjs'), group });
    await expect(proc.waitForLine((l) => l.text === 'never printed', { timeoutMs: 10_000 })).rejects.toThrow(
      /exited before printing the awaited line[\s\S]*config error/,
    );
  });
});
