/**
 * A lean WebSocket client for the bench (RFC 6455, text frames only), straight on `node:net`.
 *
 * Why: in idle mode the client workers, not the gateway, bound the login rate on a small machine —
 * a `ws` client connection costs ≈ 390 µs of CPU (http.request and its parser, a random key and a
 * SHA-1 per connection, several event emitters) against ≈ 190 µs in the gateway. Here a connection
 * is one socket write of a request precomputed once per process and URL, one `indexOf` for the end
 * of the answer's header and a handful of string compares; frames are parsed in place.
 *
 * What it does not do (nothing MobileIMSDK's server needs): TLS (`wss:`), extensions, subprotocols,
 * fragmented or binary messages (both are a protocol error here, as they are for the gateway), UTF-8
 * validation of inbound text, redirects, proxies.
 *
 * One Sec-WebSocket-Key per process (RFC 6455 §4.1 allows a client to reuse a key for testing) and so
 * one expected Sec-WebSocket-Accept, computed once; every answer is still checked against it. One
 * random masking key per process, too: the mask is there against cache-poisoning intermediaries,
 * of which a benchmark on its own machines has none, and the server only XORs it away.
 */
import { createHash, randomBytes } from 'node:crypto';
import { connect as tcpConnect, type Socket } from 'node:net';
import { InvalidArgumentError, TimeoutError, UnavailableError } from '@switchboard/core';
import type { Conn } from './types.js';

/** Largest inbound frame payload accepted, bytes; a longer frame closes the connection. */
export const RAW_WS_MAX_PAYLOAD = 1 << 20;
/** Largest handshake answer header accepted, bytes. */
const MAX_HANDSHAKE_BYTES = 16 * 1024;
/** After our close frame (or our answer to the server's), how long the socket may linger, ms. */
const CLOSE_LINGER_MS = 1_000;

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** This process's Sec-WebSocket-Key (16 random bytes, base64) and the answer it must get. */
const KEY = randomBytes(16).toString('base64');
const EXPECTED_ACCEPT = createHash('sha1').update(KEY + GUID).digest('base64');
/** This process's masking key for every frame it sends. */
const MASK = randomBytes(4);
const M0 = MASK[0]!;
const M1 = MASK[1]!;
const M2 = MASK[2]!;
const M3 = MASK[3]!;
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');

export const Opcode = { TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 } as const;

/** The key and expected accept value of this process (for tests). */
export const rawWsHandshake = { key: KEY, accept: EXPECTED_ACCEPT } as const;

// ------------------------------------------------------------------ frames out

/**
 * One client frame: FIN set, `opcode`, masked with this process's key. The payload is `text`
 * (written as UTF-8 straight into the frame) or `payload`. One allocation per frame.
 */
export function encodeClientFrame(opcode: number, text: string | null, payload: Buffer | null = null): Buffer {
  const len = text !== null ? Buffer.byteLength(text, 'utf8') : payload === null ? 0 : payload.length;
  const hdr = len < 126 ? 6 : len < 65_536 ? 8 : 14;
  const out = Buffer.allocUnsafe(hdr + len);
  out[0] = 0x80 | opcode;
  if (len < 126) {
    out[1] = 0x80 | len;
  } else if (len < 65_536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeUInt32BE(Math.floor(len / 0x1_0000_0000), 2);
    out.writeUInt32BE(len >>> 0, 6);
  }
  const m = hdr - 4;
  out[m] = M0;
  out[m + 1] = M1;
  out[m + 2] = M2;
  out[m + 3] = M3;
  if (text !== null) out.write(text, hdr, len, 'utf8');
  else if (payload !== null) payload.copy(out, hdr);
  let i = hdr;
  const end = hdr + len;
  // Four bytes at a time while they last, then the tail.
  for (const stop = end - 3; i < stop; i += 4) {
    out[i] = out[i]! ^ M0;
    out[i + 1] = out[i + 1]! ^ M1;
    out[i + 2] = out[i + 2]! ^ M2;
    out[i + 3] = out[i + 3]! ^ M3;
  }
  for (let k = 0; i < end; i++, k++) out[i] = out[i]! ^ MASK[k]!;
  return out;
}

/** A close frame carrying `code` (and nothing else). */
function closeFrame(code: number): Buffer {
  const p = Buffer.allocUnsafe(2);
  p.writeUInt16BE(code, 0);
  return encodeClientFrame(Opcode.CLOSE, null, p);
}

// ------------------------------------------------------------------ frames in

/** Receives the frames a `FrameReader` completes. */
export interface FrameSink {
  /**
   * One complete frame: opcode 1 (text), 8 (close), 9 (ping) or 10 (pong), payload unmasked. The
   * payload is a view into a socket chunk: copy what must outlive the call. Return false to stop
   * reading (the rest of the chunk is dropped; the connection is closing).
   */
  frame(opcode: number, payload: Buffer): boolean;
}

/**
 * Parses server frames out of socket chunks. A chunk holding whole frames is parsed in place, with
 * no copy; only an incomplete frame at the end of a chunk is kept (the small tail is copied so it
 * does not pin the whole chunk), and later chunks are only gathered — not joined — until the frame
 * is complete, so a large frame is joined once.
 *
 * Server frames must be unmasked, final, unfragmented text or control frames with clear reserved
 * bits, control payloads ≤ 125 bytes and any payload ≤ `maxPayload`; anything else is a protocol
 * error, after which the reader must not be fed again.
 */
export class FrameReader {
  /** Received bytes of an incomplete frame, in order; null when none. */
  private parts: Buffer[] | null = null;
  private held = 0;
  /** Bytes needed before parsing is worth another try (the header, then the whole frame). */
  private need = 0;

  constructor(
    private readonly sink: FrameSink,
    private readonly maxPayload: number = RAW_WS_MAX_PAYLOAD,
  ) {}

  /** Bytes held of an incomplete frame. */
  get pendingBytes(): number {
    return this.held;
  }

  /** Feed one chunk. Null when fine; else what was wrong (a protocol error). */
  push(chunk: Buffer): string | null {
    let buf: Buffer;
    if (this.parts !== null) {
      this.parts.push(chunk);
      this.held += chunk.length;
      if (this.held < this.need) return null;
      buf = Buffer.concat(this.parts, this.held);
      this.parts = null;
      this.held = 0;
    } else {
      buf = chunk;
    }
    const n = buf.length;
    let off = 0;
    while (off < n) {
      const avail = n - off;
      if (avail < 2) return this.hold(buf, off, 2);
      const b0 = buf[off]!;
      const b1 = buf[off + 1]!;
      if (b1 & 0x80) return 'masked frame from the server';
      if (b0 & 0x70) return 'reserved bits set';
      const op = b0 & 0x0f;
      const fin = (b0 & 0x80) !== 0;
      if (op === Opcode.TEXT) {
        if (!fin) return 'fragmented message';
      } else if (op === Opcode.CLOSE || op === Opcode.PING || op === Opcode.PONG) {
        if (!fin) return 'fragmented control frame';
      } else if (op === 0) {
        return 'continuation frame';
      } else if (op === Opcode.BINARY) {
        return 'binary frame';
      } else {
        return `unknown opcode ${op}`;
      }
      let len = b1 & 0x7f;
      let hdr = 2;
      if (len === 126) {
        if (avail < 4) return this.hold(buf, off, 4);
        len = buf.readUInt16BE(off + 2);
        hdr = 4;
      } else if (len === 127) {
        if (avail < 10) return this.hold(buf, off, 10);
        if (buf.readUInt32BE(off + 2) !== 0) return `frame over the ${this.maxPayload}-byte limit`;
        len = buf.readUInt32BE(off + 6);
        hdr = 10;
      }
      if (op >= 8 && len > 125) return 'control frame over 125 bytes';
      if (len > this.maxPayload) return `frame of ${len} bytes over the ${this.maxPayload}-byte limit`;
      if (avail < hdr + len) return this.hold(buf, off, hdr + len);
      const start = off + hdr;
      off = start + len;
      if (!this.sink.frame(op, buf.subarray(start, off))) return null;
    }
    return null;
  }

  /** Keep `buf[off..]`, an incomplete frame that needs `need` bytes in all. */
  private hold(buf: Buffer, off: number, need: number): null {
    const rest = buf.subarray(off);
    // A small tail is copied rather than keeping the whole chunk alive behind it.
    this.parts = [off > 0 && rest.length <= 4_096 ? Buffer.from(rest) : rest];
    this.held = rest.length;
    this.need = need;
    return null;
  }
}

// ------------------------------------------------------------------ connect

/** Where a URL connects and the upgrade request for it, made once per process and URL. */
interface Target {
  url: string;
  host: string;
  port: number;
  request: Buffer;
}

const targets = new Map<string, Target>();

function targetOf(url: string): Target {
  let t = targets.get(url);
  if (t) return t;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InvalidArgumentError(`not a URL: ${url}`);
  }
  if (u.protocol !== 'ws:') throw new InvalidArgumentError(`the raw WebSocket client speaks ws:// only (got ${url})`);
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  const request =
    `GET ${u.pathname || '/'}${u.search} HTTP/1.1\r\n` +
    `Host: ${u.host}\r\n` +
    'Upgrade: websocket\r\n' +
    'Connection: Upgrade\r\n' +
    `Sec-WebSocket-Key: ${KEY}\r\n` +
    'Sec-WebSocket-Version: 13\r\n' +
    '\r\n';
  t = { url, host, port: u.port ? Number(u.port) : 80, request: Buffer.from(request, 'latin1') };
  targets.set(url, t);
  return t;
}

/**
 * Open a WebSocket to a `ws://` URL with the raw client. Rejects with TimeoutError when connect and
 * handshake take over `timeoutMs`, UnavailableError when refused, reset, closed, or answered with
 * anything but a valid 101 (the message carries the status line), InvalidArgumentError for a URL
 * it cannot speak to.
 */
export function openRawWs(url: string, timeoutMs: number): Promise<Conn> {
  return new Promise((resolve, reject) => {
    let t: Target;
    try {
      t = targetOf(url);
    } catch (err) {
      reject(err);
      return;
    }
    const sock = tcpConnect({ host: t.host, port: t.port, noDelay: true });
    // Queued by node until the connection is up: no 'connect' listener needed.
    sock.write(t.request);
    new RawWsConn(sock, t, resolve, reject, timeoutMs);
  });
}

const State = { HANDSHAKE: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 } as const;
type State = (typeof State)[keyof typeof State];

/** Where a socket's listeners (shared functions, no closure per connection) find their connection. */
const kConn = Symbol('rawWsConn');
type ConnSocket = Socket & { [kConn]: RawWsConn };

function onSocketData(this: ConnSocket, chunk: Buffer): void {
  this[kConn].data(chunk);
}
function onSocketError(this: ConnSocket, err: Error): void {
  this[kConn].error(err);
}
function onSocketClose(this: ConnSocket): void {
  this[kConn].socketClosed();
}
function onHandshakeTimeout(c: RawWsConn): void {
  c.handshakeTimedOut();
}
function destroySocket(s: Socket): void {
  s.destroy();
}

/** One raw client WebSocket: the handshake, then text frames both ways. */
class RawWsConn implements Conn, FrameSink {
  readonly kind = 'ws' as const;
  private state: State = State.HANDSHAKE;
  /** Answer bytes before the end of its header, while it arrives in pieces. */
  private head: Buffer | null = null;
  private opening: { resolve: (c: Conn) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | null;
  private readonly reader = new FrameReader(this);
  private textFn: ((t: string) => void) | null = null;
  /** Texts that arrived before `onText` was set (e.g. in the chunk with the 101). */
  private early: string[] | null = null;
  private closeFn: (() => void) | null = null;
  private isGone = false;
  private notified = false;

  constructor(
    private readonly sock: Socket,
    private readonly target: Target,
    resolve: (c: Conn) => void,
    reject: (e: Error) => void,
    timeoutMs: number,
  ) {
    this.opening = { resolve, reject, timer: setTimeout(onHandshakeTimeout, timeoutMs, this) };
    (sock as ConnSocket)[kConn] = this;
    sock.on('data', onSocketData);
    sock.on('error', onSocketError);
    sock.on('close', onSocketClose);
  }

  // ---- Conn

  get open(): boolean {
    return this.state === State.OPEN && !this.sock.destroyed;
  }

  send(text: string): void {
    if (this.state === State.OPEN && !this.sock.destroyed) this.sock.write(encodeClientFrame(Opcode.TEXT, text));
  }

  close(): void {
    if (this.state === State.CLOSED) return;
    if (this.state === State.OPEN) this.endWith(1000);
    this.state = State.CLOSED;
    this.gone();
  }

  onText(fn: (t: string) => void): void {
    this.textFn = fn;
    const early = this.early;
    this.early = null;
    if (early) for (const t of early) if (this.state === State.OPEN) fn(t);
  }

  onClose(fn: () => void): void {
    this.closeFn = fn;
    if (this.isGone && !this.notified) {
      this.notified = true;
      fn();
    }
  }

  // ---- socket events

  data(chunk: Buffer): void {
    if (this.state === State.OPEN) {
      const problem = this.reader.push(chunk);
      if (problem !== null) this.protocolError();
    } else if (this.state === State.HANDSHAKE) {
      this.handshake(chunk);
    }
    // CLOSING / CLOSED: whatever still comes (the server's close answer) is of no interest.
  }

  error(err: Error): void {
    if (this.state === State.HANDSHAKE) this.fail(new UnavailableError(`ws connect to ${this.target.url} failed: ${err.message}`, { cause: err }));
    // Otherwise 'close' follows.
  }

  socketClosed(): void {
    if (this.state === State.HANDSHAKE) {
      this.fail(new UnavailableError(`ws connect to ${this.target.url} failed: connection closed during the handshake`));
      return;
    }
    this.state = State.CLOSED;
    this.gone();
  }

  handshakeTimedOut(): void {
    if (this.state !== State.HANDSHAKE) return;
    this.fail(new TimeoutError(`ws connect to ${this.target.url} timed out`));
  }

  // ---- handshake

  private handshake(chunk: Buffer): void {
    let buf = chunk;
    let from = 0;
    if (this.head !== null) {
      from = Math.max(0, this.head.length - 3);
      buf = Buffer.concat([this.head, chunk]);
      this.head = null;
    }
    const end = buf.indexOf(CRLFCRLF, from);
    if (end < 0) {
      if (buf.length > MAX_HANDSHAKE_BYTES) this.fail(new UnavailableError(`ws upgrade to ${this.target.url} failed: answer header over ${MAX_HANDSHAKE_BYTES} bytes`));
      else this.head = buf;
      return;
    }
    const problem = checkUpgradeAnswer(buf.toString('latin1', 0, end));
    if (problem !== null) {
      this.fail(new UnavailableError(`ws upgrade to ${this.target.url} ${problem}`));
      return;
    }
    const o = this.opening!;
    this.opening = null;
    clearTimeout(o.timer);
    this.state = State.OPEN;
    o.resolve(this);
    // Frames in the same chunk as the answer (e.g. a ping right after the 101).
    if (end + 4 < buf.length) this.data(buf.subarray(end + 4));
  }

  /** The handshake failed: reject and drop the socket (never 'gone': it never opened). */
  private fail(err: Error): void {
    const o = this.opening;
    if (o === null) return;
    this.opening = null;
    clearTimeout(o.timer);
    this.state = State.CLOSED;
    this.isGone = this.notified = true;
    this.sock.destroy();
    o.reject(err);
  }

  // ---- frames

  frame(opcode: number, payload: Buffer): boolean {
    if (this.state !== State.OPEN) return false;
    switch (opcode) {
      case Opcode.TEXT: {
        const text = payload.toString('utf8');
        if (this.textFn !== null) this.textFn(text);
        else (this.early ??= []).push(text);
        return this.state === State.OPEN;
      }
      case Opcode.PING:
        this.sock.write(encodeClientFrame(Opcode.PONG, null, payload));
        return true;
      case Opcode.PONG:
        return true;
      case Opcode.CLOSE: {
        // Answer with the server's status code (RFC 6455 §5.5.1), then end; 'close' makes us gone.
        const code = payload.length >= 2 ? payload.readUInt16BE(0) : null;
        this.endWith(code === null || code === 1005 || code === 1006 || code === 1015 ? null : code);
        this.state = State.CLOSING;
        return false;
      }
      default:
        return this.protocolError();
    }
  }

  /** A frame no MobileIMSDK server sends: close with 1002 (protocol error). */
  private protocolError(): false {
    if (this.state === State.OPEN) {
      this.endWith(1002);
      this.state = State.CLOSING;
    }
    return false;
  }

  /** Send a close frame (with `code`, or empty), end the socket, destroy it if it lingers. */
  private endWith(code: number | null): void {
    const s = this.sock;
    if (!s.destroyed) {
      s.end(code === null ? encodeClientFrame(Opcode.CLOSE, null) : closeFrame(code));
      setTimeout(destroySocket, CLOSE_LINGER_MS, s).unref();
    }
  }

  private gone(): void {
    if (this.isGone) return;
    this.isGone = true;
    this.early = null;
    if (this.closeFn !== null) {
      this.notified = true;
      this.closeFn();
    }
  }
}

/**
 * Check the upgrade answer's header (status line and header lines, no final CRLF CRLF). Null when it
 * is a valid 101 for this process's key; else what is wrong, starting with a verb for the message.
 */
export function checkUpgradeAnswer(head: string): string | null {
  const eol = head.indexOf('\r\n');
  const status = eol < 0 ? head : head.slice(0, eol);
  if (!/^HTTP\/1\.[01] 101(?: |$)/.test(status)) return `refused: ${status}`;
  let accept: string | null = null;
  let upgrade = false;
  let connection = false;
  let i = eol < 0 ? head.length : eol + 2;
  while (i < head.length) {
    let j = head.indexOf('\r\n', i);
    if (j < 0) j = head.length;
    const colon = head.indexOf(':', i);
    if (colon > i && colon < j) {
      const name = head.slice(i, colon).trim().toLowerCase();
      const value = head.slice(colon + 1, j).trim();
      if (name === 'sec-websocket-accept') accept = value;
      else if (name === 'upgrade') upgrade = value.toLowerCase() === 'websocket';
      else if (name === 'connection') connection = value.split(',').some((v) => v.trim().toLowerCase() === 'upgrade');
      else if (name === 'sec-websocket-protocol' || name === 'sec-websocket-extensions') return `failed: ${name} in the answer, none was asked for (${status})`;
    }
    i = j + 2;
  }
  if (!upgrade) return `failed: no "Upgrade: websocket" in the answer (${status})`;
  if (!connection) return `failed: no "Connection: Upgrade" in the answer (${status})`;
  if (accept !== EXPECTED_ACCEPT) return `failed: bad handshake: Sec-WebSocket-Accept ${accept === null ? 'missing' : `"${accept}"`}, expected "${EXPECTED_ACCEPT}" (${status})`;
  return null;
}
