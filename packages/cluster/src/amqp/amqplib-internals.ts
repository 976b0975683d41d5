import type { Socket } from 'node:net';
import type { ChannelModel } from 'amqplib';
import type { CorkableSocket } from '@switchboard/core';

/**
 * The only place the RabbitMQ clients reach past amqplib's public API. Everything here depends on
 * the internals of amqplib 2.x as pinned (2.3.1, see packages/cluster/package.json) and is checked
 * against a real broker by test/integration/amqplib-internals.test.ts: upgrading amqplib means
 * running that test first.
 *
 * What is used, and why there is no public way:
 * - `ChannelModel#connection.stream`: the broker socket (the net.Socket or TLSSocket amqplib
 *   connected; its Connection keeps it as `stream`, wrapping only streams that are not a Duplex).
 *   amqplib has no public abort (`close()` waits for the broker's close-ok) and no control over how
 *   its frames are written.
 * - amqplib's Mux writes the frames its channels queued from a `setImmediate` of its own (one write
 *   per frame, or one per small message): BrokerWrites relies on that to keep the socket corked
 *   until that writer ran.
 *
 * Every function degrades to "not available" (undefined / false / null) rather than throwing when
 * amqplib no longer has what it looks for; the test is what notices.
 */

/** The broker socket under `conn` (`connection.stream`), or undefined when amqplib does not keep it there. */
export function brokerSocket(conn: ChannelModel): Partial<Socket> | undefined {
  const internal = conn as unknown as { connection?: { stream?: Partial<Socket> | null } };
  return internal.connection?.stream ?? undefined;
}

/**
 * Last resort when the broker does not answer connection.close (hung broker): drop the socket so
 * nothing outlives `close()`. True when there was a socket to destroy.
 *
 * amqplib is not told: it watches the socket's `end` and `error`, which a plain `destroy()` does not
 * emit. A pending `close()` never settles, and the ChannelModel reports `error`/`close` only when its
 * heartbeat times out (two to three heartbeat intervals later; its heartbeat timers are not unref'd,
 * so they hold the process until then). Callers must not wait for either.
 */
export function destroyBrokerSocket(conn: ChannelModel): boolean {
  const stream = brokerSocket(conn);
  if (typeof stream?.destroy !== 'function') return false;
  stream.destroy();
  return true;
}

/**
 * Coalesces the frames a turn's publishes and acks produce into one write on the broker socket,
 * or null where that is not a corkable socket. amqplib writes every frame on its own (a publish is
 * three: method, header, body), from a `setImmediate` of its own (its Mux): so the socket is corked
 * at the first publish or ack of a turn and uncorked one loop iteration later, after that writer ran.
 */
export class BrokerWrites {
  private corked = false;

  private constructor(private readonly socket: CorkableSocket) {}

  static of(conn: ChannelModel): BrokerWrites | null {
    const stream = brokerSocket(conn);
    if (!stream || typeof stream.cork !== 'function' || typeof stream.uncork !== 'function') return null;
    return new BrokerWrites(stream as CorkableSocket);
  }

  /** Call before a publish or an ack. */
  batch(): void {
    if (this.corked || this.socket.destroyed) return;
    this.corked = true;
    this.socket.cork();
    setImmediate(() =>
      setImmediate(() => {
        this.corked = false;
        this.socket.uncork();
      }),
    );
  }
}
