import { describe, expect, it } from 'vitest';
import {
  CLIENT_PACKET_TYPES,
  CloseCode,
  ErrorCode,
  KickoutCode,
  PacketType,
  ProtocolError,
  ProtocolErrorKind,
  SERVER_UID,
  UNSET_UID,
  isProtocolError,
} from '../../src/index.js';

describe('PacketType', () => {
  it('values - match MobileIMSDK ProtocalType', () => {
    expect(PacketType).toEqual({
      LOGIN: 0,
      KEEPALIVE: 1,
      DATA: 2,
      LOGOUT: 3,
      ACK: 4,
      ECHO: 5,
      LOGIN_RESPONSE: 50,
      KEEPALIVE_RESPONSE: 51,
      ERROR: 52,
      ECHO_RESPONSE: 53,
      KICKOUT: 54,
    });
  });

  it('CLIENT_PACKET_TYPES - holds the client-to-server types 0–5 only', () => {
    expect([...CLIENT_PACKET_TYPES].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(CLIENT_PACKET_TYPES.has(PacketType.KICKOUT)).toBe(false);
  });
});

describe('ErrorCode', () => {
  it('values - are unique', () => {
    const values = Object.values(ErrorCode);
    expect(new Set(values).size).toBe(values.length);
  });

  it('values - keep MobileIMSDK codes in 0–1024 and Switchboard codes from 1025', () => {
    expect(ErrorCode.OK).toBe(0);
    expect(ErrorCode.UNLOGIN).toBe(301);
    for (const [name, code] of Object.entries(ErrorCode)) {
      if (name === 'OK' || name === 'UNLOGIN') continue;
      expect(code, name).toBeGreaterThanOrEqual(1025);
    }
  });
});

describe('KickoutCode', () => {
  it('values - match MobileIMSDK PKickoutInfo codes', () => {
    expect(KickoutCode).toEqual({ DUPLICATE_LOGIN: 1, ADMIN: 2 });
  });
});

describe('CloseCode', () => {
  it('values - are unique', () => {
    const values = Object.values(CloseCode);
    expect(new Set(values).size).toBe(values.length);
  });

  it('values - sit in 1000 or the reconnect (4000–4499) and terminal (4500–4999) ranges', () => {
    expect(CloseCode.BYE).toBe(1000);
    for (const name of ['DRAINING', 'SLOW_CONSUMER', 'IDLE_TIMEOUT'] as const) {
      expect(CloseCode[name], name).toBeGreaterThanOrEqual(4000);
      expect(CloseCode[name], name).toBeLessThanOrEqual(4499);
    }
    for (const name of ['PROTOCOL_ERROR', 'KICKED', 'LOGIN_FAILED'] as const) {
      expect(CloseCode[name], name).toBeGreaterThanOrEqual(4500);
      expect(CloseCode[name], name).toBeLessThanOrEqual(4999);
    }
  });
});

describe('special user ids', () => {
  it('ids - "0" is the server and "-1" is unset', () => {
    expect(SERVER_UID).toBe('0');
    expect(UNSET_UID).toBe('-1');
  });
});

describe('ProtocolError', () => {
  it('constructor - carries its kind, message and cause', () => {
    const cause = new SyntaxError('x');
    const err = new ProtocolError(ProtocolErrorKind.BAD_JSON, 'not json', { cause });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('ProtocolError');
    expect(err.code).toBe('IM_ERR_BAD_JSON');
    expect(err.message).toBe('not json');
    expect(err.cause).toBe(cause);
  });

  it('kinds - all use the IM_ERR_ prefix and are unique', () => {
    const kinds = Object.values(ProtocolErrorKind);
    expect(new Set(kinds).size).toBe(kinds.length);
    for (const k of kinds) expect(k).toMatch(/^IM_ERR_[A-Z_]+$/);
  });

  it('isProtocolError - tells protocol errors from others', () => {
    expect(isProtocolError(new ProtocolError(ProtocolErrorKind.BAD_PACKET, 'x'))).toBe(true);
    expect(isProtocolError(new Error('x'))).toBe(false);
    expect(isProtocolError({ code: 'IM_ERR_BAD_PACKET' })).toBe(false);
    expect(isProtocolError(null)).toBe(false);
  });
});
