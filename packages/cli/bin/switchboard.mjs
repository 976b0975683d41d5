#!/usr/bin/env node
// Runs the built CLI (dist/) when present, else the TypeScript sources through tsx, with the
// workspace packages resolved to their sources too (the "source" condition), so a fresh clone
// runs `pnpm exec switchboard …` without `pnpm build`.
import { existsSync } from 'node:fs';
import { register } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const built = join(here, '..', 'dist', 'main.js');
if (existsSync(built)) {
  await import(pathToFileURL(built).href);
} else {
  const { register: registerTsx } = await import('tsx/esm/api');
  registerTsx();
  // Registered after tsx, so it runs first and hands tsx the "source" condition.
  register('./source-conditions.mjs', import.meta.url);
  await import(pathToFileURL(join(here, '..', 'src', 'main.ts')).href);
}
