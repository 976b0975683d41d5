import { ProtocolError, ProtocolErrorKind } from './errors.js';
import { ExtensionPacketType, PacketType, SERVER_UID, UNSET_UID } from './codes.js';
import { createPacket, INT32_MAX, INT32_MIN, readInt, readString, type Packet } from './packet.js';

/** Login request payload (`PLoginInfo`). */
export interface LoginInfo {
  loginUserId: string;
  loginToken: string | null;
  extra: string | null;
  /** ms since epoch of this device's first successful login; 0 = first login. */
  firstLoginTime: number;
  /**
   * Switchboard extension: what the client understands beyond MobileIMSDK (`notices`: type-60
   * notices). Absent for MobileIMSDK clients; unknown names are kept and ignored.
   */
  features?: string[];
}

/** Most feature names a login may carry, and their longest length; more are ignored. */
export const MAX_LOGIN_FEATURES = 16;
export const MAX_LOGIN_FEATURE_LENGTH = 32;

/** The `features` of a login: strings only, bounded; anything else is ignored (never an error). */
function loginFeatures(o: Record<string, unknown>): { features?: string[] } {
  const v = o['features'];
  if (!Array.isArray(v)) return {};
  const features = v.filter((f): f is string => typeof f === 'string' && f.length > 0 && f.length <= MAX_LOGIN_FEATURE_LENGTH).slice(0, MAX_LOGIN_FEATURES);
  return { features };
}

/** Login response payload (`PLoginInfoResponse`). */
export interface LoginResponse {
  code: number;
  firstLoginTime: number;
}

/** Error payload (`PErrorResponse`). */
export interface ErrorResponse {
  errorCode: number;
  errorMsg: string | null;
}

/** Kickout payload (`PKickoutInfo`). */
export interface KickoutInfo {
  code: number;
  reason: string | null;
}

/** Longest user id Switchboard accepts, in UTF-16 units. */
export const MAX_USER_ID_LENGTH = 128;

function parseObject(text: string | null, what: string): Record<string, unknown> {
  if (text === null) throw new ProtocolError(ProtocolErrorKind.BAD_PAYLOAD, `${what}: dataContent is missing`);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new ProtocolError(ProtocolErrorKind.BAD_PAYLOAD, `${what}: dataContent is not JSON`, { cause: err });
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new ProtocolError(ProtocolErrorKind.BAD_PAYLOAD, `${what}: dataContent must be a JSON object`);
  }
  return v as Record<string, unknown>;
}

function optString(o: Record<string, unknown>, key: string, what: string): string | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  const s = readString(v);
  if (s === undefined) throw new ProtocolError(ProtocolErrorKind.BAD_PAYLOAD, `${what}: "${key}" must be a string`);
  return s;
}

/** A Java `int` field (`code`, `errorCode`); missing = 0, as Gson leaves it. */
function optInt(o: Record<string, unknown>, key: string, what: string): number {
  return optInteger(o, key, what, INT32_MIN, INT32_MAX);
}

/** A Java `long` field holding ms (`firstLoginTime`); missing = 0. */
function optLong(o: Record<string, unknown>, key: string, what: string): number {
  return optInteger(o, key, what, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
}

function optInteger(o: Record<string, unknown>, key: string, what: string, min: number, max: number): number {
  const v = o[key];
  if (v === undefined || v === null) return 0;
  const n = readInt(v, min, max);
  if (n === undefined) throw new ProtocolError(ProtocolErrorKind.BAD_PAYLOAD, `${what}: "${key}" must be an integer`);
  return n;
}

/** Integer text for the encoders: truncated, non-finite as 0, so the output is always JSON. */
function num(n: number): string {
  return Number.isFinite(n) ? String(Math.trunc(n)) : '0';
}

/** Parse the `dataContent` of a login packet. A missing or empty `loginUserId` is an error. */
export function parseLoginInfo(dataContent: string | null): LoginInfo {
  const o = parseObject(dataContent, 'login');
  const loginUserId = optString(o, 'loginUserId', 'login');
  if (loginUserId === null || loginUserId.length === 0 || loginUserId.length > MAX_USER_ID_LENGTH) {
    throw new ProtocolError(ProtocolErrorKind.BAD_PAYLOAD, `login: "loginUserId" must be 1–${MAX_USER_ID_LENGTH} characters`);
  }
  if (loginUserId === SERVER_UID || loginUserId === UNSET_UID) {
    throw new ProtocolError(ProtocolErrorKind.BAD_PAYLOAD, `login: "${loginUserId}" is a reserved user id`);
  }
  return {
    loginUserId,
    loginToken: optString(o, 'loginToken', 'login'),
    extra: optString(o, 'extra', 'login'),
    firstLoginTime: optLong(o, 'firstLoginTime', 'login'),
    ...loginFeatures(o),
  };
}

export function parseLoginResponse(dataContent: string | null): LoginResponse {
  const o = parseObject(dataContent, 'login response');
  return { code: optInt(o, 'code', 'login response'), firstLoginTime: optLong(o, 'firstLoginTime', 'login response') };
}

export function parseErrorResponse(dataContent: string | null): ErrorResponse {
  const o = parseObject(dataContent, 'error');
  return { errorCode: optInt(o, 'errorCode', 'error'), errorMsg: optString(o, 'errorMsg', 'error') };
}

export function parseKickoutInfo(dataContent: string | null): KickoutInfo {
  const o = parseObject(dataContent, 'kickout');
  return { code: optInt(o, 'code', 'kickout'), reason: optString(o, 'reason', 'kickout') };
}

// Payload serializers: keys in Gson order, nulls omitted.

export function encodeLoginInfo(info: LoginInfo): string {
  let s = '{"loginUserId":' + JSON.stringify(info.loginUserId);
  if (info.loginToken !== null) s += ',"loginToken":' + JSON.stringify(info.loginToken);
  if (info.extra !== null) s += ',"extra":' + JSON.stringify(info.extra);
  s += ',"firstLoginTime":' + num(info.firstLoginTime);
  if (info.features !== undefined) s += ',"features":' + JSON.stringify(info.features);
  return s + '}';
}

export function encodeLoginResponse(r: LoginResponse): string {
  return '{"code":' + num(r.code) + ',"firstLoginTime":' + num(r.firstLoginTime) + '}';
}

export function encodeErrorResponse(r: ErrorResponse): string {
  let s = '{"errorCode":' + num(r.errorCode);
  if (r.errorMsg !== null) s += ',"errorMsg":' + JSON.stringify(r.errorMsg);
  return s + '}';
}

export function encodeKickoutInfo(k: KickoutInfo): string {
  let s = '{"code":' + num(k.code);
  if (k.reason !== null) s += ',"reason":' + JSON.stringify(k.reason);
  return s + '}';
}

// Packet factories for what the server writes.

export function loginPacket(info: LoginInfo): Packet {
  return createPacket({ type: PacketType.LOGIN, dataContent: encodeLoginInfo(info), from: info.loginUserId, to: SERVER_UID });
}

export function loginResponsePacket(to: string, r: LoginResponse): Packet {
  return createPacket({ type: PacketType.LOGIN_RESPONSE, dataContent: encodeLoginResponse(r), from: SERVER_UID, to });
}

export function keepAlivePacket(from: string): Packet {
  return createPacket({ type: PacketType.KEEPALIVE, dataContent: '{}', from, to: SERVER_UID });
}

export function keepAliveResponsePacket(to: string): Packet {
  return createPacket({ type: PacketType.KEEPALIVE_RESPONSE, dataContent: '{}', from: SERVER_UID, to });
}

export function errorPacket(errorCode: number, errorMsg: string | null): Packet {
  return createPacket({
    type: PacketType.ERROR,
    dataContent: encodeErrorResponse({ errorCode, errorMsg }),
    from: SERVER_UID,
    to: UNSET_UID,
  });
}

export function kickoutPacket(to: string, code: number, reason: string | null = null): Packet {
  return createPacket({ type: PacketType.KICKOUT, dataContent: encodeKickoutInfo({ code, reason }), from: SERVER_UID, to });
}

/** The ack (type 4) for `fp`: `from` and `to` are those of the acked packet, swapped. */
export function ackPacket(from: string, to: string, fp: string, bridge = false): Packet {
  return createPacket({ type: PacketType.ACK, dataContent: fp, from, to, bridge });
}

/** An echo response: the request unchanged except its type. */
export function echoResponsePacket(req: Packet): Packet {
  return { ...req, type: PacketType.ECHO_RESPONSE };
}

export function dataPacket(fields: {
  from: string;
  to: string;
  dataContent: string;
  fp?: string | null;
  QoS?: boolean;
  typeu?: number;
}): Packet {
  return createPacket({ type: PacketType.DATA, ...fields });
}

/**
 * A message from the server (`from: "0"`) to user `to`: what the push API delivers. With QoS it
 * carries `fp` and the receiver acks it; `sm` is the server time it was made.
 */
export function serverPushPacket(fields: { to: string; dataContent: string; fp: string | null; qos: boolean; typeu?: number; sm?: number }): Packet {
  return createPacket({
    type: PacketType.DATA,
    dataContent: fields.dataContent,
    from: SERVER_UID,
    to: fields.to,
    fp: fields.qos ? fields.fp : null,
    QoS: fields.qos,
    typeu: fields.typeu ?? -1,
    sm: fields.sm ?? Date.now(),
  });
}

/**
 * What a notice (type 60) says. `read`: `reader` read the conversation (peer `reader`, or `group`)
 * up to `seq`. `presence`: watched users' presence changed (or, right after a watch list, is now
 * this). `typing`: `from` is typing to this user (or in `group`).
 */
export type Notice =
  | { kind: 'read'; reader: string; seq: number; group?: string }
  | { kind: 'presence'; users: Array<{ uid: string; online: boolean; lastSeen?: number }> }
  | { kind: 'typing'; from: string; group?: string };

/** A notice for user `to` (Switchboard extension, SDK clients only). */
export function noticePacket(to: string, notice: Notice): Packet {
  return createPacket({ type: ExtensionPacketType.NOTICE, dataContent: JSON.stringify(notice), from: SERVER_UID, to });
}
