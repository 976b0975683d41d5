import { ProcessGroup, TestClient, resolveAmqpUrl, resolveRedisUrl, uniquePrefix, cleanupRedisPrefix, type ReadyNodeProcess } from '@switchboard/testkit';

/** A gateway process of a test cluster. */
export interface GatewayProc {
  proc: ReadyNodeProcess;
  nodeId: string;
  ports: { ws: number; tcp: number; admin: number };
}

export interface DispatchAnswer {
  node: string;
  ws: string;
  tcp: { host: string; port: number };
}

/**
 * Dispatch + N gateways as real processes on real Redis and RabbitMQ, isolated by a unique
 * IM_KEY_PREFIX. Everything spawned is killed by `stop()`.
 */
export class TestCluster {
  readonly group = new ProcessGroup();
  readonly gateways: GatewayProc[] = [];
  dispatch!: ReadyNodeProcess;
  dispatchUrl = '';

  private constructor(
    readonly prefix: string,
    readonly redisUrl: string,
    readonly amqpUrl: string,
    readonly env: Record<string, string>,
  ) {}

  static async start(name: string, opts: { gateways: number; env?: Record<string, string> }): Promise<TestCluster> {
    const [redisUrl, amqpUrl] = await Promise.all([resolveRedisUrl(), resolveAmqpUrl()]);
    const prefix = uniquePrefix(name);
    const c = new TestCluster(prefix, redisUrl, amqpUrl, {
      IM_REDIS_URL: redisUrl,
      IM_AMQP_URL: amqpUrl,
      IM_KEY_PREFIX: prefix,
      IM_AUTH: 'none',
      IM_LOG_LEVEL: 'warn',
      IM_SENSE_MODE: '5S',
      ...opts.env,
    });
    const [dispatch] = await Promise.all([
      c.group.spawn({ args: ['dispatch'], env: { ...c.env, IM_DISPATCH_PORT: '0' }, name: 'dispatch' }),
      ...Array.from({ length: opts.gateways }, () => c.addGateway()),
    ]);
    c.dispatch = dispatch;
    c.dispatchUrl = `http://127.0.0.1:${(dispatch.ready as unknown as { ports: { dispatch: number } }).ports.dispatch}`;
    // Dispatch sees a gateway once its first report landed.
    await c.waitForNodes(opts.gateways);
    return c;
  }

  async addGateway(env: Record<string, string> = {}): Promise<GatewayProc> {
    const proc = await this.group.spawn({
      args: ['gateway'],
      env: { ...this.env, IM_WS_PORT: '0', IM_TCP_PORT: '0', IM_UDP_PORT: '0', IM_ADMIN_PORT: '0', ...env },
      name: `gateway-${this.gateways.length + 1}`,
    });
    const raw = proc.ready as unknown as { nodeId: string; ports: { ws: number; tcp: number; admin: number } };
    const gw = { proc, nodeId: raw.nodeId, ports: raw.ports };
    this.gateways.push(gw);
    return gw;
  }

  async nodes(): Promise<Array<{ id: string; state: string; connections: number; ports: { ws: number; tcp: number } }>> {
    const res = await fetch(`${this.dispatchUrl}/admin/nodes`);
    if (!res.ok) throw new Error(`/admin/nodes answered ${res.status}`);
    return ((await res.json()) as { nodes: Array<{ id: string; state: string; connections: number; ports: { ws: number; tcp: number } }> }).nodes;
  }

  async waitForNodes(n: number, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const nodes = await this.nodes().catch(() => []);
      if (nodes.length === n) return;
      if (Date.now() > deadline) throw new Error(`expected ${n} live gateways, dispatch lists ${nodes.length}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async dispatchFor(uid: string): Promise<DispatchAnswer> {
    const res = await fetch(`${this.dispatchUrl}/api/dispatch?uid=${encodeURIComponent(uid)}`);
    if (!res.ok) throw new Error(`dispatch answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as DispatchAnswer;
  }

  /** A logged-in client on a given gateway (bypassing dispatch). */
  async clientOn(gw: GatewayProc, uid: string, transport: 'ws' | 'tcp' = 'ws', opts: { autoAck?: boolean; firstLoginTime?: number } = {}): Promise<TestClient> {
    const c =
      transport === 'ws'
        ? new TestClient({ transport, url: `ws://127.0.0.1:${gw.ports.ws}/websocket`, ...(opts.autoAck === undefined ? {} : { autoAck: opts.autoAck }) })
        : new TestClient({ transport, host: '127.0.0.1', port: gw.ports.tcp, ...(opts.autoAck === undefined ? {} : { autoAck: opts.autoAck }) });
    await c.connect();
    const r = await c.login(uid, { firstLoginTime: opts.firstLoginTime ?? 0 });
    if (r.code !== 0) throw new Error(`login of ${uid} failed with ${r.code}`);
    return c;
  }

  async stop(): Promise<void> {
    await this.group.killAll();
    await cleanupRedisPrefix(this.redisUrl, this.prefix).catch(() => {});
  }
}
