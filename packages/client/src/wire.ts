import { CloseCode, ErrorCode, KickoutCode, parseErrorResponse, parseKickoutInfo, type Packet } from '@switchboard/protocol';
import type { IncomingMessage } from './client-types.js';
import type { CloseInfo } from './transport.js';
import { isRecord } from './dispatch.js';
import { ClientError, ClientErrorCode } from './errors.js';
import { groupOrigin } from './groups.js';

/** Login codes that mean "the server could not check now", not "no": retried with backoff. */
const RETRYABLE_LOGIN_CODES: ReadonlySet<number> = new Set([ErrorCode.UNAVAILABLE, ErrorCode.AUTH_UNAVAILABLE]);
/** Error codes whose packet names the fingerprint of a message the server will never deliver. */
const FATAL_MESSAGE_ERRORS: ReadonlySet<number> = new Set([
  ErrorCode.OFFLINE_QUEUE_FULL,
  ErrorCode.REJECTED,
  ErrorCode.MESSAGE_TOO_LARGE,
  ErrorCode.NOT_A_MEMBER,
]);

/** The error of a login response with a code other than OK; `retryable` for "cannot check now". */
export function loginRefusedError(code: number): ClientError {
  return new ClientError(ClientErrorCode.LOGIN_REJECTED, `login refused with code ${code}`, {
    serverCode: code,
    retryable: RETRYABLE_LOGIN_CODES.has(code),
  });
}

/** A received data packet as the application sees it (`uid`: this client's; `groupPrefix`: the server's). */
export function incomingMessage(p: Packet, uid: string, groupPrefix: string): IncomingMessage {
  const g = groupOrigin(p, uid, groupPrefix);
  return {
    fp: p.fp,
    from: g ? g.sender : p.from,
    to: p.to,
    group: g ? g.gid : null,
    rawFrom: p.from,
    content: p.dataContent ?? '',
    typeu: p.typeu,
    qos: p.QoS,
    serverTime: p.sm > 0 ? p.sm : null,
    seq: p.seq ?? null,
    sentAt: p.sentAt ?? null,
    receivedAt: Date.now(),
  };
}

/**
 * What a notice (type 60) tells the application: a read notice as a `read` event. Null for any other
 * kind, or a garbled one (notices are advisory: never an error).
 */
export function readNoticeOf(p: Packet): { peer: string; seq: number; group?: string } | null {
  let v: unknown;
  try {
    v = JSON.parse(p.dataContent ?? '');
  } catch {
    return null; // a garbled notice is ignored
  }
  if (!isRecord(v) || v['kind'] !== 'read' || typeof v['reader'] !== 'string' || typeof v['seq'] !== 'number') return null;
  const group = v['group'];
  return typeof group === 'string' ? { peer: v['reader'], seq: v['seq'], group } : { peer: v['reader'], seq: v['seq'] };
}

/** Code and reason of a kickout (type 54); -1 and null when its payload is garbled. */
export function kickoutOf(p: Packet): { code: number; reason: string | null } {
  let code = -1;
  let reason: string | null = null;
  try {
    ({ code, reason } = parseKickoutInfo(p.dataContent));
  } catch {
    // a kickout is a kickout even with a garbled payload: it ends the session with code -1
  }
  return { code, reason };
}

/** The error a kick ends the client with, and the state reason it shows. */
export function kickedError(code: number, reason: string | null): { error: ClientError; why: string } {
  const error = new ClientError(ClientErrorCode.KICKED, `kicked by the server (code ${code}${reason ? `: ${reason}` : ''})`, { serverCode: code });
  const base = code === KickoutCode.DUPLICATE_LOGIN ? 'duplicate login' : code === KickoutCode.ADMIN ? 'kicked by an administrator' : `kickout ${code}`;
  return { error, why: reason ? `${base}: ${reason}` : base };
}

/**
 * A server error packet (type 52) as a `ClientError`, and the fingerprint of the message it refuses
 * for good when it names one (a rate-limited message is retried, so it names none here).
 */
export function serverErrorOf(p: Packet): { error: ClientError; serverCode: number; refusedFp: string | null } {
  let errorCode = -1;
  let errorMsg: string | null = null;
  try {
    ({ errorCode, errorMsg } = parseErrorResponse(p.dataContent));
  } catch {
    // a garbled error payload is still reported, as server error -1 without a message
  }
  const error = new ClientError(ClientErrorCode.SERVER_ERROR, `server error ${errorCode}${errorMsg ? `: ${errorMsg.slice(0, 200)}` : ''}`, {
    serverCode: errorCode,
    retryable: errorCode === ErrorCode.RATE_LIMITED || errorCode === ErrorCode.UNAVAILABLE,
  });
  const refusedFp = errorMsg && FATAL_MESSAGE_ERRORS.has(errorCode) ? errorMsg : null;
  return { error, serverCode: errorCode, refusedFp };
}

/** `connection closed (code reason)`, as state reasons and errors say it. */
export function describeClose(info: CloseInfo): string {
  return `connection closed${info.code === null ? '' : ` (${info.code}${info.reason ? ` ${info.reason}` : ''})`}`;
}

/**
 * What a terminal close code (4500–4999, style guide §6) ends the client with: `kicked`, or the
 * state and error of a refused login or a session closed for good. Null for any other close.
 */
export function terminalClose(info: CloseInfo, why: string): { kind: 'kicked' } | { kind: 'rejected' | 'closed'; error: ClientError } | null {
  if (info.code === null || info.code < 4500 || info.code > 4999) return null;
  if (info.code === CloseCode.KICKED) return { kind: 'kicked' };
  if (info.code === CloseCode.LOGIN_FAILED) return { kind: 'rejected', error: new ClientError(ClientErrorCode.LOGIN_REJECTED, why) };
  return { kind: 'closed', error: new ClientError(ClientErrorCode.CLOSED, `server closed the session for good: ${why}`, { serverCode: info.code }) };
}
