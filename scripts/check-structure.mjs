#!/usr/bin/env node
// The size limits of docs/internals.md: no source file in packages/*/src over 600 lines (400 in the
// gateway), no function outside tests over 120 lines. Prints each breach; exits 1 when there is one.
// Used by packages/core/test/unit/structure.test.ts; run by hand with `node scripts/check-structure.mjs`.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const LIMITS = { fileLines: 600, gatewayFileLines: 400, functionLines: 120 };

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(ts|tsx|mts)$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Every breach of LIMITS under `root`'s packages, as printable lines. */
export function breaches(root) {
  const found = [];
  const pkgs = join(root, 'packages');
  for (const pkg of readdirSync(pkgs)) {
    const src = join(pkgs, pkg, 'src');
    try {
      statSync(src);
    } catch {
      continue;
    }
    for (const file of walk(src, [])) {
      const text = readFileSync(file, 'utf8');
      const rel = relative(root, file);
      const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
      const max = pkg === 'gateway' ? LIMITS.gatewayFileLines : LIMITS.fileLines;
      if (lines > max) found.push(`${rel}: ${lines} lines (limit ${max})`);
      const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
      const visit = (node) => {
        if (ts.isFunctionLike(node) && node.body) {
          const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
          const end = sf.getLineAndCharacterOfPosition(node.end).line;
          const n = end - start + 1;
          if (n > LIMITS.functionLines) {
            const name = node.name ? node.name.getText(sf) : '(anonymous)';
            found.push(`${rel}:${start + 1} ${name}: ${n} lines (limit ${LIMITS.functionLines})`);
          }
        }
        ts.forEachChild(node, visit);
      };
      visit(sf);
    }
  }
  return found;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const found = breaches(root);
  for (const line of found) console.log(line);
  console.log(found.length === 0 ? 'structure: within limits' : `structure: ${found.length} over the limits`);
  process.exit(found.length === 0 ? 0 : 1);
}
