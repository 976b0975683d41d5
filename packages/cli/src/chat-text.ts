import { ClientErrorCode, type ClientError } from '@switchboard/client';
import { ErrorCode, SERVER_UID } from '@switchboard/protocol';

/** Dispatch's port when neither `--dispatch` nor IM_DISPATCH_PORT names one (dispatch's DEFAULT_DISPATCH_PORT; `pnpm start` listens there). */
export const DEFAULT_CHAT_DISPATCH_PORT = 8080;

/**
 * The dispatch origin the chat asks: `--dispatch URL` when given, else loopback on IM_DISPATCH_PORT
 * (the port the server's own configuration reads), else on 8080. A string is a problem to report.
 */
export function chatDispatchUrl(explicit: string | undefined, env: Readonly<Record<string, string | undefined>>): { url: string } | { problem: string } {
  if (explicit !== undefined) return /^https?:\/\//.test(explicit) ? { url: explicit } : { problem: 'chat: --dispatch must be an http(s) URL' };
  const raw = env['IM_DISPATCH_PORT'];
  if (raw === undefined || raw === '') return { url: `http://127.0.0.1:${DEFAULT_CHAT_DISPATCH_PORT}` };
  const port = /^[0-9]{1,5}$/.test(raw) ? Number(raw) : NaN;
  if (!(port >= 1 && port <= 65_535)) return { problem: `chat: IM_DISPATCH_PORT must be a port from 1 to 65535, got "${raw}" (or give --dispatch URL)` };
  return { url: `http://127.0.0.1:${port}` };
}

/** A user id as the chat shows it: the server's pushes (`from: "0"`) as `server`. */
export function nameOf(id: string): string {
  return id === SERVER_UID ? 'server' : id;
}

/**
 * What the login codes mean, in docs/errors.md's words (the start of each code's row there; a test
 * keeps them equal), with what the chat does or the user should do.
 */
export const LOGIN_CODE_TEXT: Readonly<Record<number, { name: string; means: string }>> = {
  [ErrorCode.AUTH_FAILED]: { name: 'AUTH_FAILED', means: 'The token is missing, invalid or expired, or the auth service refused it.' },
  [ErrorCode.UNAVAILABLE]: { name: 'UNAVAILABLE', means: 'A backend the gateway needs (route store, offline store, bridge) is unreachable.' },
  [ErrorCode.AUTH_UNAVAILABLE]: {
    name: 'AUTH_UNAVAILABLE',
    means: 'The auth backend could not be reached or answered garbage, so the login could not be verified.',
  },
};

/** `1025 AUTH_FAILED: the token is missing, …` for a login refused with `code` (undefined: closed with 4502 before a code came). */
export function loginCodeText(code: number | undefined): string {
  if (code === undefined) return 'the server closed the connection with 4502 (login failed) before naming a code';
  const known = LOGIN_CODE_TEXT[code];
  if (known) return `${code} ${known.name}: ${known.means.charAt(0).toLowerCase()}${known.means.slice(1, -1)}`;
  if (code >= ErrorCode.AUTH_FAILED) return `${code}: a code of the application's auth service (IM_AUTH=http), which refused the login`;
  return `${code}: not a code Switchboard sends; the server may be another MobileIMSDK server`;
}

/** The chat's line for a refused login (terminal): what the code means and what to do now. */
export function loginRefusedLine(err: unknown, uid: string): string {
  const code = err instanceof Error && 'serverCode' in err ? (err as ClientError).serverCode : undefined;
  const what = `* login refused (${loginCodeText(code)})`;
  if (code !== undefined && code !== ErrorCode.AUTH_FAILED) return `${what}; not retrying`;
  return (
    `${what}. Start again with a valid token: with IM_AUTH=jwt, --token "$(switchboard token --uid ${uid})" ` +
    `run where IM_JWT_SECRET is the server's; with IM_AUTH=http, a token your auth service accepts`
  );
}

/** Why a connection attempt failed, for the chat's retry lines: login codes in words, anything else as the SDK said it. */
export function attemptErrorText(err: ClientError): string {
  if (err.code !== ClientErrorCode.LOGIN_REJECTED) return err.message;
  return `login refused (${loginCodeText(err.serverCode)}); temporary, retrying`;
}
