/** What `WriteBatcher` needs of a socket (a `net.Socket` has it). */
export interface CorkableSocket {
  readonly destroyed: boolean;
  cork(): void;
  uncork(): void;
}

/**
 * Coalesces every write a connection makes within one event-loop turn into a single writev:
 * the socket is corked at the first write of a turn and uncorked once the current event-loop phase
 * is done (setImmediate). A chat message costs the receiver's delivery and the sender's ack, often
 * to the same connections in the same turn, and without this each packet is its own system call
 * (the top cost in the gateway's profiles; on the broker link, amqplib writes every frame apart).
 */
export class WriteBatcher {
  private corked = false;

  constructor(private readonly socket: CorkableSocket) {}

  /** Call before writing; the writes of this turn go out together. */
  batch(): void {
    if (this.corked || this.socket.destroyed) return;
    this.corked = true;
    this.socket.cork();
    setImmediate(() => {
      this.corked = false;
      this.socket.uncork();
    });
  }
}
