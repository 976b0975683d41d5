import type { Socket } from 'node:net';
import { TcpFrameDecoder, encodeTcpFrame, isProtocolError, decodeUtf8 } from '@switchboard/protocol';
import { TransportHandlers, type Transport } from './transport.js';
import { WriteBatcher } from '@switchboard/core';
import { fitDatagram } from './udp-datagram.js';

/** MobileIMSDK TCP: 4-byte big-endian length + UTF-8 JSON body, body ≤ `maxBodyBytes`. */
export class TcpTransport extends TransportHandlers implements Transport {
  readonly kind = 'tcp' as const;
  readonly remote: string;
  private readonly decoder: TcpFrameDecoder;
  /** No frame body longer than this is written: a MobileIMSDK TCP client drops the connection on one. */
  private readonly maxBodyBytes: number;
  private readonly batcher: WriteBatcher;
  private dead = false;

  constructor(
    private readonly socket: Socket,
    maxBodyBytes: number,
  ) {
    super();
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    this.decoder = new TcpFrameDecoder(maxBodyBytes);
    this.maxBodyBytes = maxBodyBytes;
    this.batcher = new WriteBatcher(socket);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // A client socket's errors (reset, broken pipe, keepalive timeout) are routine and always end in
    // 'close', which tells the session layer; the listener only keeps Node from throwing them.
    socket.on('error', () => {});
    socket.on('close', () => {
      this.dead = true;
      this.runCloseHandlers();
    });
  }

  private onData(chunk: Buffer): void {
    if (this.dead) return;
    let bodies: Buffer[];
    try {
      bodies = this.decoder.push(chunk);
    } catch (err) {
      return this.violation(isProtocolError(err) ? err.message : 'bad frame');
    }
    for (const body of bodies) {
      if (this.dead) return;
      let text: string;
      try {
        text = decodeUtf8(body);
      } catch {
        // Reported to the session layer as a violation, which closes the connection.
        return this.violation('frame is not valid UTF-8');
      }
      this.packetFn(text);
    }
  }

  private violation(reason: string): void {
    if (this.dead) return;
    this.violationFn(reason);
    this.close(0, reason);
  }

  /**
   * Write one frame. Data packets that do not fit were refused before (error 1031); what the
   * gateway itself makes is made to fit the same way as a UDP datagram: an error's `errorMsg` (the
   * 301 echo of a large rejected packet) or a kickout's `reason` is cut, and anything else too long
   * is not written.
   */
  send(text: string): boolean {
    if (this.dead || this.socket.destroyed) return false;
    let body: string | null = text;
    if (text.length * 3 > this.maxBodyBytes && Buffer.byteLength(text) > this.maxBodyBytes) body = fitDatagram(text, this.maxBodyBytes);
    // Too long and nothing to cut: lost like a datagram; the connection itself is fine.
    if (body === null) return true;
    this.batcher.batch();
    this.socket.write(encodeTcpFrame(body));
    return true;
  }

  bufferedBytes(): number {
    return this.socket.writableLength;
  }

  close(_code: number, _reason: string): void {
    if (this.dead) return;
    this.dead = true;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 2_000).unref();
  }
}
