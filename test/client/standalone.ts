import { ProcessGroup, type ReadyNodeProcess } from '@switchboard/testkit';

/** Ports a standalone process printed in its ready line. */
export interface StandalonePorts {
  ws: number;
  tcp: number;
  admin: number;
  dispatch: number;
}

/**
 * `switchboard standalone` as a real process (dispatch + one gateway, in memory), on free ports.
 * `restart()` kills it the hard way and starts a new one on the same ports, as an operator
 * restarting the box would.
 */
export class Standalone {
  readonly group = new ProcessGroup();
  proc!: ReadyNodeProcess;
  ports!: StandalonePorts;

  private constructor(private readonly env: Record<string, string>) {}

  static async start(env: Record<string, string> = {}): Promise<Standalone> {
    const s = new Standalone({ IM_AUTH: 'none', IM_LOG_LEVEL: 'warn', IM_SENSE_MODE: '3S', ...env });
    await s.spawn({ ws: 0, tcp: 0, admin: 0, dispatch: 0 });
    return s;
  }

  get dispatchUrl(): string {
    return `http://127.0.0.1:${this.ports.dispatch}`;
  }

  /** Create group `gid` (or replace its name and members) through dispatch's admin API (loopback needs no token). */
  async putGroup(gid: string, name: string, members: string[]): Promise<void> {
    const res = await fetch(`${this.dispatchUrl}/admin/groups/${encodeURIComponent(gid)}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name, members }),
    });
    if (res.status !== 200) throw new Error(`PUT /admin/groups/${gid} answered ${res.status}: ${await res.text()}`);
  }

  /** SIGKILL the process (clients see their sockets drop). */
  async kill(): Promise<void> {
    this.proc.kill('SIGKILL');
    await this.proc.waitForExit(10_000);
  }

  /** Start it again on the same ports. */
  async startAgain(): Promise<void> {
    await this.spawn(this.ports);
  }

  async stop(): Promise<void> {
    await this.group.killAll();
  }

  private async spawn(p: StandalonePorts): Promise<void> {
    this.proc = await this.group.spawn({
      args: ['standalone'],
      name: 'standalone',
      env: {
        ...this.env,
        IM_WS_PORT: String(p.ws),
        IM_TCP_PORT: String(p.tcp),
        IM_ADMIN_PORT: String(p.admin),
        IM_DISPATCH_PORT: String(p.dispatch),
        IM_UDP_PORT: '0',
      },
    });
    const ready = this.proc.ready as unknown as { ports: StandalonePorts };
    this.ports = { ws: ready.ports.ws, tcp: ready.ports.tcp, admin: ready.ports.admin, dispatch: ready.ports.dispatch };
  }
}
