import { describe, expect, it } from 'vitest';
import { UnavailableError } from '@switchboard/core';
import { ROLE_HELP, USAGE, UsageError, dropPnpmSeparators, parseRoleArgs } from '../../src/args.js';
import { BootError, listenFailure, maskUrl, needRedis, rabbitFailure, rootMessage } from '../../src/boot-errors.js';
import { EventEmitter } from 'node:events';

describe('dropPnpmSeparators', () => {
  it('drops the "--" pnpm 10 passes through, before the command or right after it', () => {
    expect(dropPnpmSeparators(['cluster', '--', '--gateways', '3'])).toEqual(['cluster', '--gateways', '3']);
    expect(dropPnpmSeparators(['--', 'chat', '--uid', 'a'])).toEqual(['chat', '--uid', 'a']);
    expect(dropPnpmSeparators(['--', 'cluster', '--', '--gateways', '2'])).toEqual(['cluster', '--gateways', '2']);
    expect(dropPnpmSeparators(['cluster', '--gateways', '3'])).toEqual(['cluster', '--gateways', '3']);
    expect(dropPnpmSeparators([])).toEqual([]);
  });
});

describe('USAGE (switchboard --help)', () => {
  it('lists every command main.ts runs, token included, one line each in the same column', () => {
    const lines = USAGE.split('\n');
    for (const command of ['standalone', 'gateway', 'dispatch', 'cluster', 'bench', 'chat', 'token']) {
      const line = lines.find((l) => l.startsWith(`  ${command} `) || l === `  ${command}`);
      expect(line, `no line for ${command}`).toBeDefined();
      // Every description starts in the same column (26).
      expect(line!.charAt(25)).toBe(' ');
      expect(line!.charAt(26)).not.toBe(' ');
    }
    expect(USAGE).toContain('token --uid ID          mint a development login token from IM_JWT_SECRET (see: switchboard token --help)');
  });
});

describe('parseRoleArgs', () => {
  it('--help and -h on every server role', () => {
    for (const role of ['standalone', 'gateway', 'dispatch', 'cluster'] as const) {
      expect(parseRoleArgs(role, ['--help'])).toEqual({ help: true });
      expect(parseRoleArgs(role, ['-h'])).toEqual({ help: true });
      expect(ROLE_HELP[role]).toMatch(new RegExp(`^Usage: switchboard ${role}`));
    }
  });

  it('--gateways N for cluster, 3 by default, 1 to 64', () => {
    expect(parseRoleArgs('cluster', [])).toEqual({ help: false, gateways: 3 });
    expect(parseRoleArgs('cluster', ['--gateways', '5'])).toEqual({ help: false, gateways: 5 });
    expect(parseRoleArgs('cluster', ['--gateways=64'])).toEqual({ help: false, gateways: 64 });
    for (const bad of ['0', '65', 'x', '2.5', '', '--gateways=-1']) {
      const args = bad.startsWith('--') ? [bad] : ['--gateways', bad];
      expect(() => parseRoleArgs('cluster', args), bad).toThrow(/--gateways must be a whole number from 1 to 64/);
    }
  });

  it('an unknown flag or a stray argument is a UsageError of one line pointing at --help', () => {
    for (const [role, args] of [
      ['gateway', ['--bogus']],
      ['standalone', ['--gateways', '2']],
      ['dispatch', ['extra']],
      ['cluster', ['--', '--gateways', '3']],
    ] as const) {
      let err: unknown;
      try {
        parseRoleArgs(role, args);
      } catch (e) {
        err = e;
      }
      expect(err, `${role} ${args.join(' ')}`).toBeInstanceOf(UsageError);
      const msg = (err as Error).message;
      expect(msg).not.toContain('\n');
      expect(msg).toContain(`see: switchboard ${role} --help`);
    }
  });
});

describe('boot errors', () => {
  const inUse = (port: number, syscall = 'listen') => Object.assign(new Error(`listen EADDRINUSE: address already in use 127.0.0.1:${port}`), { code: 'EADDRINUSE', syscall, port });

  it('a busy port names the variable that sets it; a tagged gateway listener wins over the fallback', () => {
    const e = listenFailure(inUse(3000), '127.0.0.1', 3000, 'admin');
    expect(e).toBeInstanceOf(BootError);
    expect((e as BootError).message).toBe('cannot listen on 127.0.0.1:3000 for the gateway admin API: the port is in use (EADDRINUSE); set IM_ADMIN_PORT to a free port (0 picks any)');
    expect((e as BootError).exitCode).toBe(1);
    const tagged = Object.assign(inUse(7901, 'bind'), { listener: 'udp' });
    expect((listenFailure(tagged, '0.0.0.0', 0) as Error).message).toMatch(/0\.0\.0\.0:7901 for UDP clients.*IM_UDP_PORT/);
    const notAvail = Object.assign(new Error('x'), { code: 'EADDRNOTAVAIL', syscall: 'listen', port: 1 });
    expect((listenFailure(notAvail, '10.9.9.9', 1, 'dispatch') as Error).message).toMatch(/IM_BIND_HOST/);
    // Anything else passes through untouched.
    const other = new Error('boom');
    expect(listenFailure(other, 'h', 1, 'ws')).toBe(other);
    expect(listenFailure(inUse(1), 'h', 1)).toBeInstanceOf(Error);
    expect(listenFailure(inUse(1), 'h', 1)).not.toBeInstanceOf(BootError);
  });

  it('Redis unreachable: the URL (password hidden), IM_REDIS_URL and the connection error, not the client\'s retry error', async () => {
    const client = new EventEmitter();
    const p = needRedis('redis://:secret@10.0.0.1:6379', client, async () => {
      client.emit('error', new Error('connect ECONNREFUSED 10.0.0.1:6379'));
      throw new Error('Reached the max retries per request limit (which is 0).');
    });
    await expect(p).rejects.toThrow('Redis at redis://:***@10.0.0.1:6379 (IM_REDIS_URL) is unreachable: connect ECONNREFUSED 10.0.0.1:6379; start Redis or set IM_REDIS_URL');
    expect(client.listenerCount('error')).toBe(0);
    await expect(needRedis('redis://h', client, async () => 'PONG')).resolves.toBe('PONG');
  });

  it('RabbitMQ unreachable: the URL (password hidden), IM_AMQP_URL and the innermost cause', () => {
    const err = new UnavailableError('bridge cannot connect to RabbitMQ', { cause: new Error('connect ECONNREFUSED 127.0.0.1:5672') });
    const e = rabbitFailure(err, 'amqp://guest:guest@127.0.0.1:5672');
    expect((e as Error).message).toBe(
      'RabbitMQ at amqp://guest:***@127.0.0.1:5672 (IM_AMQP_URL) is unreachable: connect ECONNREFUSED 127.0.0.1:5672; start RabbitMQ or set IM_AMQP_URL',
    );
    const other = new TypeError('a bug');
    expect(rabbitFailure(other, 'amqp://h')).toBe(other);
    expect(maskUrl('amqp://u:p@h:1/v')).toBe('amqp://u:***@h:1/v');
    expect(rootMessage(new Error('outer', { cause: new Error('inner') }))).toBe('inner');
  });
});
