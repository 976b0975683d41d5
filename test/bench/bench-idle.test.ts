import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { switchboardCommand, type IdleReport } from '@switchboard/bench';

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

// Idle mode end to end: the CLI spawns a standalone, forks two client workers, logs 2000 users in,
// holds them idle and reports the gateway's RSS per user and the login rate. 2000 and not fewer: the
// gateway's RSS moves by a few MiB on its own (a collection of startup garbage), which at 300 users
// (~2 MiB of signal) once made the per-user figure negative in CI.
describe('switchboard bench idle against standalone', () => {
  it('idle mode - 2000 users over 2 workers log in, stay online, RSS per user and logins/s reported', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bench-idle-'));
    try {
      const json = path.join(dir, 'idle.json');
      const r = await runCli(['idle', '--spawn-standalone', '--users', '2000', '--procs', '2', '--idle', '2', '--settle', '1', '--json', json], 90_000);
      const context = `exit ${r.code}\n${r.stdout}\n${r.stderr.split('\n').slice(-30).join('\n')}`;
      expect(r.code, context).toBe(0);
      expect(r.stdout).toMatch(/per user\s+[\d,]+ bytes = [\d.]+ KiB per user/);
      const report = JSON.parse(readFileSync(json, 'utf8')) as IdleReport;
      expect(report.mode).toBe('idle');
      expect(report.users).toMatchObject({ total: 2000, ws: 2000, tcp: 0, loggedIn: 2000, onlineAtEnd: 2000, disconnects: {} });
      expect(report.login.loginsPerSec, context).toBeGreaterThan(0);
      expect(report.login.peakPerSec).toBeGreaterThan(0);
      expect(report.login.perSecond.reduce((a, b) => a + b, 0)).toBe(2000);
      expect(report.login.latencyMs.count).toBe(2000);
      expect(report.login.latencyMs.p99).toBeGreaterThanOrEqual(report.login.latencyMs.p50);
      expect(report.login.attempts).toBeGreaterThanOrEqual(2000);
      expect(report.memory.source).toBe('proc');
      expect(report.memory.users).toBe(2000);
      expect(report.memory.gateways).toHaveLength(1);
      const gw = report.memory.gateways[0]!;
      expect(gw.pid).toBeGreaterThan(0);
      expect(gw.baselineSamples.length).toBeGreaterThan(0);
      expect(gw.idleSamples.length).toBeGreaterThan(0);
      expect(gw.baselineRssBytes).toBeGreaterThan(0);
      expect(gw.idleRssBytes).toBeGreaterThan(0);
      expect(Number.isFinite(report.memory.bytesPerUser), context).toBe(true);
      expect(report.memory.bytesPerUser!, context).toBeGreaterThan(0);
      expect(report.memory.kibPerUser).toBeCloseTo(report.memory.bytesPerUser! / 1024, 6);
      expect(gw.metrics.idle?.connections).toBe(2000);
      expect(typeof report.idle.cpu.gateways).toBe('number');
      expect(typeof report.login.cpu.workers).toBe('number');
      expect(report.idle.seconds).toBeGreaterThanOrEqual(2);
      expect(report.workers).toHaveLength(2);
      expect(report.workers.map((w) => w.users)).toEqual([1000, 1000]);
      for (const w of report.workers) {
        expect(w.onlineAtEnd).toBe(1000);
        expect(w.rssBytes).toBeGreaterThan(0);
        expect(w.problem).toBeNull();
      }
      expect(report.timeline.length).toBeGreaterThan(0);
      expect(report.checks.every((c) => c.ok), JSON.stringify(report.checks)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // Both WebSocket clients of idle mode: every user logs in over the chosen client and the report says which.
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

  it('idle mode - bad arguments exit with code 2 and name the flag', async () => {
    const r = await runCli(['idle', '--spawn-standalone', '--users', '3', '--procs', '4'], 30_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--procs: more worker processes/);
  });
});
