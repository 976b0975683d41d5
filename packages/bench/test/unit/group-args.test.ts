import { describe, expect, it } from 'vitest';
import { ConfigError } from '@switchboard/core';
import { GROUP_USAGE, groupId, parseGroupArgs, type GroupOptions } from '../../src/group/group-args.js';
import * as D from '../../src/shared/defaults.js';

function opts(argv: string[], env: NodeJS.ProcessEnv = {}): GroupOptions {
  const r = parseGroupArgs(argv, env);
  if (r.help) throw new Error('unexpected help');
  return r.options;
}

function problems(argv: string[], env: NodeJS.ProcessEnv = {}): readonly string[] {
  try {
    parseGroupArgs(argv, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error(`expected a ConfigError for ${argv.join(' ')}`);
}

describe('parseGroupArgs', () => {
  it('the issue command - 1 group of 500 over 3 gateways at 40 msg/s, 20 s measured after 3 s', () => {
    const o = opts(['--', '--spawn-cluster', '3', '--groups', '1', '--members', '500', '--rate', '40', '--duration', '20', '--warmup', '3']);
    expect(o.target).toEqual({ kind: 'spawn-cluster', gateways: 3 });
    expect(o.users).toBe(500);
    expect(o.group).toEqual({ groups: 1, members: 500, placement: 'dispatch', prefix: 'g:', adminToken: null });
    expect(o.load).toEqual({ kind: 'open', ratePerSec: 40 });
    expect(o.durationS).toBe(20);
    expect(o.warmupS).toBe(3);
    // The load mode's options group mode does not use are fixed.
    expect(o.pairing).toBe('random');
    expect(o.echoBaseline).toBe(false);
    expect(o.chaos.killNodeAtS).toBeNull();
    expect(o.sutEnv).toEqual({});
  });

  it('defaults - 1 group of 100, 10 msg/s, half TCP, 100 bytes, the load mode session defaults', () => {
    const o = opts(['--spawn-standalone']);
    expect(o.group.groups).toBe(D.DEFAULT_GROUPS);
    expect(o.group.members).toBe(D.DEFAULT_GROUP_MEMBERS);
    expect(o.users).toBe(D.DEFAULT_GROUPS * D.DEFAULT_GROUP_MEMBERS);
    expect(o.load).toEqual({ kind: 'open', ratePerSec: D.DEFAULT_GROUP_RATE });
    expect(o.tcpShare).toBe(D.DEFAULT_TCP_SHARE);
    expect(o.sizeBytes).toBe(D.DEFAULT_SIZE_BYTES);
    expect(o.drainS).toBe(D.DEFAULT_DRAIN_S);
    expect(o.uidPrefix).toMatch(/^b[0-9a-f]{6}-$/);
  });

  it('help - -h, --help; the usage names every group flag', () => {
    expect(parseGroupArgs(['-h'])).toEqual({ help: true });
    expect(parseGroupArgs(['--help'])).toEqual({ help: true });
    for (const flag of ['--groups', '--members', '--placement', '--group-prefix', '--admin-token', '--rate', '--inflight', '--spawn-standalone', '--sut-node-args']) {
      expect(GROUP_USAGE).toContain(flag);
    }
  });

  it('closed loop - --inflight K per member; with --rate it is refused', () => {
    expect(opts(['--spawn-standalone', '--inflight', '2']).load).toEqual({ kind: 'closed', inflight: 2 });
    expect(problems(['--spawn-standalone', '--inflight', '2', '--rate', '5'])).toContain('--rate and --inflight exclude each other (open loop or closed loop)');
  });

  it('targets - dispatch and spawns; --ws is refused (the groups are made through dispatch)', () => {
    expect(opts(['--dispatch', 'http://127.0.0.1:8080/']).target).toEqual({ kind: 'dispatch', url: 'http://127.0.0.1:8080' });
    expect(problems(['--ws', 'ws://127.0.0.1:3000/websocket'])[0]).toMatch(/^--ws: group mode creates its groups through dispatch's admin API/);
    expect(problems([])).toContain('a target is required: --dispatch URL, --ws URL, --spawn-standalone or --spawn-cluster N');
  });

  it('load-mode-only flags - unknown here', () => {
    for (const argv of [['--users', '10'], ['--pairing', 'cross-node'], ['--echo-baseline'], ['--kill-node-at', '3']]) {
      expect(problems(['--spawn-standalone', ...argv])[0]).toMatch(/Unknown option/);
    }
  });

  it('sizes - members 2..10000, groups x members at most the users one process holds', () => {
    expect(problems(['--spawn-standalone', '--members', '1'])).toEqual([`--members: a whole number from 2 to ${D.MAX_GROUP_MEMBERS} is required (got "1")`]);
    expect(problems(['--spawn-standalone', '--groups', '20', '--members', '1000'])).toEqual([
      `--groups x --members: 20000 users; at most ${D.MAX_USERS} (one socket each in one process)`,
    ]);
    expect(opts(['--spawn-standalone', '--groups', '19', '--members', '1000']).users).toBe(19_000);
  });

  it('member cap - a spawned system gets IM_GROUP_MAX_MEMBERS above its default, unless --sut-env sets it', () => {
    expect(opts(['--spawn-standalone', '--members', '2000']).sutEnv).toEqual({});
    expect(opts(['--spawn-standalone', '--members', '5000']).sutEnv).toEqual({ IM_GROUP_MAX_MEMBERS: '5000' });
    expect(opts(['--spawn-standalone', '--members', '5000', '--sut-env', 'IM_GROUP_MAX_MEMBERS=9000']).sutEnv).toEqual({ IM_GROUP_MAX_MEMBERS: '9000' });
    expect(opts(['--dispatch', 'http://h:1', '--members', '5000']).sutEnv).toEqual({});
  });

  it('placement - dispatch or round-robin', () => {
    expect(opts(['--spawn-cluster', '3', '--placement', 'round-robin']).group.placement).toBe('round-robin');
    expect(problems(['--spawn-cluster', '3', '--placement', 'random'])).toEqual(['--placement: dispatch or round-robin (got "random")']);
  });

  it('group prefix - --group-prefix, else the spawned IM_GROUP_PREFIX, else g:; user ids may not start with it', () => {
    expect(opts(['--spawn-standalone', '--group-prefix', 'grp/']).group.prefix).toBe('grp/');
    expect(opts(['--spawn-standalone', '--sut-env', 'IM_GROUP_PREFIX=#']).group.prefix).toBe('#');
    expect(problems(['--spawn-standalone', '--group-prefix', 'a b'])).toEqual(['--group-prefix: 1–16 characters without spaces (got "a b")']);
    expect(problems(['--spawn-standalone', '--uid-prefix', 'g', '--group-prefix', 'g'])[0]).toMatch(/^--uid-prefix: user ids may not start with the group prefix/);
  });

  it('admin token - --admin-token, else the spawned IM_ADMIN_TOKEN, else $IM_ADMIN_TOKEN; an empty one is none', () => {
    expect(opts(['--spawn-standalone'], { IM_ADMIN_TOKEN: 'env' }).group.adminToken).toBe('env');
    expect(opts(['--spawn-standalone', '--sut-env', 'IM_ADMIN_TOKEN=sut'], { IM_ADMIN_TOKEN: 'env' }).group.adminToken).toBe('sut');
    expect(opts(['--spawn-standalone', '--admin-token', 'flag', '--sut-env', 'IM_ADMIN_TOKEN=sut']).group.adminToken).toBe('flag');
    expect(opts(['--spawn-standalone'], { IM_ADMIN_TOKEN: '' }).group.adminToken).toBeNull();
  });

  it('every problem at once, in the order of the usage', () => {
    expect(problems(['--ws', 'ws://h:1/websocket', '--members', 'x', '--placement', 'p'])).toEqual([
      "--ws: group mode creates its groups through dispatch's admin API: give --dispatch URL, --spawn-standalone or --spawn-cluster N",
      '--members: a whole number from 2 to 10000 is required (got "x")',
      '--placement: dispatch or round-robin (got "p")',
    ]);
  });

  it('groupId - the run prefix and the group number', () => {
    expect(groupId('b1a2b3c-', 7)).toBe('b1a2b3c-g7');
  });
});
