import { ProtocolError, ProtocolErrorKind } from './errors.js';
import { PacketType, SERVER_UID, UNSET_UID } from './codes.js';

/**
 * The MobileIMSDK v6 envelope (`Protocal` in the original, spelling kept on the wire).
 * Field order here is the order Gson emits and the order `encodePacket` writes.
 */
export interface Packet {
  /** True only on packets that crossed MobileIMSDK's MQ bridge; ignored on input. */
  bridge: boolean;
  /** Framework packet type, see `PacketType`. */
  type: number;
  /** Payload: app text for type 2, the acked fingerprint for type 4, a JSON string for framework types. */
  dataContent: string | null;
  /** Sender user id; `"0"` is the server, `"-1"` unset. */
  from: string;
  /** Receiver user id; `"0"` is the server. */
  to: string;
  /** Fingerprint (message id) of QoS packets. */
  fp: string | null;
  /** True when the packet needs an ack. Capital "QoS" on the wire. */
  QoS: boolean;
  /** Application message type, opaque to the framework; `-1` = undefined. */
  typeu: number;
  /** Server timestamp in ms, `-1` when unset. */
  sm: number;
  /**
   * Switchboard envelope extension, written after `sm` and never read from clients (decoding drops
   * it): the message's position in its conversation's history (1, 2, 3 …), on delivered messages and
   * on the sender's ack. MobileIMSDK clients ignore unknown keys.
   */
  seq?: number;
  /** Switchboard envelope extension: when the sender's gateway accepted the message (ms since epoch). */
  sentAt?: number;
}

/** Defaults of a key that is missing on input: the constructor defaults of MobileIMSDK's `Protocal`. */
export const PACKET_DEFAULTS: Readonly<Packet> = Object.freeze({
  bridge: false,
  type: PacketType.LOGIN,
  dataContent: null,
  from: UNSET_UID,
  to: UNSET_UID,
  fp: null,
  QoS: false,
  typeu: -1,
  sm: -1,
});

/** Build a packet from the given fields and the defaults. */
export function createPacket(fields: Partial<Packet> & { type: number }): Packet {
  return {
    bridge: fields.bridge ?? false,
    type: fields.type,
    dataContent: fields.dataContent ?? null,
    from: fields.from ?? UNSET_UID,
    to: fields.to ?? UNSET_UID,
    fp: fields.fp ?? null,
    QoS: fields.QoS ?? false,
    typeu: fields.typeu ?? -1,
    sm: fields.sm ?? -1,
  };
}

/**
 * Serialize a packet as MobileIMSDK's Gson does: keys in declaration order, null values omitted.
 * Always returns valid JSON; never throws for a `Packet`.
 */
export function encodePacket(p: Packet): string {
  let s = '{"bridge":' + (p.bridge ? 'true' : 'false') + ',"type":' + num(p.type);
  if (p.dataContent !== null) s += ',"dataContent":' + JSON.stringify(p.dataContent);
  s += ',"from":' + JSON.stringify(p.from) + ',"to":' + JSON.stringify(p.to);
  if (p.fp !== null) s += ',"fp":' + JSON.stringify(p.fp);
  s += ',"QoS":' + (p.QoS ? 'true' : 'false') + ',"typeu":' + num(p.typeu) + ',"sm":' + num(p.sm);
  if (p.seq !== undefined) s += ',"seq":' + num(p.seq);
  if (p.sentAt !== undefined) s += ',"sentAt":' + num(p.sentAt);
  return s + '}';
}

function num(n: number): string {
  return Number.isFinite(n) ? String(Math.trunc(n)) : '0';
}

/**
 * Parse one packet from JSON text. Accepts what MobileIMSDK clients send: explicit nulls (H5),
 * extra keys such as `retryCount`, missing keys (filled from `PACKET_DEFAULTS`), and numbers or
 * booleans given as strings (Gson is lenient there). `type` and `typeu` must fit a Java `int`,
 * `sm` a safe integer; ids given as JSON numbers must be safe integers. Throws `ProtocolError`
 * and nothing else.
 */
export function decodePacket(text: string): Packet {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ProtocolError(ProtocolErrorKind.BAD_JSON, 'packet is not valid JSON', { cause: err });
  }
  return toPacket(raw);
}

/** Validate an already-parsed JSON value as a packet. Throws `ProtocolError` and nothing else. */
export function toPacket(raw: unknown): Packet {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ProtocolError(ProtocolErrorKind.BAD_PACKET, 'packet must be a JSON object');
  }
  const o = raw as Record<string, unknown>;
  const p: Packet = {
    bridge: bool(o, 'bridge', false),
    type: int(o, 'type', PACKET_DEFAULTS.type),
    dataContent: str(o, 'dataContent', null),
    from: str(o, 'from', UNSET_UID) ?? UNSET_UID,
    to: str(o, 'to', UNSET_UID) ?? UNSET_UID,
    fp: str(o, 'fp', null),
    QoS: bool(o, 'QoS', false),
    typeu: int(o, 'typeu', -1),
    sm: int(o, 'sm', -1, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
  };
  // Extensions are added, not spread in: a spread makes a new object shape per combination and sends
  // every later reader of packets (encode, custody, routing) down a slow, megamorphic path.
  const seq = extension(o.seq);
  if (seq !== undefined) p.seq = seq;
  const sentAt = extension(o.sentAt);
  if (sentAt !== undefined) p.sentAt = sentAt;
  return p;
}

/** An envelope extension (`seq`, `sentAt`) when it is a non-negative safe integer; otherwise undefined, never an error. */
function extension(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
}

/**
 * A copy of `p` with `bridge` cleared and the history extensions set (`seq`, and `sentAt` when given)
 * or left out (seq 0 or less). Built field by field, in the order `encodePacket` writes, so all such
 * packets share one object shape.
 */
export function withHistory(p: Packet, seq: number, sentAt?: number): Packet {
  const out: Packet = { bridge: false, type: p.type, dataContent: p.dataContent, from: p.from, to: p.to, fp: p.fp, QoS: p.QoS, typeu: p.typeu, sm: p.sm };
  if (seq > 0) {
    out.seq = seq;
    if (sentAt !== undefined) out.sentAt = sentAt;
  }
  return out;
}

function bad(key: string, what: string): ProtocolError {
  return new ProtocolError(ProtocolErrorKind.BAD_PACKET, `"${key}" must be ${what}`);
}

function bool(o: Record<string, unknown>, key: string, dflt: boolean): boolean {
  const v = o[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v === 'boolean') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw bad(key, 'a boolean');
}

/** Range of a Java `int` (`type`, `typeu`): Gson on a Java peer rejects anything wider. */
export const INT32_MIN = -2_147_483_648;
export const INT32_MAX = 2_147_483_647;

const INT_RE = /^-?\d{1,16}$/;

/**
 * Read an integer given as a JSON number or a decimal string. Anything that is not exactly
 * representable (beyond 2^53, or outside [min, max]) is rejected rather than rounded, and -0
 * becomes 0, so that a decoded packet always re-encodes to the same value.
 */
export function readInt(v: unknown, min: number, max: number): number | undefined {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && INT_RE.test(v)) n = Number(v);
  else return undefined;
  if (!Number.isSafeInteger(n) || n < min || n > max) return undefined;
  return n === 0 ? 0 : n;
}

/**
 * Read a string; a JSON number is accepted as its decimal text (Gson does that) only when it is
 * a safe integer, since a wider number would silently turn into another id.
 */
export function readString(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  return undefined;
}

function int(o: Record<string, unknown>, key: string, dflt: number, min = INT32_MIN, max = INT32_MAX): number {
  const v = o[key];
  if (v === undefined || v === null) return dflt;
  const n = readInt(v, min, max);
  if (n === undefined) throw bad(key, min === INT32_MIN && max === INT32_MAX ? 'a 32-bit integer' : 'an integer');
  return n;
}

function str(o: Record<string, unknown>, key: string, dflt: string | null): string | null {
  const v = o[key];
  if (v === undefined || v === null) return dflt;
  const s = readString(v);
  if (s === undefined) throw bad(key, 'a string');
  return s;
}

/** True for a C2S packet (addressed to the server). */
export function isToServer(p: Packet): boolean {
  return p.to === SERVER_UID;
}
