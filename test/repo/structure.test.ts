import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

// docs/internals.md "Size limits": no source file in packages/*/src over 600 lines (400 in the
// gateway), no function outside tests over 120 lines. The script prints each breach.
describe('repository structure', () => {
  it('source files and functions stay within the size limits', () => {
    const r = spawnSync(process.execPath, ['scripts/check-structure.mjs'], { cwd: root, encoding: 'utf8' });
    expect(r.stdout.trim().split('\n').filter((l) => !l.startsWith('structure:'))).toEqual([]);
    expect(r.status).toBe(0);
  });
});
