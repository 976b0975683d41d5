import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';

/**
 * The Lua scripts of the Redis backends, read once at module load from `src/redis/lua/*.lua`.
 *
 * The `.lua` files stay in the source tree (they are not copied by `tsc`): running from source
 * (tsx, vitest) they sit next to this module in `./lua/`; running the `tsc` build from `dist/redis/`
 * they are found at `../../src/redis/lua/` (the package ships `src` in its `files`).
 */
const LUA_DIR_CANDIDATES = [new URL('./lua/', import.meta.url), new URL('../../src/redis/lua/', import.meta.url)];

function luaDir(): URL {
  for (const dir of LUA_DIR_CANDIDATES) if (existsSync(fileURLToPath(new URL('route-claim.lua', dir)))) return dir;
  throw new Error(`Switchboard Redis Lua scripts not found; looked in ${LUA_DIR_CANDIDATES.map((u) => fileURLToPath(u)).join(', ')}`);
}

const dir = luaDir();
const lua = (file: string): string => readFileSync(new URL(file, dir), 'utf8');

/** A history script after the shared functions (`append`, `index`) it calls. */
const HISTORY_CORE = (file: string) => ['history-append-core.lua', file] as const;

/**
 * Script name → file (or files, joined in order) and number of KEYS (null: given per call, before the
 * keys). The command names are namespaced (`sb…`) to avoid clashing with others' scripts.
 */
const SCRIPTS = {
  sbRouteClaim: { file: 'route-claim.lua', numberOfKeys: 1 },
  sbRouteUnregister: { file: 'route-unregister.lua', numberOfKeys: 1 },
  sbRouteDeleteIfNode: { file: 'route-delete-if-node.lua', numberOfKeys: 1 },
  sbOfflineStore: { file: 'offline-store.lua', numberOfKeys: 2 },
  sbOfflinePeek: { file: 'offline-peek.lua', numberOfKeys: 2 },
  sbOfflineRemove: { file: 'offline-remove.lua', numberOfKeys: 2 },
  sbOfflineBudget: { file: 'offline-budget.lua', numberOfKeys: 1 },
  sbPresenceSeen: { file: 'presence-seen.lua', numberOfKeys: 1 },
  sbHistoryAppend: { file: HISTORY_CORE('history-append.lua'), numberOfKeys: 3 },
  /** The same script with the two users' index keys (KEYS[4], KEYS[5]; the same key twice for one user). */
  sbHistoryAppendIndexed: { file: HISTORY_CORE('history-append.lua'), numberOfKeys: 5 },
  /** Several messages with their users' indexes, 5 keys each (single Redis and Sentinel only). */
  sbHistoryAppendBatch: { file: HISTORY_CORE('history-append-batch.lua'), numberOfKeys: null },
  sbHistoryIndex: { file: HISTORY_CORE('history-index.lua'), numberOfKeys: 1 },
  sbHistoryRange: { file: 'history-range.lua', numberOfKeys: 2 },
  sbHistoryRead: { file: 'history-read.lua', numberOfKeys: 2 },
  sbHistoryCursor: { file: 'history-cursor.lua', numberOfKeys: 1 },
  sbGroupPut: { file: 'group-put.lua', numberOfKeys: 2 },
  sbGroupAdd: { file: 'group-add.lua', numberOfKeys: 2 },
  sbGroupDelete: { file: 'group-delete.lua', numberOfKeys: 2 },
  sbGroupRestart: { file: 'group-restart.lua', numberOfKeys: 1 },
  sbNodeReport: { file: 'node-report.lua', numberOfKeys: 2 },
  sbNodeList: { file: 'node-list.lua', numberOfKeys: 2 },
  sbNodeGet: { file: 'node-get.lua', numberOfKeys: 2 },
  sbNodeExpired: { file: 'node-expired.lua', numberOfKeys: 1 },
  sbNodeForget: { file: 'node-forget.lua', numberOfKeys: 3 },
  sbNodeRemove: { file: 'node-remove.lua', numberOfKeys: 3 },
} as const;

/** Name of a script command defined by `installScripts`. */
export type ScriptName = keyof typeof SCRIPTS;

type Source = { lua: string; numberOfKeys: number | null };
const SOURCES: Readonly<Record<ScriptName, Source>> = Object.fromEntries(
  Object.entries(SCRIPTS).map(([name, s]) => [name, { lua: typeof s.file === 'string' ? lua(s.file) : s.file.map(lua).join('\n'), numberOfKeys: s.numberOfKeys }]),
) as Record<ScriptName, Source>;

/** The Lua source of a script (for tests and tooling). */
export function scriptSource(name: ScriptName): string {
  return SOURCES[name].lua;
}

const installed = new WeakSet<Redis>();

/**
 * Define every script on `redis` with `defineCommand` (once per client; idempotent). ioredis then
 * runs them with EVALSHA and falls back to EVAL on NOSCRIPT (after a Redis restart).
 */
export function installScripts(redis: Redis): void {
  if (installed.has(redis)) return;
  for (const [name, s] of Object.entries(SOURCES)) redis.defineCommand(name, s.numberOfKeys === null ? { lua: s.lua } : { lua: s.lua, numberOfKeys: s.numberOfKeys });
  installed.add(redis);
}

type ScriptFn = (...keysAndArgs: (string | number)[]) => Promise<unknown>;

/** A script command's arguments: the keys (after their count, for a script whose count varies), then `args`. */
export function scriptArgs(name: ScriptName, keys: readonly string[], args: readonly (string | number)[]): (string | number)[] {
  return SOURCES[name].numberOfKeys === null ? [keys.length, ...keys, ...args] : [...keys, ...args];
}

/** Run a script installed by `installScripts`. `keys.length` must match the script's KEYS count, if it has one. */
export function runScript(redis: Redis, name: ScriptName, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
  installScripts(redis);
  const fn = (redis as unknown as Record<ScriptName, ScriptFn>)[name];
  return fn.apply(redis, scriptArgs(name, keys, args));
}
