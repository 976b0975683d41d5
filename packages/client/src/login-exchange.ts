import type { Packet } from '@switchboard/protocol';
import { ClientError, ClientErrorCode } from './errors.js';
import type { Connection } from './transport.js';

/** The login in flight: the client's packet handler resolves it with the response (of attempt `gen`), its close handler rejects it. */
export interface LoginWaiter {
  gen: number;
  resolve: (p: Packet) => void;
  reject: (e: ClientError) => void;
}

/**
 * Write the login packet `text` on `conn` and wait at most `timeoutMs` for the response. `install`
 * gets the waiter the client's handlers settle, and null when the timeout or a failed write settled it.
 */
export function loginExchange(gen: number, conn: Connection, text: string, timeoutMs: number, install: (w: LoginWaiter | null) => void): Promise<Packet> {
  return new Promise<Packet>((resolve, reject) => {
    const timer = setTimeout(() => {
      install(null);
      reject(new ClientError(ClientErrorCode.TIMEOUT, `no login response within ${timeoutMs} ms`, { retryable: true }));
    }, timeoutMs);
    install({
      gen,
      resolve: (p) => {
        clearTimeout(timer);
        resolve(p);
      },
      reject: (e) => {
        clearTimeout(timer);
        reject(e);
      },
    });
    if (!conn.send(text)) {
      install(null);
      clearTimeout(timer);
      reject(new ClientError(ClientErrorCode.LINK_LOST, 'connection closed before the login was written', { retryable: true }));
    }
  });
}
