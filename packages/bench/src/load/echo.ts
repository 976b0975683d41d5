import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { dataPacket, decodePacket, encodePacket, type Packet } from '@switchboard/protocol';
import { openConn } from '../conn/connection.js';
import type { Conn, Endpoint } from '../conn/types.js';
import { ManagedProcess } from '../shared/proc.js';
import { MessageTracker, MsgFlag, makeContent } from './tracker.js';
import type { PhaseStats, Window } from './stats.js';
import type { LoadUser } from './load.js';

/**
 * Source of the echo server child: a raw `ws` WebSocketServer that sends every message back as it
 * came, and a TCP server that pipes every byte back (length-prefixed frames come back intact).
 * A socket error (a client reset at the end of a run) is ignored: the close that follows ends that
 * connection, and the server goes on serving the others.
 * No protocol work at all: the baseline of what the machine's loopback and Node's sockets give.
 */
function echoServerSource(wsModuleUrl: string): string {
  return `
import { createServer } from 'node:net';
const mod = await import(${JSON.stringify(wsModuleUrl)});
const { WebSocketServer } = mod.default ?? mod;
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, clientTracking: false, maxPayload: 1 << 20 });
wss.on('connection', (ws) => {
  ws.on('error', () => {});
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
await new Promise((r) => wss.once('listening', r));
const tcp = createServer({ noDelay: true }, (s) => { s.on('error', () => {}); s.pipe(s); });
await new Promise((r) => tcp.listen(0, '127.0.0.1', r));
process.on('SIGTERM', () => process.exit(0));
process.stdout.write(JSON.stringify({ event: 'ready', role: 'echo', ports: { ws: wss.address().port, tcp: tcp.address().port } }) + '\\n');
`;
}

/** Start the echo server in a child process (so it never shares the load generator's event loop). */
export async function startEchoServer(): Promise<{ proc: ManagedProcess; wsUrl: string; tcp: { host: string; port: number } }> {
  const wsUrl = pathToFileURL(createRequire(import.meta.url).resolve('ws')).href;
  const proc = await ManagedProcess.start('echo', process.execPath, ['--input-type=module', '-e', echoServerSource(wsUrl)], process.env);
  const ports = proc.ready!.ports;
  return { proc, wsUrl: `ws://127.0.0.1:${ports['ws']}/websocket`, tcp: { host: '127.0.0.1', port: ports['tcp']! } };
}

/** What echo users share. */
export interface EchoContext {
  readonly tracker: MessageTracker;
  readonly stats: PhaseStats;
  readonly window: Window;
  readonly sizeBytes: number;
  onSlotFree(u: EchoUser): void;
}

/**
 * One user of the echo baseline: sends the same packets a Switchboard user sends (same size, same
 * encoder) to the echo server and decodes what comes back; one echoed packet = one round trip,
 * counted like an ack.
 */
export class EchoUser implements LoadUser {
  private conn: Conn | null = null;
  private pending = 0;

  constructor(
    readonly index: number,
    private readonly uid: string,
    private readonly endpoint: Endpoint,
    private readonly ctx: EchoContext,
  ) {}

  get online(): boolean {
    return this.conn !== null && this.conn.open;
  }

  get inflight(): number {
    return this.pending;
  }

  async connect(timeoutMs: number): Promise<void> {
    const c = await openConn(this.endpoint, timeoutMs);
    this.conn = c;
    c.onText((t) => this.onText(t));
    c.onClose(() => {
      if (this.conn !== c) return; // closed by us
      this.conn = null;
      this.ctx.stats.disconnects++;
    });
  }

  sendNew(receiver: number, sentAt: number, measured: boolean): void {
    const { tracker, stats, sizeBytes } = this.ctx;
    const seq = tracker.add(this.index, receiver, sentAt, measured ? MsgFlag.MEASURED : 0);
    const wire = encodePacket(
      dataPacket({ from: this.uid, to: 'peer', dataContent: makeContent(sentAt, seq, sizeBytes), fp: tracker.fp(seq), QoS: true }),
    );
    this.pending++;
    stats.onSent(performance.now(), measured);
    this.conn?.send(wire);
  }

  private onText(text: string): void {
    const { tracker, stats } = this.ctx;
    let p: Packet;
    try {
      p = decodePacket(text);
    } catch {
      stats.badPackets++;
      return;
    }
    const seq = tracker.seqOf(p.fp);
    if (seq < 0) {
      stats.unknownAcks++;
      return;
    }
    if (tracker.has(seq, MsgFlag.ACKED)) {
      stats.duplicateAcks++;
      return;
    }
    tracker.set(seq, MsgFlag.ACKED | MsgFlag.DELIVERED);
    this.pending--;
    const now = performance.now();
    const measured = tracker.has(seq, MsgFlag.MEASURED);
    stats.onAcked(now, now - tracker.sentAt[seq]!, measured);
    stats.onDelivered(now, now - tracker.sentAt[seq]!, measured);
    this.ctx.onSlotFree(this);
  }

  close(): void {
    const c = this.conn;
    this.conn = null;
    c?.close();
  }
}
