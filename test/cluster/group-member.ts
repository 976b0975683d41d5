import { PacketType, type Packet } from '@switchboard/protocol';
import { TestClient } from '@switchboard/testkit';
import type { GatewayProc, TestCluster } from './harness.js';

/** One group message as a member's application saw it (the first copy; later copies are dropped by fp). */
export interface SeenGroupMessage {
  from: string;
  to: string;
  content: string | null;
  seq: number | undefined;
  sentAt: number | undefined;
  /** Index of the connection (0 = the first login) that brought it. */
  conn: number;
  at: number;
}

/**
 * A group member that behaves like a MobileIMSDK app (groups.test.ts): it starts on a chosen gateway
 * (so members are spread evenly), and when its connection drops it reconnects through dispatch (never
 * to a fixed node), logs in again with its saved firstLoginTime and resends every unacked message with
 * the same fp. The application dedupes by fp across connections (MobileIMSDK clients keep a window of
 * fingerprints), so `seen` holds each message once; copies it dropped are counted in `wireDuplicates`.
 */
export class GroupMember {
  client: TestClient | null = null;
  nodeId = '';
  firstLoginTime = 0;
  /** Connections made so far (the first login included). */
  logins = 0;
  /** fp → message sent and not acked yet. */
  readonly pending = new Map<string, { to: string; content: string }>();
  /** fp → the seq its ack carried (undefined when the ack had none); first ack only. */
  readonly acked = new Map<string, number | undefined>();
  /** fp → the connection (0 = the first login) that brought its first ack. */
  readonly ackedOn = new Map<string, number>();
  /** fp → how many times it was written (1 + resends after reconnects and on the QoS tick). */
  readonly writes = new Map<string, number>();
  /** Acks received in total, repeats included (a resend after a lost ack is acked again). */
  acksReceived = 0;
  /** fp → the first copy the application saw. */
  readonly seen = new Map<string, SeenGroupMessage>();
  /** Messages resent with their fp right after a reconnect (they were unacked when the connection dropped). */
  resentAfterReconnect = 0;
  /** Data packets dropped because their fp had been seen (on this or an earlier connection). */
  wireDuplicates = 0;
  /** Every error packet (type 52) received, as `{code, msg}`. */
  readonly errors: Array<{ code: number; msg: string }> = [];
  private scanned = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private connecting: Promise<void> | null = null;

  constructor(
    readonly uid: string,
    private readonly cluster: TestCluster,
    readonly transport: 'ws' | 'tcp',
  ) {}

  /** Log in on `gw` (directly), or through dispatch when no gateway is given; then watch the connection. */
  async start(gw?: GatewayProc): Promise<void> {
    if (gw) await this.open({ node: gw.nodeId, ws: `ws://127.0.0.1:${gw.ports.ws}/websocket`, tcp: { host: '127.0.0.1', port: gw.ports.tcp } });
    else await this.connect();
    this.timer ??= setInterval(() => this.tick(), 20);
    this.timer.unref();
  }

  get online(): boolean {
    return this.client !== null && this.client.closeInfo === null;
  }

  private async open(d: { node: string; ws: string; tcp: { host: string; port: number } }): Promise<void> {
    const c =
      this.transport === 'ws'
        ? new TestClient({ transport: 'ws', url: d.ws, timeoutMs: 5_000, name: this.uid })
        : new TestClient({ transport: 'tcp', host: d.tcp.host, port: d.tcp.port, timeoutMs: 5_000, name: this.uid });
    try {
      await c.connect();
      const r = await c.login(this.uid, { firstLoginTime: this.firstLoginTime });
      if (r.code !== 0) throw new Error(`login of ${this.uid} answered code ${r.code}`);
    } catch (err) {
      await c.close().catch(() => {});
      throw err;
    }
    if (this.firstLoginTime === 0) this.firstLoginTime = c.firstLoginTime;
    this.client = c;
    this.scanned = 0;
    this.logins++;
    this.nodeId = d.node;
    if (this.logins > 1) this.resentAfterReconnect += this.pending.size;
    for (const [fp, m] of this.pending) await this.write(c, fp, m);
  }

  private connect(): Promise<void> {
    this.connecting ??= this.reconnectThroughDispatch().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private async reconnectThroughDispatch(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await this.open(await this.cluster.dispatchFor(this.uid));
        return;
      } catch {
        await new Promise((r) => setTimeout(r, Math.min(1_000, 100 * 2 ** attempt)));
      }
    }
  }

  /** Take in what the current connection received; reconnect through dispatch when it closed. */
  tick(): void {
    const c = this.client;
    if (!c) return;
    for (; this.scanned < c.packets.length; this.scanned++) this.take(c.packets[this.scanned]!);
    if (c.closeInfo !== null && !this.stopped && this.connecting === null) {
      if (c.kickouts.length > 0) return; // a kicked client does not come back by itself
      this.client = null;
      void this.connect();
    }
  }

  private take(p: Packet): void {
    if (p.type === PacketType.ACK && p.dataContent !== null) {
      this.acksReceived++;
      this.pending.delete(p.dataContent);
      if (!this.acked.has(p.dataContent)) {
        this.acked.set(p.dataContent, p.seq);
        this.ackedOn.set(p.dataContent, this.logins - 1);
      }
    } else if (p.type === PacketType.DATA && p.fp !== null) {
      if (this.seen.has(p.fp)) this.wireDuplicates++;
      else this.seen.set(p.fp, { from: p.from, to: p.to, content: p.dataContent, seq: p.seq, sentAt: p.sentAt, conn: this.logins - 1, at: Date.now() });
    } else if (p.type === PacketType.ERROR) {
      let e: { errorCode?: number; errorMsg?: string } = {};
      try {
        e = JSON.parse(p.dataContent ?? '{}') as typeof e;
      } catch {
        // kept as code -1 with the raw text
      }
      this.errors.push({ code: e.errorCode ?? -1, msg: e.errorMsg ?? p.dataContent ?? '' });
    }
  }

  /** Send a QoS message with a fresh fp; it stays pending until acked, across reconnects. */
  async send(to: string, content: string): Promise<string> {
    const fp = crypto.randomUUID();
    this.pending.set(fp, { to, content });
    if (this.client) await this.write(this.client, fp, { to, content });
    return fp;
  }

  private async write(c: TestClient, fp: string, m: { to: string; content: string }): Promise<void> {
    this.writes.set(fp, (this.writes.get(fp) ?? 0) + 1);
    await c.send(m.to, m.content, { qos: true, fp }).catch(() => {});
  }

  /** Resend what is still pending with the same fps (MobileIMSDK clients do it on their QoS tick). */
  async resendPending(): Promise<void> {
    const c = this.client;
    if (!c || c.closeInfo) return;
    for (const [fp, m] of this.pending) await this.write(c, fp, m);
  }

  /** Close the connection (as an app going to the background would) and log in again through dispatch. */
  async relogin(): Promise<void> {
    const c = this.client;
    if (c) {
      await c.close().catch(() => {});
      this.tick();
    }
    await (this.connecting ?? this.connect());
  }

  /** Go offline for good (until `start` again): no reconnect. */
  async goOffline(): Promise<void> {
    this.stopped = true;
    this.tick();
    await this.client?.close().catch(() => {});
    this.tick();
    this.client = null;
    this.stopped = false;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.client) for (; this.scanned < this.client.packets.length; this.scanned++) this.take(this.client.packets[this.scanned]!);
    await this.client?.close().catch(() => {});
  }
}
