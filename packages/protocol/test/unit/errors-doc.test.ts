import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CloseCode, ErrorCode, KickoutCode, ProtocolErrorKind } from '../../src/index.js';

// docs/errors.md must list every code of each catalog, and nothing else, in that catalog's section.
const DOC_URL = new URL('../../../../docs/errors.md', import.meta.url);
const doc = readFileSync(DOC_URL, 'utf8');

/** Body of the `## ` section whose heading contains `marker` (up to the next `## ` heading). */
function section(marker: string): string {
  const parts = doc.split(/^## /m).slice(1);
  const matches = parts.filter((p) => (p.split('\n', 1)[0] ?? '').includes(marker));
  expect(matches, `exactly one "## " section mentioning ${marker} in docs/errors.md`).toHaveLength(1);
  return matches[0] ?? '';
}

/** Table rows of a section as [code, name], from lines like "| `1026` | RATE_LIMITED | ... |". */
function rows(body: string): [string, string][] {
  const out: [string, string][] = [];
  for (const line of body.split('\n')) {
    const m = /^\|\s*`([^`]+)`\s*\|\s*([A-Z0-9_]+)\s*\|/.exec(line);
    if (m) out.push([m[1] ?? '', m[2] ?? '']);
  }
  return out;
}

const CATALOGS: [string, Record<string, number | string>][] = [
  ['`ErrorCode`', ErrorCode],
  ['`KickoutCode`', KickoutCode],
  ['`CloseCode`', CloseCode],
  ['`ProtocolErrorKind`', ProtocolErrorKind],
];

describe('docs/errors.md', () => {
  it.each(CATALOGS)('catalog - %s: documented codes equal the catalog both ways', (marker, catalog) => {
    const documented = rows(section(marker));
    const docCodes = documented.map(([code]) => code);
    const codeCodes = Object.values(catalog).map(String);
    expect(new Set(docCodes).size, 'no code documented twice').toBe(docCodes.length);
    expect([...docCodes].sort()).toEqual([...codeCodes].sort());
  });

  it.each(CATALOGS)('catalog - %s: every row names the constant that holds its code', (marker, catalog) => {
    for (const [code, name] of rows(section(marker))) {
      expect(Object.hasOwn(catalog, name), `${name} is a key of ${marker}`).toBe(true);
      expect(String(catalog[name]), `${marker}.${name}`).toBe(code);
    }
  });

  it('format - every table row of a catalog section has a non-empty advice column', () => {
    for (const [marker] of CATALOGS) {
      for (const line of section(marker).split('\n')) {
        if (!line.startsWith('| `')) continue;
        const cells = line.split('|').slice(1, -1).map((c) => c.trim());
        expect(cells.length, line).toBeGreaterThanOrEqual(3);
        expect(cells.at(-1)?.length ?? 0, line).toBeGreaterThan(10);
      }
    }
  });
});
