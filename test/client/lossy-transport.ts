import { decodePacket, PacketType, type Packet } from '@switchboard/protocol';
import { ClientError, ClientErrorCode, type CloseInfo, type Connection, type ConnectionHandlers, type FetchLike, type ServerTarget, type Transport } from '@switchboard/client';

/**
 * A transport around a real one that can lose things on purpose: incoming data packets that `drop`
 * selects never reach the SDK (so it neither acks nor shows them, as if the network ate them), `cut()`
 * ends the current connection as a network failure would, and `blocked` refuses new connections.
 */
export class LossyTransport implements Transport {
  readonly kind: 'ws' | 'tcp';
  drop: (p: Packet) => boolean = () => false;
  blocked = false;
  readonly dropped: Packet[] = [];
  /** The seq (null: none) of every data packet that arrived, dropped or not, in arrival order. */
  readonly arrivals: Array<number | null> = [];
  private current: { conn: Connection; handlers: ConnectionHandlers } | null = null;

  constructor(private readonly inner: Transport) {
    this.kind = inner.kind;
  }

  async connect(target: ServerTarget, handlers: ConnectionHandlers, timeoutMs: number): Promise<Connection> {
    if (this.blocked) throw new ClientError(ClientErrorCode.CONNECT_FAILED, 'blocked by the test', { retryable: true });
    const conn = await this.inner.connect(
      target,
      {
        onText: (text) => {
          const p = decodePacket(text);
          if (p.type === PacketType.DATA) this.arrivals.push(p.seq ?? null);
          if (p.type === PacketType.DATA && this.drop(p)) {
            this.dropped.push(p);
            return;
          }
          handlers.onText(text);
        },
        onClose: (info: CloseInfo) => handlers.onClose(info),
      },
      timeoutMs,
    );
    this.current = { conn, handlers };
    return conn;
  }

  /** Close the current connection and tell the SDK it was lost. */
  cut(): void {
    const c = this.current;
    this.current = null;
    if (!c) return;
    c.conn.close();
    c.handlers.onClose({ code: null, reason: 'cut by the test' });
  }
}

/** A fetch that records each request's method and URL path with its query (the SDK's `fetch` option). */
export function recordingFetch(): { fetch: FetchLike; requests: string[] } {
  const requests: string[] = [];
  const fetch: FetchLike = (url, init) => {
    const u = new URL(url);
    requests.push(`${init?.method ?? 'GET'} ${u.pathname}${u.search}`);
    return globalThis.fetch(url, init) as ReturnType<FetchLike>;
  };
  return { fetch, requests };
}
