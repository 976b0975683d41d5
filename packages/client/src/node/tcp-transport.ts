import * as net from 'node:net';
import { decodeUtf8, encodeTcpFrame, TcpFrameDecoder } from '@switchboard/protocol';
import { ClientError, ClientErrorCode } from '../errors.js';
import type { Connection, Transport } from '../transport.js';

/**
 * MobileIMSDK's TCP transport: each packet is a 4-byte big-endian length and the UTF-8 JSON body
 * (at most `maxBodyBytes`, 6144 by default, for inbound frames as the Java client does).
 */
export function tcpTransport(opts: { maxBodyBytes?: number } = {}): Transport {
  return {
    kind: 'tcp',
    connect(target, handlers, timeoutMs) {
      const addr = target.tcp;
      if (!addr) return Promise.reject(new ClientError(ClientErrorCode.CONNECT_FAILED, 'the server offers no TCP address', { retryable: true }));
      return new Promise<Connection>((resolve, reject) => {
        const socket = net.connect({ host: addr.host, port: addr.port });
        socket.setNoDelay(true);
        socket.setKeepAlive(true);
        const decoder = new TcpFrameDecoder(opts.maxBodyBytes);
        let state: 'opening' | 'open' | 'done' = 'opening';
        const timer = setTimeout(() => {
          if (state !== 'opening') return;
          state = 'done';
          socket.destroy();
          reject(new ClientError(ClientErrorCode.TIMEOUT, `${addr.host}:${addr.port} did not accept within ${timeoutMs} ms`, { retryable: true }));
        }, timeoutMs);
        const end = (reason: string): void => {
          clearTimeout(timer);
          if (state === 'opening') {
            state = 'done';
            reject(new ClientError(ClientErrorCode.CONNECT_FAILED, `cannot connect to ${addr.host}:${addr.port}: ${reason}`, { retryable: true }));
            return;
          }
          if (state !== 'open') return;
          state = 'done';
          socket.destroy();
          handlers.onClose({ code: null, reason });
        };
        socket.on('error', (err) => end(err.message));
        socket.on('close', () => end('closed'));
        socket.on('data', (chunk: Buffer) => {
          if (state !== 'open') return;
          let bodies: Buffer[];
          try {
            bodies = decoder.push(chunk);
          } catch (err) {
            end(err instanceof Error ? err.message : 'bad frame');
            return;
          }
          for (const b of bodies) {
            if (state !== 'open') return;
            let text: string;
            try {
              text = decodeUtf8(b);
            } catch {
              continue; // not UTF-8: not a packet; the client reports undecodable packets only for JSON
            }
            handlers.onText(text);
          }
        });
        socket.once('connect', () => {
          if (state !== 'opening') return;
          clearTimeout(timer);
          state = 'open';
          resolve({
            send(text) {
              if (state !== 'open' || socket.destroyed) return false;
              socket.write(encodeTcpFrame(text));
              return true;
            },
            close() {
              if (state === 'done') return;
              state = 'done';
              socket.end();
              setTimeout(() => socket.destroy(), 1_000).unref();
            },
          });
        });
      });
    },
  };
}
