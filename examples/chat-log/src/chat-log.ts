import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Packet } from '@switchboard/protocol';

/** One line of the chat log. */
export interface ChatLogRecord {
  /** When the gateway saw the outcome, ms since epoch. */
  at: number;
  /** `delivered`: the receiver acked it; `offline`: stored in the receiver's offline queue. */
  status: 'delivered' | 'offline';
  from: string;
  to: string;
  /** The message's fingerprint: unique per sender, so (from, fp) identifies a message. */
  fp: string | null;
  /** The application's message type (`typeu`). */
  typeu: number;
  text: string | null;
}

/**
 * Appends chat messages to a JSON-lines file, one object per line, in the order the gateway saw
 * them. Writes are buffered by the stream; `close()` flushes them.
 */
export class ChatLog {
  private readonly out: WriteStream;
  private closed: Promise<void> | null = null;

  constructor(readonly path: string) {
    this.out = createWriteStream(path, { flags: 'a', encoding: 'utf8' });
  }

  append(status: ChatLogRecord['status'], p: Packet): void {
    if (this.closed !== null) return;
    const record: ChatLogRecord = { at: Date.now(), status, from: p.from, to: p.to, fp: p.fp, typeu: p.typeu, text: p.dataContent };
    this.out.write(JSON.stringify(record) + '\n');
  }

  /** Flush and close the file. Idempotent. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.out.end();
      await once(this.out, 'finish');
    })();
    return this.closed;
  }
}
