import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { clearReadyFile, writeReadyFile } from '../../src/ready-file.js';

describe('IM_READY_FILE', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ready-file-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('config - optional, blank counts as unset', () => {
    expect(loadConfig('standalone', {}).readyFile).toBeUndefined();
    expect(loadConfig('standalone', { IM_READY_FILE: ' ' }).readyFile).toBeUndefined();
    expect(loadConfig('standalone', { IM_READY_FILE: '/tmp/x.json' }).readyFile).toBe('/tmp/x.json');
  });

  it('writeReadyFile - the ready line as JSON, no temporary file left; clearReadyFile removes a stale one', () => {
    const file = path.join(dir, 'ready.json');
    writeFileSync(file, 'stale');
    clearReadyFile(file);
    expect(existsSync(file)).toBe(false);
    const ready = { event: 'ready', role: 'gateway', nodeId: 'gw-1', ports: { ws: 1, tcp: 2, udp: 3, admin: 4 } };
    writeReadyFile(file, ready);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(ready);
    expect(readdirSync(dir)).toEqual(['ready.json']);
    clearReadyFile(file);
    clearReadyFile(undefined);
    writeReadyFile(undefined, ready); // no-op
    expect(readdirSync(dir)).toEqual([]);
  });

  it('writeReadyFile - an unwritable path is reported, not thrown', () => {
    expect(() => writeReadyFile(path.join(dir, 'missing', 'ready.json'), { event: 'ready' })).not.toThrow();
  });
});
