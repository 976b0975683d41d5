import { describe, expect, it } from 'vitest';
import { ConfigError } from '@switchboard/core';
import { parseBenchArgs, type BenchOptions } from '../../src/load/args.js';
import { isTcpUser, parseHostPort } from '../../src/shared/args.js';
import * as D from '../../src/shared/defaults.js';

function opts(argv: string[]): BenchOptions {
  const r = parseBenchArgs(argv);
  if (r.help) throw new Error('unexpected help');
  return r.options;
}

function problems(argv: string[]): readonly string[] {
  try {
    parseBenchArgs(argv);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error(`expected a ConfigError for ${argv.join(' ')}`);
}

describe('parseBenchArgs', () => {
  it('defaults - 1000 users, 4 in flight, 100 bytes, half TCP, 15S', () => {
    const o = opts(['--dispatch', 'http://127.0.0.1:8080/']);
    expect(o.target).toEqual({ kind: 'dispatch', url: 'http://127.0.0.1:8080' });
    expect(o.users).toBe(D.DEFAULT_USERS);
    expect(o.load).toEqual({ kind: 'closed', inflight: D.DEFAULT_INFLIGHT });
    expect(o.sizeBytes).toBe(D.DEFAULT_SIZE_BYTES);
    expect(o.tcpShare).toBe(0.5);
    expect(o.senseMode).toBe('15S');
    expect(o.qos).toEqual({ tickMs: 5_000, graceMs: 3_000, retries: 2 });
    expect(o.durationS).toBe(D.DEFAULT_DURATION_S);
    expect(o.warmupS).toBe(D.DEFAULT_WARMUP_S);
    expect(o.echoBaseline).toBe(false);
    expect(o.jsonFile).toBeNull();
    expect(o.uidPrefix).toMatch(/^b[0-9a-f]{6}-$/);
    expect(o.chaos.killNodeAtS).toBeNull();
  });

  it('help - -h and --help', () => {
    expect(parseBenchArgs(['-h'])).toEqual({ help: true });
    expect(parseBenchArgs(['--help'])).toEqual({ help: true });
  });

  it('leading -- - ignored, as pnpm bench -- passes it', () => {
    expect(opts(['--', '--spawn-standalone', '--users', '50']).users).toBe(50);
  });

  it('open loop - --rate', () => {
    const o = opts(['--spawn-standalone', '--rate', '10000', '--duration', '30', '--warmup', '0']);
    expect(o.load).toEqual({ kind: 'open', ratePerSec: 10_000 });
    expect(o.durationS).toBe(30);
    expect(o.warmupS).toBe(0);
  });

  it('--ws without --tcp - everyone on WebSocket', () => {
    const o = opts(['--ws', 'ws://127.0.0.1:3000/websocket']);
    expect(o.target).toEqual({ kind: 'direct', wsUrl: 'ws://127.0.0.1:3000/websocket', tcp: null });
    expect(o.tcpShare).toBe(0);
  });

  it('--ws with --tcp - both transports', () => {
    const o = opts(['--ws', 'ws://h:3000/websocket', '--tcp', 'h:8901', '--tcp-share', '0.25']);
    expect(o.target).toEqual({ kind: 'direct', wsUrl: 'ws://h:3000/websocket', tcp: { host: 'h', port: 8901 } });
    expect(o.tcpShare).toBe(0.25);
  });

  it('--spawn-cluster with chaos and sut options', () => {
    const o = opts([
      '--spawn-cluster', '3', '--kill-node-at', '5', '--drain-node-at', '7', '--duration', '10',
      '--sut-env', 'IM_RATE_LIMIT_PER_SEC=5000', '--sut-env', 'IM_LOG_LEVEL=info', '--sut-node-args', '--cpu-prof  --cpu-prof-dir=/tmp/p',
      '--sense-mode', '5s', '--json', '/tmp/x.json', '--echo-baseline',
    ]);
    expect(o.target).toEqual({ kind: 'spawn-cluster', gateways: 3 });
    expect(o.chaos.killNodeAtS).toBe(5);
    expect(o.chaos.drainNodeAtS).toBe(7);
    expect(o.sutEnv).toEqual({ IM_RATE_LIMIT_PER_SEC: '5000', IM_LOG_LEVEL: 'info' });
    expect(o.sutNodeArgs).toEqual(['--cpu-prof', '--cpu-prof-dir=/tmp/p']);
    expect(o.senseMode).toBe('5S');
    expect(o.jsonFile).toBe('/tmp/x.json');
    expect(o.echoBaseline).toBe(true);
  });

  it('no target - one problem naming every target flag', () => {
    expect(problems([])).toEqual([expect.stringMatching(/--dispatch URL, --ws URL, --spawn-standalone or --spawn-cluster N/)]);
  });

  it('two targets - rejected', () => {
    expect(problems(['--dispatch', 'http://a', '--spawn-standalone']).join('\n')).toMatch(/exclude each other/);
  });

  it('every problem reported together', () => {
    const p = problems([
      '--dispatch', 'ftp://x', '--users', '1', '--size', '10', '--inflight', '0', '--tcp-share', '2',
      '--duration', '-1', '--sense-mode', '7S', '--uid-prefix', 'bad prefix!',
    ]);
    const text = p.join('\n');
    expect(text).toMatch(/--dispatch: an http\(s\) URL/);
    expect(text).toMatch(/--users: a whole number from 2 to 19000/);
    expect(text).toMatch(/--size: a whole number from 32 to 5800/);
    expect(text).toMatch(/--inflight: a whole number from 1 to 1000/);
    expect(text).toMatch(/--tcp-share: a number from 0 to 1/);
    expect(text).toMatch(/--duration: a number from 0.1/);
    expect(text).toMatch(/--sense-mode: one of/);
    expect(text).toMatch(/--uid-prefix/);
    expect(p.length).toBeGreaterThanOrEqual(8);
  });

  it('numbers - non-numeric, fractional where whole is required', () => {
    expect(problems(['--spawn-standalone', '--users', 'many']).join()).toMatch(/--users: a whole number .* \(got "many"\)/);
    expect(problems(['--spawn-standalone', '--users', '10.5']).join()).toMatch(/--users: a whole number/);
    expect(problems(['--spawn-standalone', '--rate', '0']).join()).toMatch(/--rate: a number from 1/);
    expect(problems(['--spawn-standalone', '--users', '20000']).join()).toMatch(/to 19000/);
  });

  it('--workers - default 1; N forks workers; bounds, users per worker, no echo baseline or chaos with it', () => {
    const one = parseBenchArgs(['--spawn-standalone']);
    if (one.help) throw new Error('help');
    expect(one.options.workers).toBe(1);
    const two = parseBenchArgs(['--ws', 'ws://h:3000/websocket', '--workers', '2', '--rate', '5000']);
    if (two.help) throw new Error('help');
    expect(two.options.workers).toBe(2);
    expect(problems(['--spawn-standalone', '--workers', '0']).join()).toMatch(/--workers: a whole number from 1 to 32/);
    expect(problems(['--spawn-standalone', '--workers', '33']).join()).toMatch(/--workers: a whole number from 1 to 32/);
    expect(problems(['--spawn-standalone', '--workers', '1.5']).join()).toMatch(/--workers: a whole number/);
    expect(problems(['--spawn-standalone', '--workers', '3', '--users', '5']).join()).toMatch(/at least 2 users per worker/);
    expect(problems(['--spawn-standalone', '--workers', '2', '--echo-baseline']).join()).toMatch(/--workers: not with --echo-baseline/);
    expect(problems(['--spawn-cluster', '2', '--workers', '2', '--kill-node-at', '3']).join()).toMatch(/--workers: not with --kill-node-at/);
    // --echo-baseline alone stays fine
    expect(parseBenchArgs(['--spawn-standalone', '--workers', '1', '--echo-baseline']).help).toBe(false);
  });

  it('--rate with --inflight - rejected', () => {
    expect(problems(['--spawn-standalone', '--rate', '100', '--inflight', '2']).join()).toMatch(/--rate and --inflight exclude each other/);
  });

  it('--tcp without --ws, bad --tcp, TCP share without a TCP address', () => {
    expect(problems(['--dispatch', 'http://a', '--tcp', 'h:1']).join()).toMatch(/--tcp: only together with --ws/);
    expect(problems(['--ws', 'ws://a/websocket', '--tcp', 'nope']).join()).toMatch(/--tcp: HOST:PORT/);
    expect(problems(['--ws', 'ws://a/websocket', '--tcp-share', '0.5']).join()).toMatch(/need --tcp HOST:PORT/);
    expect(problems(['--ws', 'http://a/websocket']).join()).toMatch(/--ws: a ws:\/\/ or wss:\/\/ URL/);
  });

  it('chaos - needs pids or a spawned cluster, and must fall inside the load', () => {
    expect(problems(['--spawn-standalone', '--kill-node-at', '3']).join()).toMatch(/--kill-node-at: needs --spawn-cluster/);
    expect(problems(['--dispatch', 'http://a', '--kill-node-at', '3']).join()).toMatch(/--cluster-pids/);
    expect(opts(['--dispatch', 'http://a', '--kill-node-at', '3', '--cluster-pids', '/tmp/p.json']).chaos.clusterPidsFile).toBe('/tmp/p.json');
    expect(problems(['--spawn-cluster', '2', '--kill-node-at', '30', '--duration', '10', '--warmup', '2']).join()).toMatch(
      /inside the load \(warmup \+ duration = 12 s\)/,
    );
    expect(problems(['--ws', 'ws://a/websocket', '--drain-node-at', '1']).join()).toMatch(/--drain-node-at: needs a dispatch target/);
    expect(problems(['--spawn-standalone', '--restart-rabbitmq-at', '1']).join()).toMatch(/--restart-rabbitmq-at: needs a cluster/);
    expect(opts(['--spawn-cluster', '2', '--restart-rabbitmq-at', '1']).chaos.restartRabbitmqAtS).toBe(1);
  });

  it('--sut-env - KEY=VALUE only, and only with a spawned target', () => {
    expect(problems(['--spawn-standalone', '--sut-env', 'novalue']).join()).toMatch(/--sut-env: KEY=VALUE/);
    expect(problems(['--dispatch', 'http://a', '--sut-env', 'A=1']).join()).toMatch(/only with --spawn-standalone or --spawn-cluster/);
    expect(opts(['--spawn-standalone', '--sut-env', 'A=x=y']).sutEnv).toEqual({ A: 'x=y' });
  });

  it('unknown flag and positional - reported as problems', () => {
    expect(problems(['--spawn-standalone', '--bogus']).join()).toMatch(/bogus/);
    expect(problems(['--spawn-standalone', 'extra']).join()).toMatch(/extra|positional/i);
  });
});

describe('parseHostPort', () => {
  it('parseHostPort - host:port, [v6]:port, rejects the rest', () => {
    expect(parseHostPort('127.0.0.1:8901')).toEqual({ host: '127.0.0.1', port: 8901 });
    expect(parseHostPort('[::1]:8901')).toEqual({ host: '::1', port: 8901 });
    expect(parseHostPort('h:0')).toBeNull();
    expect(parseHostPort('h:70000')).toBeNull();
    expect(parseHostPort('h')).toBeNull();
  });
});

describe('isTcpUser', () => {
  it('isTcpUser - exact share, spread evenly', () => {
    const count = (n: number, share: number) => Array.from({ length: n }, (_, i) => isTcpUser(i, share)).filter(Boolean).length;
    expect(count(1000, 0.5)).toBe(500);
    expect(count(1000, 0)).toBe(0);
    expect(count(1000, 1)).toBe(1000);
    expect(count(1000, 0.3)).toBe(300);
    expect(count(7, 0.5)).toBe(3);
    // every prefix of 10 users holds about the same mix
    expect(count(10, 0.5)).toBe(5);
    expect(Array.from({ length: 4 }, (_, i) => isTcpUser(i, 0.5))).toEqual([false, true, false, true]);
  });
});
