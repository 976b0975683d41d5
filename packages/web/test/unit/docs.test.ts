import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// docs/web.md shows the page's key states with screenshots made by the browser tests.
const DOCS = new URL('../../../../docs/', import.meta.url);
const doc = readFileSync(new URL('web.md', DOCS), 'utf8');

describe('docs/web.md', () => {
  it('screenshots - every image it references exists, and every screenshot is referenced', () => {
    const refs = [...doc.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThanOrEqual(5);
    for (const r of refs) expect(existsSync(new URL(r, DOCS)), r).toBe(true);
    const files = readdirSync(new URL('screenshots/', DOCS)).filter((f) => f.endsWith('.png'));
    expect(files.map((f) => `screenshots/${f}`).sort()).toEqual([...new Set(refs)].sort());
  });
  it('quick start - says how to open the page after `pnpm start`', () => {
    expect(doc).toContain('pnpm install && pnpm start');
    expect(doc).toContain('http://127.0.0.1:8080/');
  });
});
