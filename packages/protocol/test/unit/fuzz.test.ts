/**
 * Randomized robustness test of every decoder in the package. It feeds random and mutated
 * inputs (bit flips, truncation, insertion, splicing, deep nesting, huge numbers, wrong types)
 * and checks two properties:
 *   1. nothing but a `ProtocolError` of the kinds the function documents ever escapes;
 *   2. whatever decodes re-encodes to JSON that decodes to an equal value.
 *
 * The run is driven by one seed, printed at the start and in every failure. Reproduce a failure
 * with `PROTOCOL_FUZZ_SEED=<seed> npx vitest run --project unit packages/protocol/test/unit/fuzz.test.ts`;
 * `PROTOCOL_FUZZ_SCALE=10` runs ten times as many inputs.
 */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  ProtocolError,
  ProtocolErrorKind,
  TCP_HEADER_BYTES,
  DEFAULT_TCP_MAX_BODY_BYTES,
  TcpFrameDecoder,
  decodePacket,
  decodeUtf8,
  encodeErrorResponse,
  encodeKickoutInfo,
  encodeLoginInfo,
  encodeLoginResponse,
  encodePacket,
  parseErrorResponse,
  parseKickoutInfo,
  parseLoginInfo,
  parseLoginResponse,
  toPacket,
  MAX_USER_ID_LENGTH,
  type Packet,
} from '../../src/index.js';
import { REFERENCE_FRAME_LIST } from './reference-frames.js';

const SEED = process.env['PROTOCOL_FUZZ_SEED'] !== undefined ? Number(process.env['PROTOCOL_FUZZ_SEED']) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
const SCALE = Math.max(0.01, Number(process.env['PROTOCOL_FUZZ_SCALE'] ?? '1') || 1);
const MIN_TOTAL_INPUTS = 100_000;

// ---------------------------------------------------------------------------------------------
// Seeded PRNG (mulberry32) and helpers

class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** Integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
}

/** One seed per test, derived from the run seed, so each test reproduces on its own. */
function rngFor(salt: number): Rng {
  return new Rng((SEED + Math.imul(salt, 0x9e3779b9)) >>> 0);
}

function iterations(base: number): number {
  return Math.max(1, Math.round(base * SCALE));
}

let totalInputs = 0;

class FuzzFailure extends Error {
  override readonly name = 'FuzzFailure';
}

function show(value: unknown): string {
  const text =
    typeof value === 'string'
      ? JSON.stringify(value)
      : Buffer.isBuffer(value)
        ? value.toString('hex')
        : inspect(value, { depth: 3, breakLength: Infinity });
  return text.length > 600 ? `${text.slice(0, 600)}… (${text.length} chars)` : text;
}

/**
 * Call `fn`; a `ProtocolError` of an allowed kind is returned, anything else thrown is a failure.
 */
function guarded<T>(what: string, allowed: readonly string[], input: unknown, fn: () => T): T | ProtocolError {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ProtocolError && allowed.includes(err.code)) return err;
    throw new FuzzFailure(`${what} threw ${inspect(err, { depth: 1, breakLength: Infinity })} for input ${show(input)}`);
  }
}

/** Run `body` `n` times; a failure names the seed and the iteration. */
function fuzz(name: string, salt: number, n: number, body: (rng: Rng) => void): void {
  const rng = rngFor(salt);
  totalInputs += n;
  for (let i = 0; i < n; i++) {
    try {
      body(rng);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      throw new FuzzFailure(`${name}: iteration ${i} of seed ${SEED} (PROTOCOL_FUZZ_SEED=${SEED}): ${msg}`, { cause: err });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Oracles

const PACKET_KEYS = ['bridge', 'type', 'dataContent', 'from', 'to', 'fp', 'QoS', 'typeu', 'sm'] as const;
const DECODE_KINDS = [ProtocolErrorKind.BAD_JSON, ProtocolErrorKind.BAD_PACKET];
const TO_PACKET_KINDS = [ProtocolErrorKind.BAD_PACKET];
const PAYLOAD_KINDS = [ProtocolErrorKind.BAD_PAYLOAD];
const FRAMING_KINDS = [ProtocolErrorKind.EMPTY_FRAME, ProtocolErrorKind.FRAME_TOO_LARGE];
const UTF8_KINDS = [ProtocolErrorKind.BAD_JSON];

function samePacket(a: Packet, b: Packet): boolean {
  return PACKET_KEYS.every((k) => Object.is(a[k], b[k]));
}

/** A decoded packet is well-formed, and encode → decode gives it back. */
function checkPacket(p: Packet, input: unknown): void {
  const wellFormed =
    typeof p.bridge === 'boolean' &&
    typeof p.QoS === 'boolean' &&
    typeof p.from === 'string' &&
    typeof p.to === 'string' &&
    (p.dataContent === null || typeof p.dataContent === 'string') &&
    (p.fp === null || typeof p.fp === 'string') &&
    Number.isSafeInteger(p.type) &&
    Number.isSafeInteger(p.typeu) &&
    Number.isSafeInteger(p.sm);
  if (!wellFormed) throw new FuzzFailure(`decoded a malformed packet ${show(p)} from ${show(input)}`);
  const json = encodePacket(p);
  const again = guarded('decodePacket(encodePacket(p))', [], json, () => decodePacket(json));
  if (again instanceof ProtocolError || !samePacket(p, again)) {
    throw new FuzzFailure(`round trip changed ${show(p)} into ${show(again)} (json ${show(json)}) from ${show(input)}`);
  }
  if (encodePacket(again) !== json) throw new FuzzFailure(`encoding is not stable for ${show(p)}`);
}

function decodeText(text: string): void {
  const p = guarded('decodePacket', DECODE_KINDS, text, () => decodePacket(text));
  if (!(p instanceof ProtocolError)) checkPacket(p, text);
}

function sameJson(a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return Object.is(a, b);
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

const PAYLOAD_CODECS = [
  { name: 'parseLoginInfo', parse: parseLoginInfo, encode: encodeLoginInfo },
  { name: 'parseLoginResponse', parse: parseLoginResponse, encode: encodeLoginResponse },
  { name: 'parseErrorResponse', parse: parseErrorResponse, encode: encodeErrorResponse },
  { name: 'parseKickoutInfo', parse: parseKickoutInfo, encode: encodeKickoutInfo },
] as const;

function parsePayload(text: string | null): void {
  for (const codec of PAYLOAD_CODECS) {
    const parse = codec.parse as (t: string | null) => object;
    const encode = codec.encode as (v: object) => string;
    const r = guarded(codec.name, PAYLOAD_KINDS, text, () => parse(text));
    if (r instanceof ProtocolError) continue;
    for (const v of Object.values(r)) {
      const ok = v === null || typeof v === 'string' || Number.isSafeInteger(v);
      if (!ok) throw new FuzzFailure(`${codec.name} produced ${show(r)} from ${show(text)}`);
    }
    if (codec.name === 'parseLoginInfo') {
      const id = (r as { loginUserId: string }).loginUserId;
      if (id.length === 0 || id.length > MAX_USER_ID_LENGTH || id === '0' || id === '-1') {
        throw new FuzzFailure(`parseLoginInfo accepted user id ${show(id)}`);
      }
    }
    const json = encode(r);
    const again = guarded(`${codec.name}(encode(r))`, [], json, () => parse(json));
    if (!sameJson(r, again)) throw new FuzzFailure(`${codec.name} round trip changed ${show(r)} into ${show(again)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Generators

const FRAMES = REFERENCE_FRAME_LIST.map(([, f]) => f.json);
const H5_FRAMES = [
  '{"type":1,"dataContent":"{}","from":"alice","to":"0","fp":null,"QoS":false,"typeu":-1,"retryCount":0}',
  '{"type":2,"dataContent":"hi","from":"alice","to":"bob","fp":"e2b4c1a0-1dd2-11b2-8000-000000000000","QoS":true,"typeu":-1,"retryCount":0}',
  '{"type":3,"dataContent":null,"from":"alice","to":"0","fp":null,"QoS":false,"typeu":-1,"retryCount":0}',
];
const CORPUS = [...FRAMES, ...H5_FRAMES];
const PAYLOADS = [
  ...CORPUS.map((f) => (JSON.parse(f) as { dataContent?: unknown }).dataContent).filter((d): d is string => typeof d === 'string' && d.startsWith('{')),
  '{"loginUserId":"alice"}',
  '{"loginUserId":"bob","loginToken":"eyJhbGciOiJIUzI1NiJ9.e30.x","extra":"","firstLoginTime":1795310089341}',
  '{"errorCode":1028,"errorMsg":"from mismatch"}',
  '{"code":2,"reason":"<b>&\'="}',
];
const LOGIN_PAYLOADS = PAYLOADS.filter((p) => p.includes('loginUserId'));
const ENVELOPE_KEYS = [...PACKET_KEYS, 'retryCount'];
const PAYLOAD_KEYS = ['loginUserId', 'loginToken', 'extra', 'firstLoginTime', 'code', 'errorCode', 'errorMsg', 'reason'];
const ODD_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'QOS', 'qos', 'Type', '', ' type', 'type\u0000', '😀'];

const NUMBER_TEXTS = [
  '0', '-0', '1', '-1', '2', '4', '50', '54', '255', '-0.0', '0.0', '1.5', '2.0', '1e2', '1E-7', '0.1',
  '2147483647', '2147483648', '-2147483648', '-2147483649', '4294967296',
  '9007199254740991', '9007199254740992', '9007199254740993', '-9007199254740993',
  '1e21', '1e308', '1e309', '-1e400', '123456789012345678901234567890', '1795310089341',
];
const STRINGY_TEXTS = [
  '"0"', '"-0"', '"5"', '"007"', '"-1"', '""', '" 1"', '"+1"', '"0x10"', '"1e2"', '"1.0"', '"NaN"', '"Infinity"',
  '"9999999999999999"', '"99999999999999999"', '"-9007199254740992"', '"2147483648"',
  '"true"', '"false"', '"TRUE"', '"null"', '"{}"', '"[]"', '"\\ud800"', '"\\udfff\\ud800"', '"\\u0000"', '"<&=\'>"',
];
const LITERAL_TEXTS = ['true', 'false', 'null', '{}', '[]', '[null]', '{"a":1}', '[1,2,3]'];
const TOKENS = [
  '{', '}', '[', ']', '"', ':', ',', '\\', '\\u', '\\ud83d', 'null', 'true', 'false', '-', '0', '1e999', ' ', '\n', '\t', '\u0000',
  '"type":', '"dataContent":', '"QoS":', '"__proto__":', '{"a":', '"\\"', '\uFEFF', '\u2028', '😀', '\ud800',
];
const ALPHABET = '{}[]":,\\ -+.0123456789eEtrufalsn\'abcxyz';

function randomString(rng: Rng, maxLen: number): string {
  const len = rng.int(maxLen + 1);
  let s = '';
  const mode = rng.int(4);
  for (let i = 0; i < len; i++) {
    if (mode === 0) s += String.fromCharCode(rng.range(0x20, 0x7e));
    else if (mode === 1) s += ALPHABET[rng.int(ALPHABET.length)];
    else if (mode === 2) s += String.fromCharCode(rng.int(0x10000)); // includes lone surrogates
    else s += rng.pick(['a', 'é', '你', '😀', '\n', '"', '\\', '\u0000', '\u2028', '\ud800']);
  }
  return s;
}

function deepText(rng: Rng): string {
  const depth = rng.chance(0.05) ? rng.range(10_000, 100_000) : rng.range(1, 2_000);
  const inner = rng.pick(['', '1', 'null', '"x"', '{}']);
  if (rng.chance(0.5)) return '['.repeat(depth) + inner + ']'.repeat(depth);
  return '{"a":'.repeat(depth) + (inner === '' ? '1' : inner) + '}'.repeat(depth);
}

/** Text of a random JSON value, biased towards the values that stress a field decoder. */
function valueText(rng: Rng, depth = 0): string {
  const r = rng.int(100);
  if (r < 25) return rng.pick(NUMBER_TEXTS);
  if (r < 45) return rng.pick(STRINGY_TEXTS);
  if (r < 55) return rng.pick(LITERAL_TEXTS);
  if (r < 70) return JSON.stringify(randomString(rng, 40));
  if (r < 75) return String(rng.range(-1e6, 1e6));
  if (r < 78) return deepText(rng);
  if (r < 79) return JSON.stringify('x'.repeat(rng.int(70_000)));
  if (r < 84) return JSON.stringify(rng.pick(CORPUS)); // a frame as a string: valid dataContent
  if (r < 92 && depth < 3) {
    const n = rng.int(4);
    return '[' + Array.from({ length: n }, () => valueText(rng, depth + 1)).join(',') + ']';
  }
  if (depth < 3) {
    const n = rng.int(4);
    return '{' + Array.from({ length: n }, () => JSON.stringify(rng.pick([...ENVELOPE_KEYS, ...ODD_KEYS])) + ':' + valueText(rng, depth + 1)).join(',') + '}';
  }
  return rng.pick(NUMBER_TEXTS);
}

/** Rebuild a JSON object's text with random edits: values replaced, keys dropped, added, duplicated, reordered. */
function mutateObject(rng: Rng, json: string, keys: readonly string[]): string {
  const obj = JSON.parse(json) as Record<string, unknown>;
  let entries: [string, string][] = Object.entries(obj).map(([k, v]) => [JSON.stringify(k), JSON.stringify(v)]);
  const edits = rng.range(1, 4);
  for (let e = 0; e < edits; e++) {
    const op = rng.int(6);
    if (op <= 1 && entries.length > 0) {
      const i = rng.int(entries.length);
      entries[i] = [entries[i]![0], valueText(rng)];
    } else if (op === 2 && entries.length > 0) {
      entries.splice(rng.int(entries.length), 1);
    } else if (op === 3) {
      const key = JSON.stringify(rng.chance(0.8) ? rng.pick(keys) : rng.pick(ODD_KEYS));
      entries.splice(rng.int(entries.length + 1), 0, [key, valueText(rng)]);
    } else if (op === 4) {
      entries = entries.map((x) => x).sort(() => rng.next() - 0.5);
    } else {
      entries = entries.map(([k, v]) => [k, rng.chance(0.3) ? (v.startsWith('"') ? v : JSON.stringify(v)) : v]);
    }
  }
  return '{' + entries.map(([k, v]) => k + ':' + v).join(',') + '}';
}

/** Apply 1–4 textual mutations: bit flips, truncation, insertion, deletion, duplication, splicing. */
function mutateText(rng: Rng, text: string, donors: readonly string[]): string {
  let s = text;
  const n = rng.range(1, 4);
  for (let m = 0; m < n; m++) {
    const at = rng.int(s.length + 1);
    switch (rng.int(8)) {
      case 0: {
        if (s.length === 0) break;
        const i = rng.int(s.length);
        const bit = rng.chance(0.8) ? rng.int(8) : rng.int(16);
        s = s.slice(0, i) + String.fromCharCode(s.charCodeAt(i) ^ (1 << bit)) + s.slice(i + 1);
        break;
      }
      case 1:
        s = s.slice(0, at);
        break;
      case 2:
        s = s.slice(0, at) + rng.pick(TOKENS) + s.slice(at);
        break;
      case 3:
        s = s.slice(0, at) + s.slice(at + rng.range(1, 20));
        break;
      case 4: {
        const len = rng.range(1, 30);
        s = s.slice(0, at) + s.slice(at, at + len) + s.slice(at);
        break;
      }
      case 5: {
        const donor = rng.pick(donors);
        s = s.slice(0, at) + donor.slice(rng.int(donor.length + 1));
        break;
      }
      case 6:
        s = s.slice(0, at) + ALPHABET[rng.int(ALPHABET.length)] + s.slice(at + 1);
        break;
      default: {
        // Replace a whole value after a colon with a random value text.
        const colon = s.indexOf(':', at);
        if (colon < 0) break;
        const end = s.slice(colon + 1).search(/[,}]/);
        s = s.slice(0, colon + 1) + valueText(rng) + (end < 0 ? '' : s.slice(colon + 1 + end));
      }
    }
  }
  return s;
}

function randomBytes(rng: Rng, maxLen: number): Buffer {
  const len = rng.int(maxLen + 1);
  const buf = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) buf[i] = rng.int(256);
  return buf;
}

/** Flip random bits of UTF-8 bytes (can break the encoding, which decodeUtf8 must catch). */
function flipBytes(rng: Rng, bytes: Buffer): Buffer {
  const out = Buffer.from(bytes);
  const flips = rng.range(1, 4);
  for (let i = 0; i < flips && out.length > 0; i++) {
    const j = rng.int(out.length);
    out[j] = (out[j] ?? 0) ^ (1 << rng.int(8));
  }
  return out;
}

/** A random JavaScript value, including values JSON cannot hold. */
function jsValue(rng: Rng, depth = 0): unknown {
  switch (rng.int(20)) {
    case 0: return undefined;
    case 1: return null;
    case 2: return rng.pick([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0.5, 2 ** 31, 2 ** 53, -(2 ** 53), 1e300]);
    case 3: return rng.range(-5, 60);
    case 4: return BigInt(rng.range(-5, 5));
    case 5: return Symbol('s');
    case 6: return () => 1;
    case 7: return new Date(0);
    case 8: return rng.pick([new Boolean(true), new String('2'), new Number(2)]);
    case 9: return rng.chance(0.5);
    case 10: return randomString(rng, 20);
    case 11: return rng.pick(['true', 'false', '2', '-1', '2147483648', '9999999999999999']);
    case 12: return depth < 3 ? [jsValue(rng, depth + 1), jsValue(rng, depth + 1)] : [];
    case 13: return Object.create(null) as object;
    case 14: return new Map([['type', 1]]);
    default: {
      if (depth >= 3) return {};
      const o: Record<string, unknown> = {};
      const n = rng.int(6);
      for (let i = 0; i < n; i++) o[rng.pick(ENVELOPE_KEYS)] = jsValue(rng, depth + 1);
      return o;
    }
  }
}

// ---------------------------------------------------------------------------------------------

describe('protocol fuzz', () => {
  console.log(`[protocol fuzz] seed=${SEED} scale=${SCALE} (reproduce with PROTOCOL_FUZZ_SEED=${SEED})`);

  it('decodePacket - textual mutations of the reference frames', () => {
    fuzz('decodePacket/text', 1, iterations(35_000), (rng) => {
      decodeText(mutateText(rng, rng.pick(CORPUS), CORPUS));
    });
  });

  it('decodePacket - structural mutations: wrong types, huge numbers, deep nesting, odd keys', () => {
    fuzz('decodePacket/structure', 2, iterations(25_000), (rng) => {
      const text = mutateObject(rng, rng.pick(CORPUS), ENVELOPE_KEYS);
      decodeText(rng.chance(0.1) ? mutateText(rng, text, CORPUS) : text);
    });
  });

  it('decodePacket - random bytes and random text through decodeUtf8', () => {
    fuzz('decodePacket/bytes', 3, iterations(15_000), (rng) => {
      const bytes =
        rng.chance(0.5)
          ? randomBytes(rng, rng.chance(0.9) ? 300 : 8_000)
          : rng.chance(0.5)
            ? flipBytes(rng, Buffer.from(rng.pick(CORPUS)))
            : Buffer.from(randomString(rng, 200));
      const text = guarded('decodeUtf8', UTF8_KINDS, bytes, () => decodeUtf8(bytes));
      if (text instanceof ProtocolError) return;
      if (!Buffer.from(text, 'utf8').equals(bytes) && !(bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf)) {
        throw new FuzzFailure(`decodeUtf8 changed the bytes of ${show(bytes)}`);
      }
      decodeText(text);
    });
  });

  it('toPacket - random JavaScript values, parsed or not', () => {
    fuzz('toPacket', 4, iterations(15_000), (rng) => {
      let raw: unknown;
      if (rng.chance(0.5)) raw = jsValue(rng);
      else {
        const text = mutateObject(rng, rng.pick(CORPUS), ENVELOPE_KEYS);
        raw = JSON.parse(text) as unknown;
      }
      const p = guarded('toPacket', TO_PACKET_KINDS, raw, () => toPacket(raw));
      if (!(p instanceof ProtocolError)) checkPacket(p, raw);
    });
  });

  it('payload parsers - mutated, structural and random payloads', () => {
    fuzz('payloads', 5, iterations(15_000), (rng) => {
      // Logins are what untrusted clients send most, so they get a larger share.
      const base = rng.chance(0.4) ? rng.pick(LOGIN_PAYLOADS) : rng.pick(PAYLOADS);
      const r = rng.int(10);
      const text =
        r < 4
          ? mutateObject(rng, base, PAYLOAD_KEYS)
          : r < 8
            ? mutateText(rng, base, PAYLOADS)
            : r < 9
              ? randomString(rng, 100)
              : rng.chance(0.5)
                ? null
                : valueText(rng);
      parsePayload(text);
    });
  });

  it('TcpFrameDecoder - random streams, bad headers and random chunking', () => {
    fuzz('TcpFrameDecoder', 6, iterations(5_000), (rng) => {
      const limit = rng.chance(0.8) ? DEFAULT_TCP_MAX_BODY_BYTES : rng.range(1, 400);
      const garbage = rng.chance(0.1);
      const expected: Buffer[] = [];
      const parts: Buffer[] = [];
      let badKind: string | null = null;
      if (garbage) {
        parts.push(randomBytes(rng, 2_000));
      } else {
        const frames = rng.range(1, 8);
        for (let i = 0; i < frames; i++) {
          const r = rng.int(10);
          let body =
            r < 4
              ? Buffer.from(encodePacket(decodePacket(rng.pick(CORPUS))))
              : r < 7
                ? Buffer.from(mutateText(rng, rng.pick(CORPUS), CORPUS))
                : r < 9
                  ? randomBytes(rng, 300)
                  : Buffer.alloc(limit, 0x20);
          if (body.length === 0) body = Buffer.from('{}');
          if (body.length > limit) body = body.subarray(0, limit);
          expected.push(body);
          parts.push(Buffer.concat([lengthHeader(body.length), body]));
        }
        if (rng.chance(0.3)) {
          // A bad header at a frame boundary, followed by junk the decoder must never reach.
          const empty = rng.chance(0.5);
          badKind = empty ? ProtocolErrorKind.EMPTY_FRAME : ProtocolErrorKind.FRAME_TOO_LARGE;
          const len = empty ? 0 : rng.chance(0.5) ? limit + 1 : rng.range(limit + 1, 0xffffffff);
          parts.splice(rng.int(parts.length + 1), 0, Buffer.concat([lengthHeader(len), randomBytes(rng, 50)]));
        }
      }
      const wire = Buffer.concat(parts);
      const decoder = new TcpFrameDecoder(limit);
      const out: Buffer[] = [];
      let failure: ProtocolError | null = null;
      const maxChunk = rng.chance(0.2) ? 1 : rng.chance(0.5) ? 16 : wire.length + 1;
      for (let at = 0; at < wire.length; ) {
        const size = rng.range(1, Math.max(1, maxChunk));
        const chunk = wire.subarray(at, at + size);
        at += size;
        const got = guarded('TcpFrameDecoder.push', FRAMING_KINDS, chunk, () => decoder.push(chunk));
        if (got instanceof ProtocolError) {
          failure = got;
          break;
        }
        out.push(...got);
      }
      if (failure) {
        const again = guarded('spent TcpFrameDecoder.push', FRAMING_KINDS, null, () => decoder.push(Buffer.from('{}')));
        if (again !== failure) throw new FuzzFailure('a spent decoder did not rethrow its error');
      }
      for (const body of out) {
        if (body.length < 1 || body.length > limit) throw new FuzzFailure(`decoder returned a ${body.length}-byte body with limit ${limit}`);
        const text = guarded('decodeUtf8', UTF8_KINDS, body, () => decodeUtf8(body));
        if (!(text instanceof ProtocolError)) decodeText(text);
      }
      if (garbage) return;
      // Structured stream: bodies come out intact and in order; a bad header fails with its kind.
      const prefixOk = out.every((b, i) => expected[i] !== undefined && b.equals(expected[i]));
      if (!prefixOk) throw new FuzzFailure(`decoder returned wrong bodies for stream ${show(wire)}`);
      if (badKind === null) {
        if (failure || out.length !== expected.length || decoder.pendingBytes !== 0) {
          throw new FuzzFailure(`valid stream of ${expected.length} frames gave ${out.length} (${String(failure)}) ${show(wire)}`);
        }
      } else if (failure?.code !== badKind) {
        throw new FuzzFailure(`stream with a bad header ended with ${String(failure)} instead of ${badKind}`);
      }
    });
  });

  it(`covers at least ${MIN_TOTAL_INPUTS} inputs at scale 1`, () => {
    if (SCALE >= 1) expect(totalInputs).toBeGreaterThanOrEqual(MIN_TOTAL_INPUTS);
  });
});

function lengthHeader(length: number): Buffer {
  const header = Buffer.alloc(TCP_HEADER_BYTES);
  header.writeUInt32BE(length, 0);
  return header;
}
