import { TestClient } from '@switchboard/testkit';
import type { TestCluster } from './harness.js';

/**
 * A user that behaves like a MobileIMSDK app through node failures: it gets its gateway from
 * dispatch, reconnects through dispatch when its connection drops (never to a fixed node),
 * re-logs in with its saved firstLoginTime, and resends every unacked message with the same fp.
 * Application-level receipt is deduplicated by fp across reconnects, as real clients do.
 */
export class ChatUser {
  client: TestClient | null = null;
  nodeId = '';
  firstLoginTime = 0;
  /** fp → message not yet acked. */
  readonly pending = new Map<string, { to: string; content: string }>();
  /** fps acked to us. */
  readonly acked = new Set<string>();
  /**
   * fp → how many times the application saw it. Like MobileIMSDK clients (10-minute window), the
   * user drops a fingerprint it already has, also across reconnects, so this must end at exactly 1;
   * copies it dropped are counted in `wireDuplicates` (at-least-once delivery makes some legitimate:
   * a connection closed between delivery and ack gets the message again from the offline queue).
   */
  readonly received = new Map<string, number>();
  wireDuplicates = 0;
  reconnects = 0;
  private ackIdx = 0;
  private msgIdx = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private connecting: Promise<void> | null = null;

  constructor(
    readonly uid: string,
    private readonly cluster: TestCluster,
    private readonly transport: 'ws' | 'tcp',
  ) {}

  async start(): Promise<void> {
    await this.connect();
    this.timer = setInterval(() => this.tick(), 20);
    this.timer.unref();
  }

  private connect(): Promise<void> {
    this.connecting ??= this.doConnect().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private async doConnect(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        const d = await this.cluster.dispatchFor(this.uid);
        const c =
          this.transport === 'ws'
            ? new TestClient({ transport: 'ws', url: d.ws, timeoutMs: 3_000 })
            : new TestClient({ transport: 'tcp', host: d.tcp.host, port: d.tcp.port, timeoutMs: 3_000 });
        await c.connect();
        const r = await c.login(this.uid, { firstLoginTime: this.firstLoginTime });
        if (r.code !== 0) throw new Error(`login code ${r.code}`);
        if (this.firstLoginTime === 0) this.firstLoginTime = r.firstLoginTime;
        this.client = c;
        this.ackIdx = 0;
        this.msgIdx = 0;
        this.nodeId = d.node;
        for (const [fp, m] of this.pending) await c.send(m.to, m.content, { qos: true, fp }).catch(() => {});
        return;
      } catch {
        await new Promise((r) => setTimeout(r, Math.min(1_000, 100 * 2 ** attempt)));
      }
    }
  }

  private tick(): void {
    const c = this.client;
    if (!c) return;
    for (; this.ackIdx < c.acks.length; this.ackIdx++) {
      const fp = c.acks[this.ackIdx]!;
      this.pending.delete(fp);
      this.acked.add(fp);
    }
    for (; this.msgIdx < c.messages.length; this.msgIdx++) {
      const fp = c.messages[this.msgIdx]!.fp;
      if (!fp) continue;
      if (this.received.has(fp)) this.wireDuplicates++;
      else this.received.set(fp, 1);
    }
    if (c.closeInfo !== null && !this.stopped && this.connecting === null) {
      if (c.kickouts.length > 0) return; // kicked clients do not reconnect
      this.client = null;
      this.reconnects++;
      void this.connect();
    }
  }

  /** Send a QoS message; it stays pending until acked, across reconnects. */
  async send(to: string, content: string): Promise<string> {
    const fp = crypto.randomUUID();
    this.pending.set(fp, { to, content });
    await this.client?.send(to, content, { qos: true, fp }).catch(() => {});
    return fp;
  }

  /** Resend what is still pending (MobileIMSDK clients do it on a 5 s tick). */
  async resendPending(): Promise<void> {
    const c = this.client;
    if (!c || c.closeInfo) return;
    for (const [fp, m] of this.pending) await c.send(m.to, m.content, { qos: true, fp }).catch(() => {});
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.tick();
    await this.client?.close().catch(() => {});
  }
}
