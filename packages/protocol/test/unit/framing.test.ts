import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TCP_MAX_BODY_BYTES,
  ProtocolError,
  ProtocolErrorKind,
  TCP_HEADER_BYTES,
  TcpFrameDecoder,
  decodePacket,
  decodeUtf8,
  encodeTcpFrame,
} from '../../src/index.js';
import { expectProtocolError } from './helpers.js';
import { REFERENCE_FRAMES, REFERENCE_FRAME_LIST } from './reference-frames.js';

/** A raw frame: header announcing `length`, then `body` (which may differ from `length`). */
function rawFrame(length: number, body: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(TCP_HEADER_BYTES);
  header.writeUInt32BE(length, 0);
  return Buffer.concat([header, body]);
}

function bodies(frames: Buffer[]): string[] {
  return frames.map((f) => f.toString('utf8'));
}

const TCP_FRAMES = REFERENCE_FRAME_LIST.filter(([, f]) => f.tcpHeader !== null);

describe('encodeTcpFrame', () => {
  it.each(TCP_FRAMES)('encode - %s gets the header seen on the wire', (_name, frame) => {
    const buf = encodeTcpFrame(frame.json);
    expect(buf.readUInt32BE(0)).toBe(frame.tcpHeader);
    expect(buf.length).toBe(TCP_HEADER_BYTES + (frame.tcpHeader ?? 0));
    expect(buf.subarray(TCP_HEADER_BYTES).toString('utf8')).toBe(frame.json);
  });

  it('encode - starts the keepalive with 00 00 00 63', () => {
    expect([...encodeTcpFrame(REFERENCE_FRAMES.KEEPALIVE.json).subarray(0, 4)]).toEqual([0x00, 0x00, 0x00, 0x63]);
  });

  it('encode - counts UTF-8 bytes, not characters', () => {
    const buf = encodeTcpFrame('"你好😀"');
    expect(buf.readUInt32BE(0)).toBe(2 + 3 + 3 + 4);
    expect(buf.subarray(TCP_HEADER_BYTES).toString('utf8')).toBe('"你好😀"');
  });
});

describe('TcpFrameDecoder', () => {
  it('push - reassembles one frame split byte by byte', () => {
    const wire = encodeTcpFrame(REFERENCE_FRAMES.ERROR_UNLOGIN.json);
    const dec = new TcpFrameDecoder();
    const out: Buffer[] = [];
    for (let i = 0; i < wire.length; i++) {
      const got = dec.push(wire.subarray(i, i + 1));
      if (i < wire.length - 1) expect(got).toEqual([]);
      out.push(...got);
      // Once the header is parsed only body bytes are held.
      const seen = i + 1;
      expect(dec.pendingBytes).toBe(seen === wire.length ? 0 : seen < TCP_HEADER_BYTES ? seen : seen - TCP_HEADER_BYTES);
    }
    expect(bodies(out)).toEqual([REFERENCE_FRAMES.ERROR_UNLOGIN.json]);
  });

  it('push - returns every frame of a chunk holding many', () => {
    const jsons = REFERENCE_FRAME_LIST.map(([, f]) => f.json);
    const dec = new TcpFrameDecoder();
    const out = dec.push(Buffer.concat(jsons.map(encodeTcpFrame)));
    expect(bodies(out)).toEqual(jsons);
    expect(dec.pendingBytes).toBe(0);
  });

  it('push - handles frames and headers that straddle chunk boundaries', () => {
    const jsons = REFERENCE_FRAME_LIST.map(([, f]) => f.json);
    const wire = Buffer.concat(jsons.map(encodeTcpFrame));
    for (const size of [2, 3, 5, 7, 64, 150, 1000]) {
      const dec = new TcpFrameDecoder();
      const out: Buffer[] = [];
      for (let i = 0; i < wire.length; i += size) out.push(...dec.push(wire.subarray(i, i + size)));
      expect(bodies(out), `chunk size ${size}`).toEqual(jsons);
    }
  });

  it('push - keeps the tail of a chunk for the next frame', () => {
    const a = encodeTcpFrame(REFERENCE_FRAMES.KEEPALIVE.json);
    const b = encodeTcpFrame(REFERENCE_FRAMES.LOGOUT.json);
    const dec = new TcpFrameDecoder();
    expect(bodies(dec.push(Buffer.concat([a, b.subarray(0, 10)])))).toEqual([REFERENCE_FRAMES.KEEPALIVE.json]);
    expect(dec.pendingBytes).toBe(10 - TCP_HEADER_BYTES);
    expect(bodies(dec.push(b.subarray(10)))).toEqual([REFERENCE_FRAMES.LOGOUT.json]);
  });

  it('push - returns nothing for an empty chunk', () => {
    const dec = new TcpFrameDecoder();
    expect(dec.push(Buffer.alloc(0))).toEqual([]);
    expect(dec.pendingBytes).toBe(0);
  });

  it('push - returned bodies decode as packets', () => {
    const dec = new TcpFrameDecoder();
    const [body] = dec.push(encodeTcpFrame(REFERENCE_FRAMES.C2C_QOS.json));
    expect(decodePacket(decodeUtf8(body ?? Buffer.alloc(0))).fp).toBe('27b59475-c30e-4161-bb5d-abf2f429dd14');
  });

  it('push - accepts a body of exactly 6144 bytes', () => {
    expect(DEFAULT_TCP_MAX_BODY_BYTES).toBe(6144);
    const body = Buffer.alloc(6144, 0x61);
    const dec = new TcpFrameDecoder();
    const out = dec.push(rawFrame(6144, body));
    expect(out).toHaveLength(1);
    expect(out[0]?.equals(body)).toBe(true);
  });

  it('push - rejects a 6145-byte body with FRAME_TOO_LARGE as soon as the header arrives', () => {
    const dec = new TcpFrameDecoder();
    const err = expectProtocolError(() => dec.push(rawFrame(6145)), ProtocolErrorKind.FRAME_TOO_LARGE);
    expect(err.message).toContain('6145');
    expect(dec.pendingBytes).toBe(0);
  });

  it('push - rejects the largest 32-bit length as FRAME_TOO_LARGE', () => {
    expectProtocolError(() => new TcpFrameDecoder().push(rawFrame(0xffffffff)), ProtocolErrorKind.FRAME_TOO_LARGE);
  });

  it('push - rejects a zero-length frame with EMPTY_FRAME', () => {
    const dec = new TcpFrameDecoder();
    expectProtocolError(() => dec.push(rawFrame(0, Buffer.from('{}'))), ProtocolErrorKind.EMPTY_FRAME);
  });

  it('push - rejects a bad header that follows good frames in one chunk', () => {
    const dec = new TcpFrameDecoder();
    const chunk = Buffer.concat([encodeTcpFrame(REFERENCE_FRAMES.KEEPALIVE.json), rawFrame(0)]);
    expectProtocolError(() => dec.push(chunk), ProtocolErrorKind.EMPTY_FRAME);
  });

  it('push - a spent decoder keeps throwing the same error', () => {
    const dec = new TcpFrameDecoder();
    const first = expectProtocolError(() => dec.push(rawFrame(7000)), ProtocolErrorKind.FRAME_TOO_LARGE);
    for (const chunk of [encodeTcpFrame(REFERENCE_FRAMES.KEEPALIVE.json), Buffer.alloc(0), Buffer.from([0])]) {
      let again: unknown;
      try {
        dec.push(chunk);
      } catch (err) {
        again = err;
      }
      expect(again).toBe(first);
    }
  });

  it('push - enforces a custom limit', () => {
    const dec = new TcpFrameDecoder(10);
    expect(dec.maxBodyBytes).toBe(10);
    expect(bodies(dec.push(rawFrame(10, Buffer.from('"12345678"'))))).toEqual(['"12345678"']);
    expectProtocolError(() => dec.push(rawFrame(11)), ProtocolErrorKind.FRAME_TOO_LARGE);
    const big = new TcpFrameDecoder(65536);
    expect(big.push(rawFrame(65536, Buffer.alloc(65536, 0x20)))).toHaveLength(1);
  });

  it('constructor - defaults to the MobileIMSDK limit', () => {
    expect(new TcpFrameDecoder().maxBodyBytes).toBe(DEFAULT_TCP_MAX_BODY_BYTES);
  });

  it('constructor - rejects a limit that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new TcpFrameDecoder(bad)).toThrow(RangeError);
    }
  });
});

describe('decodeUtf8', () => {
  it('decodeUtf8 - decodes ASCII and multi-byte text', () => {
    expect(decodeUtf8(Buffer.from('{"dataContent":"你好 😀 é"}'))).toBe('{"dataContent":"你好 😀 é"}');
    expect(decodeUtf8(new Uint8Array(0))).toBe('');
  });

  it('decodeUtf8 - rejects invalid UTF-8 with BAD_JSON', () => {
    const invalid: number[][] = [
      [0xff],
      [0x80],
      [0xc0, 0xaf], // overlong "/"
      [0xe0, 0x80, 0xaf], // overlong
      [0xed, 0xa0, 0x80], // UTF-16 surrogate
      [0xe4, 0xbd], // truncated sequence
      [0xf4, 0x90, 0x80, 0x80], // beyond U+10FFFF
      [0x7b, 0x22, 0xfe, 0x22, 0x7d], // {"\xfe"}
    ];
    for (const bytes of invalid) {
      const err = expectProtocolError(() => decodeUtf8(Uint8Array.from(bytes)), ProtocolErrorKind.BAD_JSON);
      expect(err).toBeInstanceOf(ProtocolError);
      expect(err.cause).toBeInstanceOf(TypeError);
    }
  });

  it('decodeUtf8 - works again after a failure', () => {
    expect(() => decodeUtf8(Uint8Array.from([0xe4, 0xbd]))).toThrow(ProtocolError);
    expect(decodeUtf8(Buffer.from('你'))).toBe('你');
  });
});
