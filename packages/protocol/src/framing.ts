import { ProtocolError, ProtocolErrorKind } from './errors.js';

/** Length of the TCP frame header: a 4-byte unsigned big-endian body length. */
export const TCP_HEADER_BYTES = 4;
/** MobileIMSDK's `TCP_FRAME_MAX_BODY_LENGTH`: a 6144-byte body is accepted, 6145 is not. */
export const DEFAULT_TCP_MAX_BODY_BYTES = 6144;

/** Frame one packet body for TCP: 4-byte big-endian length, then the UTF-8 body. */
export function encodeTcpFrame(body: string): Buffer {
  const len = Buffer.byteLength(body, 'utf8');
  const buf = Buffer.allocUnsafe(TCP_HEADER_BYTES + len);
  buf.writeUInt32BE(len, 0);
  buf.write(body, TCP_HEADER_BYTES, 'utf8');
  return buf;
}

/**
 * Streaming decoder for MobileIMSDK's TCP framing. Feed it chunks as they arrive; it returns
 * every complete body. A zero-length or over-limit frame throws `ProtocolError`, after which
 * the decoder is spent (the connection must be closed, as Netty's decoder does).
 */
export class TcpFrameDecoder {
  readonly maxBodyBytes: number;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private need = -1; // body length of the frame in progress, -1 while reading the header
  private failed: ProtocolError | null = null;

  constructor(maxBodyBytes: number = DEFAULT_TCP_MAX_BODY_BYTES) {
    if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1) throw new RangeError('maxBodyBytes must be a positive integer');
    this.maxBodyBytes = maxBodyBytes;
  }

  /** Bytes held for a frame not yet complete. */
  get pendingBytes(): number {
    return this.buffered;
  }

  push(chunk: Buffer): Buffer[] {
    if (this.failed) throw this.failed;
    if (chunk.length === 0) return [];
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: Buffer[] = [];
    for (;;) {
      if (this.need < 0) {
        if (this.buffered < TCP_HEADER_BYTES) break;
        const len = this.take(TCP_HEADER_BYTES).readUInt32BE(0);
        if (len === 0) return this.fail(new ProtocolError(ProtocolErrorKind.EMPTY_FRAME, 'zero-length TCP frame'));
        if (len > this.maxBodyBytes) {
          return this.fail(
            new ProtocolError(ProtocolErrorKind.FRAME_TOO_LARGE, `TCP frame of ${len} bytes exceeds ${this.maxBodyBytes}`),
          );
        }
        this.need = len;
      }
      if (this.buffered < this.need) break;
      out.push(this.take(this.need));
      this.need = -1;
    }
    return out;
  }

  private fail(err: ProtocolError): never {
    this.failed = err;
    this.chunks = [];
    this.buffered = 0;
    throw err;
  }

  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    let result: Buffer;
    if (first.length >= n) {
      result = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      const whole = Buffer.concat(this.chunks, this.buffered);
      result = whole.subarray(0, n);
      this.chunks = whole.length > n ? [whole.subarray(n)] : [];
    }
    this.buffered -= n;
    return result;
  }
}

/**
 * Decode UTF-8 strictly: invalid byte sequences are a `ProtocolError` rather than U+FFFD,
 * so garbage never reaches the JSON parser disguised as text.
 */
const utf8 = new TextDecoder('utf-8', { fatal: true });
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch (err) {
    throw new ProtocolError(ProtocolErrorKind.BAD_JSON, 'frame is not valid UTF-8', { cause: err });
  }
}
