import { parseArgs } from 'node:util';
import type { Writable } from 'node:stream';
import { SignJWT } from 'jose';
import { MAX_USER_ID_LENGTH, SERVER_UID, UNSET_UID } from '@switchboard/protocol';

/** Shortest IM_JWT_SECRET the server accepts (the configuration's rule), so a token minted here is one it can check. */
export const MIN_JWT_SECRET_LENGTH = 16;
/** Validity of a token without `--ttl`, and the longest `--ttl` takes (seconds). */
export const DEFAULT_TOKEN_TTL_S = 3_600;
export const MAX_TOKEN_TTL_S = 30 * 86_400;

export const TOKEN_USAGE = `Usage: switchboard token --uid ID [--ttl 1h]

Mints a development login token: an HS256 JWT { sub: ID, iat, exp } signed with
IM_JWT_SECRET, the secret gateways and dispatch check tokens with under IM_AUTH=jwt (the
default outside standalone). Prints the token alone on stdout:

  switchboard chat --uid alice --token "$(switchboard token --uid alice)"

For development and tests: in production the application's own login service mints tokens
(the SDK's getToken option fetches them before each login).

Options:
  --uid ID     the user the token is for (its sub claim; required)
  --ttl T      how long it is valid: a whole number with s, m, h or d (default 1h, at most 30d)

Environment:
  IM_JWT_SECRET   the HS256 secret (required; at least ${MIN_JWT_SECRET_LENGTH} characters, as the server requires)

Exit codes: 0 printed, 2 a usage mistake or no usable IM_JWT_SECRET.`;

const UNIT_S: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3_600, d: 86_400 };

/** `90s`, `15m`, `1h`, `7d` in seconds; null for anything else (no unit, 0, over MAX_TOKEN_TTL_S). */
export function parseTtl(text: string): number | null {
  const m = /^([0-9]{1,7})([smhd])$/.exec(text);
  if (!m) return null;
  const s = Number(m[1]) * UNIT_S[m[2]!]!;
  return s >= 1 && s <= MAX_TOKEN_TTL_S ? s : null;
}

/** An HS256 JWT for `uid` (`sub`), issued `now` (ms; `iat`) and valid `ttlS` seconds (`exp`). */
export async function mintToken(opts: { uid: string; secret: string; ttlS: number; now?: number }): Promise<string> {
  const iat = Math.floor((opts.now ?? Date.now()) / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(opts.uid)
    .setIssuedAt(iat)
    .setExpirationTime(iat + opts.ttlS)
    .sign(new TextEncoder().encode(opts.secret));
}

/** Why the arguments and environment cannot mint a token (one line), or what to mint. */
function tokenRequest(argv: string[], env: Readonly<Record<string, string | undefined>>): { help: true } | { error: string } | { uid: string; ttlS: number; secret: string } {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { uid: { type: 'string' }, ttl: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (err) {
    return { error: `${err instanceof Error ? err.message.replace(/\. To specify a positional argument.*$/, '') : String(err)}; see: switchboard token --help` };
  }
  if (values.help) return { help: true };
  const uid = values.uid;
  if (!uid) return { error: '--uid is required: the user the token is for (switchboard token --uid alice)' };
  if (uid === SERVER_UID || uid === UNSET_UID || uid.length > MAX_USER_ID_LENGTH) {
    return { error: `--uid must be a user id of 1 to ${MAX_USER_ID_LENGTH} characters other than "${SERVER_UID}" and "${UNSET_UID}"` };
  }
  const ttlS = values.ttl === undefined ? DEFAULT_TOKEN_TTL_S : parseTtl(values.ttl);
  if (ttlS === null) return { error: `--ttl must be a whole number with s, m, h or d, from 1s to 30d (like 15m or 1h), got "${values.ttl}"` };
  const secret = env['IM_JWT_SECRET'];
  if (!secret) return { error: 'IM_JWT_SECRET is not set: export the secret the gateways check tokens with (IM_AUTH=jwt) and run again' };
  if (secret.length < MIN_JWT_SECRET_LENGTH) return { error: `IM_JWT_SECRET is shorter than ${MIN_JWT_SECRET_LENGTH} characters, so no server accepts it` };
  return { uid, ttlS, secret };
}

/** `switchboard token …` on the given streams; resolves with the exit code (0, or 2 with one line on `err`). */
export async function runToken(argv: string[], env: Readonly<Record<string, string | undefined>>, out: Writable, err: Writable): Promise<number> {
  const req = tokenRequest(argv, env);
  if ('help' in req) {
    out.write(TOKEN_USAGE + '\n');
    return 0;
  }
  if ('error' in req) {
    err.write(`switchboard token: ${req.error}\n`);
    return 2;
  }
  out.write((await mintToken(req)) + '\n');
  return 0;
}

/** `switchboard token …` in the CLI process. */
export async function runTokenCli(argv: string[]): Promise<void> {
  process.exitCode = await runToken(argv, process.env, process.stdout, process.stderr);
}
