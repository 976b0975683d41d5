/**
 * Keeps the server's read marker of each conversation at the newest message an app showed: one
 * request at a time per conversation, later seqs coalesced into the next one. A failure is reported
 * once until a request succeeds again (with history off every request would fail the same way).
 * Used by the `MessageStore` (`syncReads`) and the terminal chat.
 */
export class ReadMarker {
  private readonly busy = new Map<string, number | null>();
  private failing = false;

  /**
   * @param mark moves the marker of conversation `key` to `seq` (`client.markRead`)
   * @param failed told of the first failure after a success (or the start)
   */
  constructor(
    private readonly mark: (key: string, seq: number) => Promise<unknown>,
    private readonly failed: (key: string, err: unknown) => void = () => {},
  ) {}

  /** The app showed conversation `key` up to `seq`. */
  seen(key: string, seq: number): void {
    if (this.busy.has(key)) {
      const waiting = this.busy.get(key);
      this.busy.set(key, Math.max(waiting ?? 0, seq));
      return;
    }
    this.busy.set(key, null);
    void this.send(key, seq);
  }

  private async send(key: string, seq: number): Promise<void> {
    try {
      await this.mark(key, seq);
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.failed(key, err);
      this.failing = true;
    }
    const next = this.busy.get(key);
    this.busy.delete(key);
    if (next !== null && next !== undefined && next > seq) this.seen(key, next);
  }
}
