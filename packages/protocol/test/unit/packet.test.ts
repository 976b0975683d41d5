import { describe, expect, it } from 'vitest';
import {
  PACKET_DEFAULTS,
  PacketType,
  ProtocolErrorKind,
  createPacket,
  decodePacket,
  encodePacket,
  isToServer,
  toPacket,
  type Packet,
} from '../../src/index.js';
import { expectProtocolError, withDefaultSm } from './helpers.js';
import { REFERENCE_FRAMES, REFERENCE_FRAME_LIST } from './reference-frames.js';

const GSON_KEY_ORDER = ['bridge', 'type', 'dataContent', 'from', 'to', 'fp', 'QoS', 'typeu', 'sm'];

function full(): Packet {
  return {
    bridge: true,
    type: PacketType.DATA,
    dataContent: 'hi',
    from: 'alice',
    to: 'bob',
    fp: 'f-1',
    QoS: true,
    typeu: 7,
    sm: 1795310171856,
  };
}

describe('encodePacket', () => {
  it('encode - emits every key in Gson declaration order', () => {
    const json = encodePacket(full());
    expect(json).toBe(
      '{"bridge":true,"type":2,"dataContent":"hi","from":"alice","to":"bob","fp":"f-1","QoS":true,"typeu":7,"sm":1795310171856}',
    );
    expect(Object.keys(JSON.parse(json) as object)).toEqual(GSON_KEY_ORDER);
  });

  it('encode - omits null dataContent and fp, as Gson does', () => {
    const json = encodePacket({ ...full(), dataContent: null, fp: null });
    expect(json).toBe('{"bridge":true,"type":2,"from":"alice","to":"bob","QoS":true,"typeu":7,"sm":1795310171856}');
  });

  it('encode - always writes bridge, from, to, QoS, typeu and sm', () => {
    const json = encodePacket(createPacket({ type: PacketType.LOGOUT }));
    expect(json).toBe('{"bridge":false,"type":3,"from":"-1","to":"-1","QoS":false,"typeu":-1,"sm":-1}');
  });

  it('encode - escapes strings as JSON (quotes, backslashes, control characters, non-ASCII raw)', () => {
    const p = createPacket({ type: PacketType.DATA, dataContent: 'a"b\\c\n\u0001 你好 😀', from: 'x', to: 'y' });
    const json = encodePacket(p);
    expect(json).toContain(String.raw`"dataContent":"a\"b\\c\n\u0001 你好 😀"`);
    expect(decodePacket(json)).toEqual(p);
  });

  it('encode - never writes retryCount or any key outside the envelope', () => {
    const withExtra = { ...full(), retryCount: 3, extra: 'x' } as Packet;
    expect(Object.keys(JSON.parse(encodePacket(withExtra)) as object)).toEqual(GSON_KEY_ORDER);
  });

  it('encode - writes integers only: fractions truncated, non-finite numbers as 0', () => {
    const json = encodePacket({ ...full(), type: 2.9, typeu: Number.NaN, sm: Number.POSITIVE_INFINITY });
    expect(json).toContain('"type":2,');
    expect(json).toContain('"typeu":0,');
    expect(json).toContain('"sm":0}');
    expect(() => JSON.parse(json) as unknown).not.toThrow();
  });

  it('encode - output decodes to an equal packet', () => {
    const p = full();
    expect(decodePacket(encodePacket(p))).toEqual(p);
  });
});

describe('decodePacket', () => {
  it('decode - reads a Java/Gson-shaped frame', () => {
    expect(decodePacket(REFERENCE_FRAMES.C2C_QOS.json)).toEqual({
      bridge: false,
      type: 2,
      dataContent: 'hello from Java TCP SDK',
      from: 'jtcp2',
      to: 'webpeer2',
      fp: '27b59475-c30e-4161-bb5d-abf2f429dd14',
      QoS: true,
      typeu: 7,
      sm: -1,
    });
  });

  it('decode - reads an H5-shaped frame: explicit nulls, retryCount, no bridge or sm', () => {
    const h5 = '{"type":1,"dataContent":"{}","from":"alice","to":"0","fp":null,"QoS":false,"typeu":-1,"retryCount":0}';
    expect(decodePacket(h5)).toEqual({
      bridge: false,
      type: 1,
      dataContent: '{}',
      from: 'alice',
      to: '0',
      fp: null,
      QoS: false,
      typeu: -1,
      sm: -1,
    });
    const logout = '{"type":3,"dataContent":null,"from":"alice","to":"0","fp":null,"QoS":false,"typeu":-1,"retryCount":0}';
    expect(decodePacket(logout).dataContent).toBeNull();
    expect(encodePacket(decodePacket(logout))).toBe('{"bridge":false,"type":3,"from":"alice","to":"0","QoS":false,"typeu":-1,"sm":-1}');
  });

  it('decode - fills every missing key from PACKET_DEFAULTS', () => {
    expect(decodePacket('{}')).toEqual(PACKET_DEFAULTS);
    // The minimal packet of the spec: MobileIMSDK relays it with typeu 0 and sm 0; we normalise to -1.
    expect(decodePacket('{"type":2,"dataContent":"min","from":"minA","to":"minB"}')).toEqual({
      ...PACKET_DEFAULTS,
      type: 2,
      dataContent: 'min',
      from: 'minA',
      to: 'minB',
    });
  });

  it('decode - treats explicit nulls like missing keys', () => {
    const json = '{"bridge":null,"type":null,"dataContent":null,"from":null,"to":null,"fp":null,"QoS":null,"typeu":null,"sm":null}';
    expect(decodePacket(json)).toEqual(PACKET_DEFAULTS);
  });

  it('decode - accepts numbers and booleans given as strings', () => {
    const p = decodePacket('{"bridge":"true","type":"2","from":"a","to":"b","QoS":"true","typeu":"-7","sm":"1795310171856"}');
    expect(p).toMatchObject({ bridge: true, type: 2, QoS: true, typeu: -7, sm: 1795310171856 });
    expect(decodePacket('{"QoS":"false","bridge":"false"}')).toMatchObject({ QoS: false, bridge: false });
    expect(decodePacket('{"type":"007"}').type).toBe(7);
  });

  it('decode - accepts ids and fingerprints given as integer numbers', () => {
    const p = decodePacket('{"type":2,"dataContent":42,"from":1001,"to":1002,"fp":7}');
    expect(p).toMatchObject({ dataContent: '42', from: '1001', to: '1002', fp: '7' });
  });

  it('decode - ignores unknown keys and takes the last of duplicate keys', () => {
    expect(decodePacket('{"type":1,"retryCount":5,"whatever":{"a":[1]},"__proto__":{"type":9}}').type).toBe(1);
    expect(decodePacket('{"type":1,"type":2}').type).toBe(2);
  });

  it('decode - accepts numbers in any JSON spelling that is an exact integer', () => {
    expect(decodePacket('{"type":2.0,"typeu":1e2,"sm":-0}')).toMatchObject({ type: 2, typeu: 100, sm: 0 });
    expect(Object.is(decodePacket('{"sm":-0}').sm, 0)).toBe(true);
    expect(Object.is(decodePacket('{"typeu":"-0"}').typeu, 0)).toBe(true);
  });

  it('decode - reads type and typeu over the whole Java int range and sm over the safe-integer range', () => {
    const p = decodePacket(`{"type":2147483647,"typeu":-2147483648,"sm":${Number.MAX_SAFE_INTEGER}}`);
    expect(p).toMatchObject({ type: 2147483647, typeu: -2147483648, sm: Number.MAX_SAFE_INTEGER });
    expect(decodePacket(`{"sm":${Number.MIN_SAFE_INTEGER}}`).sm).toBe(Number.MIN_SAFE_INTEGER);
  });

  it('decode - rejects text that is not JSON with BAD_JSON', () => {
    for (const text of ['', ' ', '{', '{"type":1', '{"type":1}}', "{'type':1}", '{type:1}', 'undefined', '\uFEFF{}', '{"a":1,}']) {
      const err = expectProtocolError(() => decodePacket(text), ProtocolErrorKind.BAD_JSON);
      expect(err.cause).toBeInstanceOf(SyntaxError);
    }
  });

  it('decode - rejects JSON that is not an object with BAD_PACKET', () => {
    for (const text of ['[]', '[{"type":1}]', 'null', '0', '-1', '"{}"', 'true', 'false']) {
      expectProtocolError(() => decodePacket(text), ProtocolErrorKind.BAD_PACKET);
    }
  });

  it('decode - rejects a dataContent that is an object, an array or a boolean', () => {
    for (const dc of ['{"code":0}', '{}', '[]', '["a"]', 'true', 'false']) {
      const err = expectProtocolError(() => decodePacket(`{"type":0,"dataContent":${dc}}`), ProtocolErrorKind.BAD_PACKET);
      expect(err.message).toContain('dataContent');
    }
  });

  it('decode - rejects fields of the wrong type with BAD_PACKET naming the field', () => {
    const cases: [string, string][] = [
      ['type', '2.5'],
      ['type', '"2.5"'],
      ['type', '"two"'],
      ['type', '""'],
      ['type', '" 2"'],
      ['type', '"+2"'],
      ['type', 'true'],
      ['type', '[2]'],
      ['type', '{}'],
      ['typeu', '"1e2"'],
      ['sm', '1.5'],
      ['QoS', '1'],
      ['QoS', '"yes"'],
      ['QoS', '"TRUE"'],
      ['QoS', '[]'],
      ['bridge', '0'],
      ['bridge', '{}'],
      ['from', '{}'],
      ['from', '[]'],
      ['from', 'true'],
      ['from', '1.5'],
      ['to', 'false'],
      ['fp', '["x"]'],
      ['fp', '{"a":1}'],
    ];
    for (const [key, value] of cases) {
      const err = expectProtocolError(() => decodePacket(`{"type":2,"${key}":${value}}`), ProtocolErrorKind.BAD_PACKET);
      expect(err.message, `${key}=${value}`).toContain(`"${key}"`);
    }
  });

  it('decode - rejects numbers a Java peer could not read or that would lose precision', () => {
    const cases: [string, string][] = [
      ['type', '2147483648'],
      ['type', '-2147483649'],
      ['typeu', '"2147483648"'],
      ['typeu', '1e10'],
      ['sm', '9007199254740992'],
      ['sm', '"9999999999999999"'],
      ['sm', '"12345678901234567"'],
      ['sm', '1e308'],
      ['sm', '1e999'],
      ['sm', '-1e999'],
      ['from', '12345678901234567890'],
      ['to', '1e21'],
      ['fp', '1e999'],
    ];
    for (const [key, value] of cases) {
      expectProtocolError(() => decodePacket(`{"type":2,"${key}":${value}}`), ProtocolErrorKind.BAD_PACKET);
    }
  });

  it('decode - keeps lone surrogates and non-characters in strings intact', () => {
    const p = decodePacket('{"type":2,"dataContent":"\\ud800x\\uffff","from":"a","to":"b"}');
    expect(p.dataContent).toBe('\ud800x\uffff');
    expect(decodePacket(encodePacket(p))).toEqual(p);
  });
});

describe('toPacket', () => {
  it('toPacket - validates an already-parsed object', () => {
    expect(toPacket({ type: 4, dataContent: 'fp-1', from: 'b', to: 'a' })).toEqual({
      ...PACKET_DEFAULTS,
      type: 4,
      dataContent: 'fp-1',
      from: 'b',
      to: 'a',
    });
  });

  it('toPacket - rejects values that are not plain JSON objects with BAD_PACKET', () => {
    for (const raw of [undefined, null, 0, 'x', true, [], [{ type: 1 }], () => 1, Symbol('s'), 1n]) {
      expectProtocolError(() => toPacket(raw), ProtocolErrorKind.BAD_PACKET);
    }
  });

  it('toPacket - rejects non-JSON field values with BAD_PACKET', () => {
    const bad: Record<string, unknown>[] = [
      { type: 1n },
      { type: Number.NaN },
      { sm: Number.POSITIVE_INFINITY },
      { from: Symbol('x') },
      { to: () => 'b' },
      { dataContent: new Date(0) },
      { QoS: new Boolean(true) },
    ];
    for (const raw of bad) expectProtocolError(() => toPacket(raw), ProtocolErrorKind.BAD_PACKET);
  });

  it('toPacket - returns a fresh object that shares nothing with the input', () => {
    const raw = { type: 2, from: 'a', to: 'b', retryCount: 1 };
    const p = toPacket(raw);
    expect(p).not.toBe(raw);
    expect(Object.keys(p)).toEqual(GSON_KEY_ORDER);
  });
});

describe('createPacket', () => {
  it('createPacket - fills every unspecified field with the Protocal constructor default', () => {
    expect(createPacket({ type: PacketType.LOGIN })).toEqual(PACKET_DEFAULTS);
    expect(createPacket({ type: PacketType.DATA, from: 'a', QoS: true })).toEqual({ ...PACKET_DEFAULTS, type: 2, from: 'a', QoS: true });
  });

  it('createPacket - keeps the fields in Gson order', () => {
    expect(Object.keys(createPacket({ sm: 1, type: 2, bridge: true }))).toEqual(GSON_KEY_ORDER);
  });
});

describe('PACKET_DEFAULTS', () => {
  it('defaults - are the constructor defaults of Protocal and frozen', () => {
    expect(PACKET_DEFAULTS).toEqual({
      bridge: false,
      type: 0,
      dataContent: null,
      from: '-1',
      to: '-1',
      fp: null,
      QoS: false,
      typeu: -1,
      sm: -1,
    });
    expect(Object.isFrozen(PACKET_DEFAULTS)).toBe(true);
  });
});

describe('isToServer', () => {
  it('isToServer - is true only for packets addressed to "0"', () => {
    expect(isToServer(decodePacket(REFERENCE_FRAMES.KEEPALIVE.json))).toBe(true);
    expect(isToServer(decodePacket(REFERENCE_FRAMES.C2C_QOS.json))).toBe(false);
    expect(isToServer(decodePacket(REFERENCE_FRAMES.S2C_PUSH_ACK.json))).toBe(true);
    expect(isToServer(createPacket({ type: 2, to: '00' }))).toBe(false);
  });
});

describe('reference frames', () => {
  it.each(REFERENCE_FRAME_LIST)('decode - %s re-encodes byte for byte', (_name, frame) => {
    const p = decodePacket(frame.json);
    // Frames written by Gson carry every key; the two Node-written acks lack `sm`, which we fill with -1.
    const expected = frame.json.includes('"sm":') ? frame.json : withDefaultSm(frame.json);
    expect(encodePacket(p)).toBe(expected);
    expect(decodePacket(encodePacket(p))).toEqual(p);
  });

  it.each(REFERENCE_FRAME_LIST)('decode - %s keeps the field order of the capture', (_name, frame) => {
    const keys = Object.keys(JSON.parse(frame.json) as object);
    const ordered = GSON_KEY_ORDER.filter((k) => keys.includes(k));
    expect(keys).toEqual(ordered);
  });

  it('decode - reads the captured types and addresses', () => {
    const f = REFERENCE_FRAMES;
    const d = (json: string): Packet => decodePacket(json);
    expect(d(f.LOGIN.json)).toMatchObject({ type: PacketType.LOGIN, from: 'jtcp2', to: '0', QoS: false });
    expect(d(f.LOGIN_RESPONSE.json)).toMatchObject({ type: PacketType.LOGIN_RESPONSE, from: '0', to: 'jtcp2' });
    expect(d(f.KEEPALIVE_RESPONSE.json)).toMatchObject({ type: PacketType.KEEPALIVE_RESPONSE, dataContent: '{}' });
    expect(d(f.PSEUDO_ACK.json)).toMatchObject({ type: PacketType.ACK, dataContent: d(f.C2C_QOS.json).fp, from: 'webpeer2', to: 'jtcp2' });
    expect(d(f.LOGOUT.json)).toMatchObject({ type: PacketType.LOGOUT, dataContent: null, fp: null });
    expect(d(f.ERROR_UNLOGIN.json)).toMatchObject({ type: PacketType.ERROR, from: '0', to: '-1' });
    expect(d(f.KICKOUT_ADMIN.json)).toMatchObject({ type: PacketType.KICKOUT, sm: 1795310172878 });
    expect(d(f.ECHO_RESPONSE.json)).toEqual({ ...d(f.ECHO.json), type: PacketType.ECHO_RESPONSE });
    expect(d(f.S2C_PUSH.json)).toMatchObject({ type: PacketType.DATA, from: '0', QoS: true, typeu: 77 });
    expect(d(f.WS_PEER_ACK.json)).toMatchObject({ type: PacketType.ACK, sm: -1 });
  });
});
