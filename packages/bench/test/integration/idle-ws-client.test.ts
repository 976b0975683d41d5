import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { switchboardCommand } from '../../src/sut.js';
import type { IdleReport } from '../../src/idle-report.js';

/** Run `switchboard bench ...` as an operator does; resolves with its exit code and output. */
function runCli(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...switchboardCommand(), 'bench', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`switchboard bench ${args.join(' ')} did not finish within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

// Both WebSocket clients of idle mode against a real gateway (a spawned standalone): every user
// logs in over the chosen client, stays online, and the report says which client it was.
describe('switchboard bench idle --ws-client against standalone', () => {
  it.each(['raw', 'ws'] as const)('--ws-client %s - 300 users over 2 workers log in and stay online', async (client) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bench-idle-client-'));
    try {
      const json = path.join(dir, 'idle.json');
      const r = await runCli(
        ['idle', '--spawn-standalone', '--users', '300', '--procs', '2', '--idle', '1', '--settle', '0.5', '--ws-client', client, '--json', json, '--quiet'],
        55_000,
      );
      const context = `exit ${r.code}\n${r.stdout}\n${r.stderr.split('\n').slice(-30).join('\n')}`;
      expect(r.code, context).toBe(0);
      expect(r.stdout).toContain(`(WebSocket client: ${client})`);
      const report = JSON.parse(readFileSync(json, 'utf8')) as IdleReport;
      expect(report.wsClient).toBe(client);
      expect(report.options.wsClient).toBe(client);
      expect(report.users).toMatchObject({ total: 300, ws: 300, tcp: 0, loggedIn: 300, onlineAtEnd: 300, disconnects: {}, errors: {} });
      expect(report.login.failures).toEqual({});
      expect(report.login.latencyMs.count).toBe(300);
      expect(report.memory.gateways[0]!.metrics.idle?.connections).toBe(300);
      expect(report.checks.every((c) => c.ok), JSON.stringify(report.checks)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
