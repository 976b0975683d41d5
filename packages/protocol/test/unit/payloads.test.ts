import { describe, expect, it } from 'vitest';
import {
  ErrorCode,
  KickoutCode,
  MAX_USER_ID_LENGTH,
  PacketType,
  ProtocolErrorKind,
  ackPacket,
  dataPacket,
  decodePacket,
  echoResponsePacket,
  encodeErrorResponse,
  encodeKickoutInfo,
  encodeLoginInfo,
  encodeLoginResponse,
  encodePacket,
  errorPacket,
  keepAlivePacket,
  keepAliveResponsePacket,
  kickoutPacket,
  loginPacket,
  loginResponsePacket,
  parseErrorResponse,
  parseKickoutInfo,
  parseLoginInfo,
  parseLoginResponse,
  type Packet,
} from '../../src/index.js';
import { expectProtocolError } from './helpers.js';
import { REFERENCE_FRAMES as F } from './reference-frames.js';

/** `dataContent` of a reference frame. */
function dc(json: string): string | null {
  return decodePacket(json).dataContent;
}

/** Every parser, for the rejection cases they share. */
const PARSERS: [string, (dataContent: string | null) => unknown][] = [
  ['parseLoginInfo', parseLoginInfo],
  ['parseLoginResponse', parseLoginResponse],
  ['parseErrorResponse', parseErrorResponse],
  ['parseKickoutInfo', parseKickoutInfo],
];

describe('payload parsers', () => {
  it.each(PARSERS)('%s - rejects a missing dataContent with BAD_PAYLOAD', (_name, parse) => {
    expectProtocolError(() => parse(null), ProtocolErrorKind.BAD_PAYLOAD);
  });

  it.each(PARSERS)('%s - rejects text that is not JSON with BAD_PAYLOAD', (_name, parse) => {
    for (const text of ['', 'hello', '{', "{'code':1}", '{"code":1}x']) {
      const err = expectProtocolError(() => parse(text), ProtocolErrorKind.BAD_PAYLOAD);
      expect(err.cause).toBeInstanceOf(SyntaxError);
    }
  });

  it.each(PARSERS)('%s - rejects JSON that is not an object with BAD_PAYLOAD', (_name, parse) => {
    for (const text of ['[]', '[{"code":1}]', 'null', '1', '"{}"', 'true']) {
      expectProtocolError(() => parse(text), ProtocolErrorKind.BAD_PAYLOAD);
    }
  });
});

describe('parseLoginInfo', () => {
  it('parseLoginInfo - reads the Java SDK login', () => {
    expect(parseLoginInfo(dc(F.LOGIN.json))).toEqual({
      loginUserId: 'jtcp2',
      loginToken: 'token-jtcp2',
      extra: 'java-extra',
      firstLoginTime: 0,
    });
  });

  it('parseLoginInfo - treats missing or null token, extra and firstLoginTime as null / 0', () => {
    expect(parseLoginInfo('{"loginUserId":"alice"}')).toEqual({ loginUserId: 'alice', loginToken: null, extra: null, firstLoginTime: 0 });
    expect(parseLoginInfo('{"loginUserId":"alice","loginToken":null,"extra":null,"firstLoginTime":null}')).toEqual({
      loginUserId: 'alice',
      loginToken: null,
      extra: null,
      firstLoginTime: 0,
    });
  });

  it('parseLoginInfo - accepts firstLoginTime as a string and a user id as an integer', () => {
    expect(parseLoginInfo('{"loginUserId":1001,"firstLoginTime":"1795310089341"}')).toMatchObject({
      loginUserId: '1001',
      firstLoginTime: 1795310089341,
    });
  });

  it('parseLoginInfo - ignores unknown keys', () => {
    expect(parseLoginInfo('{"loginUserId":"a","device":"x"}').loginUserId).toBe('a');
  });

  it('parseLoginInfo - rejects a missing, empty, too long or reserved user id', () => {
    for (const text of ['{}', '{"loginUserId":null}', '{"loginUserId":""}', '{"loginUserId":"0"}', '{"loginUserId":"-1"}', '{"loginUserId":0}']) {
      expectProtocolError(() => parseLoginInfo(text), ProtocolErrorKind.BAD_PAYLOAD);
    }
    const longest = 'u'.repeat(MAX_USER_ID_LENGTH);
    expect(parseLoginInfo(JSON.stringify({ loginUserId: longest })).loginUserId).toBe(longest);
    expectProtocolError(() => parseLoginInfo(JSON.stringify({ loginUserId: longest + 'u' })), ProtocolErrorKind.BAD_PAYLOAD);
  });

  it('parseLoginInfo - rejects fields of the wrong type', () => {
    for (const text of [
      '{"loginUserId":{}}',
      '{"loginUserId":["a"]}',
      '{"loginUserId":true}',
      '{"loginUserId":"a","loginToken":{}}',
      '{"loginUserId":"a","extra":[]}',
      '{"loginUserId":"a","firstLoginTime":1.5}',
      '{"loginUserId":"a","firstLoginTime":"soon"}',
      '{"loginUserId":"a","firstLoginTime":9007199254740993}',
      '{"loginUserId":"a","firstLoginTime":true}',
    ]) {
      expectProtocolError(() => parseLoginInfo(text), ProtocolErrorKind.BAD_PAYLOAD);
    }
  });
});

describe('encodeLoginInfo', () => {
  it('encodeLoginInfo - writes PLoginInfo exactly as the Java SDK does', () => {
    expect(encodeLoginInfo(parseLoginInfo(dc(F.LOGIN.json)))).toBe(dc(F.LOGIN.json));
  });

  it('encodeLoginInfo - omits a null token and extra but always writes firstLoginTime', () => {
    expect(encodeLoginInfo({ loginUserId: 'a', loginToken: null, extra: null, firstLoginTime: 0 })).toBe('{"loginUserId":"a","firstLoginTime":0}');
    expect(encodeLoginInfo({ loginUserId: 'a', loginToken: 't', extra: null, firstLoginTime: 5 })).toBe(
      '{"loginUserId":"a","loginToken":"t","firstLoginTime":5}',
    );
  });

  it('encodeLoginInfo - output parses back to the same login', () => {
    const info = { loginUserId: 'é"\\', loginToken: 'a.b.c', extra: '{"x":1}', firstLoginTime: 1795310089341 };
    expect(parseLoginInfo(encodeLoginInfo(info))).toEqual(info);
  });
});

describe('parseLoginResponse', () => {
  it('parseLoginResponse - reads success and failure responses', () => {
    expect(parseLoginResponse(dc(F.LOGIN_RESPONSE.json))).toEqual({ code: 0, firstLoginTime: 1795310089341 });
    expect(parseLoginResponse(dc(F.LOGIN_REJECTED.json))).toEqual({ code: ErrorCode.AUTH_FAILED, firstLoginTime: -1 });
  });

  it('parseLoginResponse - treats missing keys as 0', () => {
    expect(parseLoginResponse('{}')).toEqual({ code: 0, firstLoginTime: 0 });
  });

  it('parseLoginResponse - rejects a code outside the Java int range or of the wrong type', () => {
    for (const text of ['{"code":2147483648}', '{"code":"x"}', '{"code":1.5}', '{"code":[0]}', '{"firstLoginTime":{}}']) {
      expectProtocolError(() => parseLoginResponse(text), ProtocolErrorKind.BAD_PAYLOAD);
    }
  });
});

describe('encodeLoginResponse', () => {
  it('encodeLoginResponse - writes PLoginInfoResponse as the server does', () => {
    expect(encodeLoginResponse({ code: 0, firstLoginTime: 1795310089341 })).toBe(dc(F.LOGIN_RESPONSE.json));
    expect(encodeLoginResponse({ code: 1025, firstLoginTime: -1 })).toBe(dc(F.LOGIN_REJECTED.json));
  });

  it('encodeLoginResponse - always writes valid JSON integers', () => {
    expect(encodeLoginResponse({ code: Number.NaN, firstLoginTime: 12.7 })).toBe('{"code":0,"firstLoginTime":12}');
    expect(encodeLoginResponse({ code: -0, firstLoginTime: Number.NEGATIVE_INFINITY })).toBe('{"code":0,"firstLoginTime":0}');
  });
});

describe('parseErrorResponse', () => {
  it('parseErrorResponse - reads the 301 error and the rejected packet inside errorMsg', () => {
    const r = parseErrorResponse(dc(F.ERROR_UNLOGIN.json));
    expect(r.errorCode).toBe(ErrorCode.UNLOGIN);
    expect(decodePacket(r.errorMsg ?? '')).toMatchObject({
      type: PacketType.DATA,
      dataContent: 'hello before login',
      from: 'zed_tcp40',
      to: '0',
      fp: '5ac97602-0100-4f23-b856-5905c0d46cea',
      QoS: true,
    });
  });

  it('parseErrorResponse - treats a missing errorMsg as null', () => {
    expect(parseErrorResponse('{"errorCode":1026}')).toEqual({ errorCode: 1026, errorMsg: null });
  });

  it('parseErrorResponse - rejects fields of the wrong type', () => {
    for (const text of ['{"errorCode":"boom"}', '{"errorCode":301,"errorMsg":{}}', '{"errorCode":-2147483649}']) {
      expectProtocolError(() => parseErrorResponse(text), ProtocolErrorKind.BAD_PAYLOAD);
    }
  });
});

describe('encodeErrorResponse', () => {
  it('encodeErrorResponse - writes PErrorResponse as the server does', () => {
    const r = parseErrorResponse(dc(F.ERROR_UNLOGIN.json));
    expect(encodeErrorResponse(r)).toBe(dc(F.ERROR_UNLOGIN.json));
  });

  it('encodeErrorResponse - omits a null errorMsg', () => {
    expect(encodeErrorResponse({ errorCode: 1028, errorMsg: null })).toBe('{"errorCode":1028}');
  });
});

describe('parseKickoutInfo', () => {
  it('parseKickoutInfo - reads duplicate-login and admin kickouts', () => {
    expect(parseKickoutInfo(dc(F.KICKOUT_DUPLICATE.json))).toEqual({ code: KickoutCode.DUPLICATE_LOGIN, reason: null });
    expect(parseKickoutInfo(dc(F.KICKOUT_ADMIN.json))).toEqual({ code: KickoutCode.ADMIN, reason: 'admin says bye' });
  });

  it('parseKickoutInfo - rejects fields of the wrong type', () => {
    for (const text of ['{"code":true}', '{"code":1,"reason":["x"]}', '{"code":"1.0"}']) {
      expectProtocolError(() => parseKickoutInfo(text), ProtocolErrorKind.BAD_PAYLOAD);
    }
  });
});

describe('encodeKickoutInfo', () => {
  it('encodeKickoutInfo - writes PKickoutInfo as the server does, reason omitted when null', () => {
    expect(encodeKickoutInfo({ code: 1, reason: null })).toBe(dc(F.KICKOUT_DUPLICATE.json));
    expect(encodeKickoutInfo({ code: 2, reason: 'admin says bye' })).toBe(dc(F.KICKOUT_ADMIN.json));
  });
});

describe('packet factories', () => {
  const withSm = (p: Packet, sm: number): Packet => ({ ...p, sm });

  it('loginPacket - builds the Java SDK login frame', () => {
    const p = loginPacket({ loginUserId: 'jtcp2', loginToken: 'token-jtcp2', extra: 'java-extra', firstLoginTime: 0 });
    expect(encodePacket(p)).toBe(F.LOGIN.json);
  });

  it('loginResponsePacket - builds success and failure responses', () => {
    expect(encodePacket(loginResponsePacket('jtcp2', { code: 0, firstLoginTime: 1795310089341 }))).toBe(F.LOGIN_RESPONSE.json);
    const rejected = loginResponsePacket('-1', { code: 1025, firstLoginTime: -1 });
    expect(encodePacket(withSm(rejected, 1795310166458))).toBe(F.LOGIN_REJECTED.json);
  });

  it('keepAlivePacket - builds the client keepalive', () => {
    expect(encodePacket(keepAlivePacket('jtcp2'))).toBe(F.KEEPALIVE.json);
  });

  it('keepAliveResponsePacket - builds the server keepalive response', () => {
    expect(encodePacket(keepAliveResponsePacket('jtcp2'))).toBe(F.KEEPALIVE_RESPONSE.json);
  });

  it('errorPacket - builds the 301 error carrying the rejected packet', () => {
    const rejected = dataPacket({
      from: 'zed_tcp40',
      to: '0',
      dataContent: 'hello before login',
      fp: '5ac97602-0100-4f23-b856-5905c0d46cea',
      QoS: true,
    });
    expect(encodePacket(errorPacket(ErrorCode.UNLOGIN, encodePacket(rejected)))).toBe(F.ERROR_UNLOGIN.json);
    expect(errorPacket(ErrorCode.RATE_LIMITED, null)).toMatchObject({ type: 52, from: '0', to: '-1', dataContent: '{"errorCode":1026}' });
  });

  it('kickoutPacket - builds duplicate-login and admin kickouts', () => {
    expect(encodePacket(kickoutPacket('alice_tcp40', KickoutCode.DUPLICATE_LOGIN))).toBe(F.KICKOUT_DUPLICATE.json);
    expect(encodePacket(withSm(kickoutPacket('kick_tcp895', KickoutCode.ADMIN, 'admin says bye'), 1795310172878))).toBe(
      F.KICKOUT_ADMIN.json,
    );
  });

  it('ackPacket - builds pseudo-acks, C2S acks and client acks', () => {
    const msg = decodePacket(F.C2C_QOS.json);
    expect(encodePacket(ackPacket(msg.to, msg.from, msg.fp ?? ''))).toBe(F.PSEUDO_ACK.json);
    expect(encodePacket(ackPacket('0', 'jtcp2', '844cca91-37f9-48e0-81cd-be869d26c314'))).toBe(F.C2S_ACK.json);
    expect(encodePacket(ackPacket('jtcp2', 'webpeer2', '41bf9198-5cf7-4153-8306-ba4b9421a488'))).toBe(F.JAVA_ACK.json);
  });

  it('ackPacket - copies the bridge flag when asked', () => {
    expect(ackPacket('bob', 'alice', 'fp', true)).toMatchObject({ type: PacketType.ACK, bridge: true, QoS: false, fp: null });
  });

  it('echoResponsePacket - returns the request with only the type changed', () => {
    const req = decodePacket(F.ECHO.json);
    const copy = { ...req };
    const res = echoResponsePacket(req);
    expect(encodePacket(res)).toBe(F.ECHO_RESPONSE.json);
    expect(req).toEqual(copy);
    expect(res).not.toBe(req);
  });

  it('dataPacket - builds C2C messages and server pushes', () => {
    const c2c = dataPacket({
      from: 'jtcp2',
      to: 'webpeer2',
      dataContent: 'hello from Java TCP SDK',
      fp: '27b59475-c30e-4161-bb5d-abf2f429dd14',
      QoS: true,
      typeu: 7,
    });
    expect(encodePacket(c2c)).toBe(F.C2C_QOS.json);
    const push = dataPacket({ from: '0', to: 's2c_tcp895', dataContent: 'server push', fp: 'a0d388ab-de3a-4c60-ba2e-73868f349bb1', QoS: true, typeu: 77 });
    expect(encodePacket(withSm(push, 1795310171856))).toBe(F.S2C_PUSH.json);
  });

  it('dataPacket - defaults to a non-QoS packet without fingerprint and typeu -1', () => {
    expect(dataPacket({ from: 'a', to: 'b', dataContent: 'x' })).toEqual({
      bridge: false,
      type: PacketType.DATA,
      dataContent: 'x',
      from: 'a',
      to: 'b',
      fp: null,
      QoS: false,
      typeu: -1,
      sm: -1,
    });
  });
});
