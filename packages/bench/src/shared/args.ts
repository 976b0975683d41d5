/**
 * Argument helpers both tools' parsers share (`load/args.ts`, `idle/idle-args.ts`), and how a
 * `--tcp-share` spreads the TCP users over the user indexes.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { randomBytes } from 'node:crypto';
import { parseSenseMode, type SenseMode } from '@switchboard/protocol';
import { DEFAULT_SENSE_MODE } from './defaults.js';
import { ConfigError } from '@switchboard/core';

type FlagSpec = NonNullable<ParseArgsConfig['options']>;
/** The values `parseFlags` returns for `spec`. */
export type ParsedFlags<S extends FlagSpec> = ReturnType<typeof parseArgs<{ options: S; strict: true; allowPositionals: false }>>['values'];

/**
 * `parseArgs` in strict mode over `spec`, with a lone leading `--` (as `pnpm bench -- ...` passes it)
 * ignored and `--flag=value` / `--flag value` both accepted; a parse failure is a ConfigError.
 */
export function parseFlags<const S extends FlagSpec>(argv: readonly string[], spec: S): ParsedFlags<S> {
  const args = joinValues(argv.filter((a, i) => !(a === '--' && i === 0)), spec);
  try {
    return parseArgs({ args, options: spec, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new ConfigError([err instanceof Error ? err.message : String(err)]);
  }
}

/**
 * A reader of numeric flags that records every problem in `problems` (so all are reported together)
 * and falls back to the default: `num('users', 1000, { min: 1, max: 1e6, int: true })`.
 */
export function numberFlags<F extends string>(values: Readonly<Partial<Record<F, unknown>>>, problems: string[]) {
  return (flag: F, dflt: number, opts: { min: number; max: number; int?: boolean }): number => {
    const raw = values[flag];
    if (raw === undefined) return dflt;
    if (typeof raw !== 'string' || raw.trim() === '') {
      problems.push(`--${flag}: a number is required`);
      return dflt;
    }
    const n = Number(raw);
    const kind = opts.int ? 'a whole number' : 'a number';
    if (!Number.isFinite(n) || (opts.int && !Number.isInteger(n)) || n < opts.min || n > opts.max) {
      problems.push(`--${flag}: ${kind} from ${opts.min} to ${opts.max} is required (got "${raw}")`);
      return dflt;
    }
    return n;
  };
}

/**
 * `--flag value` → `--flag=value` for flags that take a value, so values that start with a dash
 * (`--sut-node-args "--cpu-prof"`, `--duration -1`) reach validation instead of confusing parseArgs.
 */
export function joinValues(argv: readonly string[], options: Readonly<Record<string, { type: 'string' | 'boolean' }>>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const name = a.startsWith('--') ? a.slice(2) : null;
    const spec = name !== null && Object.hasOwn(options, name) ? options[name] : null;
    if (spec && spec.type === 'string' && i + 1 < argv.length) {
      out.push(`${a}=${argv[i + 1]!}`);
      i++;
    } else {
      out.push(a);
    }
  }
  return out;
}

/** `s` as a URL when its protocol is one of `protocols` (e.g. `['ws:', 'wss:']`); null otherwise. */
export function parseUrl(s: string, protocols: string[]): URL | null {
  try {
    const u = new URL(s);
    return protocols.includes(u.protocol) ? u : null;
  } catch {
    return null; // not a URL: the caller reports the flag
  }
}

/** "host:port" or "[v6]:port". */
export function parseHostPort(s: string): { host: string; port: number } | null {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(s.trim());
  if (!m) return null;
  const port = Number(m[2]);
  if (port < 1 || port > 65_535) return null;
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

/**
 * Whether user `i` of `n` uses TCP, for a TCP share `share`: spreads the TCP users evenly over the
 * index range (so any prefix of the users has about the same mix), exactly round(n · share) of them.
 */
export function isTcpUser(i: number, share: number): boolean {
  return Math.floor((i + 1) * share + 1e-9) > Math.floor(i * share + 1e-9);
}

/** `--sense-mode` (default DEFAULT_SENSE_MODE); a bad value is a problem. */
export function senseModeFlag(raw: string | undefined, problems: string[]): SenseMode {
  if (raw === undefined) return DEFAULT_SENSE_MODE;
  const m = parseSenseMode(raw);
  if (m) return m;
  problems.push(`--sense-mode: one of 3S, 5S, 10S, 15S, 30S, 60S, 120S (got "${raw}")`);
  return DEFAULT_SENSE_MODE;
}

/** `--uid-prefix` (default `<lead><6 random hex>-`): 1–32 letters, digits, _ . - */
export function uidPrefixFlag(raw: string | undefined, lead: string, problems: string[]): string {
  const uidPrefix = raw ?? `${lead}${randomBytes(3).toString('hex')}-`;
  if (!/^[A-Za-z0-9_.-]{1,32}$/.test(uidPrefix)) problems.push('--uid-prefix: 1–32 letters, digits, _ . -');
  return uidPrefix;
}
