import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@switchboard/core';
import { defaultIdleProcs, parseIdleArgs, workerRange, type IdleOptions } from '../../src/idle/idle-args.js';
import { LatencyHistogram } from '../../src/shared/histogram.js';
import { ephemeralPortWarning } from '../../src/idle/idle-run.js';
import { parsePromText } from '../../src/idle/idle-probes.js';
import * as D from '../../src/shared/defaults.js';

function opts(argv: string[]): IdleOptions {
  const r = parseIdleArgs(argv);
  if (r.help) throw new Error('unexpected help');
  return r.options;
}

function problems(argv: string[]): string {
  try {
    parseIdleArgs(argv);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.join('\n');
    throw err;
  }
  throw new Error(`expected a ConfigError for ${argv.join(' ')}`);
}

describe('parseIdleArgs', () => {
  it('defaults - WebSocket only, 20 s idle, 256 logins in flight per worker, 15S', () => {
    const o = opts(['--spawn-standalone']);
    expect(o.target).toEqual({ kind: 'spawn-standalone' });
    expect(o.users).toBe(D.DEFAULT_IDLE_USERS);
    expect(o.tcpShare).toBe(0);
    expect(o.procs).toBe(1);
    expect(o.loginConcurrency).toBe(256);
    expect(o.loginRatePerSec).toBeNull();
    expect(o.idleS).toBe(20);
    expect(o.settleS).toBe(D.DEFAULT_IDLE_SETTLE_S);
    expect(o.senseMode).toBe('15S');
    expect(o.uidPrefix).toMatch(/^i[0-9a-f]{6}-$/);
  });

  it('--procs default - enough workers for the open-file limit, two above a thousand users', () => {
    expect(defaultIdleProcs(300)).toBe(1);
    expect(defaultIdleProcs(1_001)).toBe(2);
    expect(defaultIdleProcs(19_000)).toBe(2);
    expect(defaultIdleProcs(36_001)).toBe(3);
    expect(opts(['--spawn-standalone', '--users', '19000']).procs).toBe(2);
  });

  it('--procs - at most 19000 users per worker, not more workers than users', () => {
    expect(problems(['--spawn-standalone', '--users', '20000', '--procs', '1'])).toMatch(/at most 19000 per worker.*--procs 2/);
    expect(problems(['--spawn-standalone', '--users', '3', '--procs', '4'])).toMatch(/more worker processes \(4\) than users \(3\)/);
  });

  it('workerRange - contiguous, covers every user once', () => {
    const ranges = Array.from({ length: 3 }, (_, w) => workerRange(w, 3, 1_000));
    expect(ranges[0]!.from).toBe(0);
    expect(ranges[2]!.to).toBe(1_000);
    for (let w = 1; w < 3; w++) expect(ranges[w]!.from).toBe(ranges[w - 1]!.to);
    expect(ranges.map((r) => r.to - r.from)).toEqual([333, 333, 334]);
  });

  it('--ws target - --tcp and --admin belong to it', () => {
    const o = opts(['--ws', 'ws://h:3000/websocket', '--tcp', 'h:8901', '--admin', 'http://h:9100/', '--tcp-share', '0.5']);
    expect(o.target).toEqual({ kind: 'direct', wsUrl: 'ws://h:3000/websocket', tcp: { host: 'h', port: 8901 }, adminUrl: 'http://h:9100' });
    expect(opts(['--ws', 'ws://h:3000/websocket']).target).toMatchObject({ adminUrl: null, tcp: null });
    expect(problems(['--spawn-standalone', '--admin', 'http://h:9100'])).toMatch(/--admin: only together with --ws/);
    expect(problems(['--ws', 'ws://h/websocket', '--tcp-share', '0.1'])).toMatch(/TCP users need --tcp/);
    expect(problems(['--ws', 'ws://h/websocket', '--sut-env', 'A=1'])).toMatch(/only with --spawn-standalone or --spawn-cluster/);
  });

  it('targets - exactly one', () => {
    expect(problems([])).toMatch(/a target is required/);
    expect(problems(['--spawn-standalone', '--spawn-cluster', '2'])).toMatch(/exclude each other/);
    expect(opts(['--spawn-cluster', '2']).target).toEqual({ kind: 'spawn-cluster', gateways: 2 });
  });

  it('--login-rate - must fit the login timeout', () => {
    expect(opts(['--spawn-standalone', '--login-rate', '500', '--users', '5000']).loginRatePerSec).toBe(500);
    expect(problems(['--spawn-standalone', '--login-rate', '10', '--users', '5000'])).toMatch(/need 500 s; raise --login-timeout/);
  });

  it('--ws-client - raw by default (ws for a wss:// target), ws on request, raw refused for wss://', () => {
    expect(opts(['--spawn-standalone']).wsClient).toBe('raw');
    expect(opts(['--spawn-standalone', '--ws-client', 'ws']).wsClient).toBe('ws');
    expect(opts(['--ws', 'ws://h:3000/websocket', '--ws-client', 'raw']).wsClient).toBe('raw');
    expect(opts(['--ws', 'wss://h/websocket']).wsClient).toBe('ws');
    expect(problems(['--ws', 'wss://h/websocket', '--ws-client', 'raw'])).toMatch(/--ws-client raw: speaks ws:\/\/ only/);
    expect(problems(['--spawn-standalone', '--ws-client', 'fast'])).toMatch(/--ws-client: raw or ws \(got "fast"\)/);
  });

  it('every problem reported together; a leading -- is ignored; -h', () => {
    const p = problems(['--', '--spawn-standalone', '--users', '0', '--idle', '0', '--login-concurrency', 'x', '--sense-mode', '7S']);
    expect(p).toMatch(/--users/);
    expect(p).toMatch(/--idle/);
    expect(p).toMatch(/--login-concurrency/);
    expect(p).toMatch(/--sense-mode/);
    expect(parseIdleArgs(['--help'])).toEqual({ help: true });
  });
});

describe('parsePromText', () => {
  it('parsePromText - sums label sets, skips comments', () => {
    const m = parsePromText(
      [
        '# HELP process_resident_memory_bytes Resident memory size in bytes.',
        '# TYPE process_resident_memory_bytes gauge',
        'process_resident_memory_bytes 123456789',
        'switchboard_connections{transport="ws"} 300',
        'switchboard_connections{transport="tcp"} 20',
        'nodejs_heap_size_used_bytes 1.5e7',
      ].join('\n'),
    );
    expect(m.get('process_resident_memory_bytes')).toBe(123_456_789);
    expect(m.get('switchboard_connections')).toBe(320);
    expect(m.get('nodejs_heap_size_used_bytes')).toBe(15_000_000);
  });
});

describe('LatencyHistogram snapshot', () => {
  it('snapshot - fromSnapshot gives the same summary, merges like the original', () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 1_000; i++) h.record(i / 7);
    const back = LatencyHistogram.fromSnapshot(JSON.parse(JSON.stringify(h.snapshot())));
    expect(back.summary()).toEqual(h.summary());
    const empty = LatencyHistogram.fromSnapshot(new LatencyHistogram().snapshot());
    expect(empty.count).toBe(0);
    expect(Number.isNaN(empty.max)).toBe(true);
  });
});

describe('ephemeralPortWarning', () => {
  it('warns only when the connections per address exceed half the ephemeral port range', () => {
    const f = join(mkdtempSync(join(tmpdir(), 'ports-')), 'range');
    writeFileSync(f, '32768\t60999\n');
    expect(ephemeralPortWarning(14_000, f)).toBeNull();
    expect(ephemeralPortWarning(19_000, f)).toMatch(/exceed half the ephemeral port range 32768-60999 \(14116\)/);
    expect(ephemeralPortWarning(19_000, join(f, 'missing'))).toBeNull();
  });
});
