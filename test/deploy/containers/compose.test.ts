import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { waitFor } from '@switchboard/core';
import { freePorts } from '@switchboard/testkit';
import { ChatUser } from '../../cluster/chat-user.js';
import type { TestCluster } from '../../cluster/harness.js';
import { settle, traffic } from '../../cluster/traffic.js';
import { containersWith, dockerApi, inspect, run, runOk, type ContainerSummary } from './podman.js';

// "Containers for real": the project's image built by podman from deploy/Dockerfile (on the stand-in Node image of
// deploy/local-images.sh), and the real docker-compose.yml run by docker-compose (v1) against podman's Docker API:
// `up -d --scale gateway=3`, health, QoS across gateways through dispatch, a gateway container SIGKILLed under
// traffic, one drained through dispatch, `down -v`. Redis, RabbitMQ and dispatch are published on free ports (the
// host's own Redis and RabbitMQ hold 6379 and 5672), the project name is unique, and global-setup.ts removes what
// is left if a step fails.

const setup = inject('podman');
const COMPOSE_UP_TIMEOUT_MS = 6 * 60_000;
const BUILD_TIMEOUT_MS = 15 * 60_000;

interface NodeInfo {
  id: string;
  host: string;
  state: string;
  ports: { ws: number; tcp: number; admin: number };
}

describe.skipIf(setup.state === 'skip')('docker-compose.yml on podman: build, up --scale gateway=3, failures, down -v', () => {
  const ready = setup.state === 'ready' ? setup : null;
  const project = ready?.project ?? '';
  const socket = ready?.socket ?? '';
  const image = `localhost/switchboard:${project}`;
  const users: ChatUser[] = [];
  const timings: Record<string, number> = {};
  let env: NodeJS.ProcessEnv = {};
  let dispatchUrl = '';
  let down = false;

  const compose = (args: string[], timeoutMs: number) => runOk('docker-compose', ['-p', project, '-f', 'docker-compose.yml', ...args], { env, timeoutMs });
  const services = async (): Promise<ContainerSummary[]> => containersWith(socket, `com.docker.compose.project=${project}`);
  const serviceOf = (c: ContainerSummary) => c.Labels['com.docker.compose.service'] ?? '';

  async function nodes(): Promise<NodeInfo[]> {
    const res = await fetch(`${dispatchUrl}/admin/nodes`);
    if (!res.ok) throw new Error(`/admin/nodes answered ${res.status}`);
    return ((await res.json()) as { nodes: NodeInfo[] }).nodes;
  }
  const cluster = {
    async dispatchFor(uid: string) {
      const res = await fetch(`${dispatchUrl}/api/dispatch?uid=${encodeURIComponent(uid)}`);
      if (!res.ok) throw new Error(`dispatch answered ${res.status}`);
      return (await res.json()) as { node: string; ws: string; tcp: { host: string; port: number } };
    },
  } as unknown as TestCluster;

  /** The ready line a gateway container wrote to its IM_READY_FILE (read inside the container). */
  async function readyLineOf(id: string): Promise<{ role: string; nodeId?: string; ports: Record<string, number> }> {
    const r = await runOk('podman', ['exec', id, 'sh', '-c', 'cat "$IM_READY_FILE"'], { timeoutMs: 30_000 });
    return JSON.parse(r.out) as { role: string; nodeId?: string; ports: Record<string, number> };
  }

  async function gatewayContainers(): Promise<Array<ContainerSummary & { nodeId: string }>> {
    const out: Array<ContainerSummary & { nodeId: string }> = [];
    for (const c of (await services()).filter((c) => serviceOf(c) === 'gateway' && c.State === 'running')) {
      out.push({ ...c, nodeId: (await readyLineOf(c.Id)).nodeId ?? '' });
    }
    return out;
  }

  async function allHealthy(expectGateways: number, timeoutMs: number): Promise<void> {
    await waitFor(
      async () => {
        const list = (await services()).filter((c) => c.State === 'running');
        const gws = list.filter((c) => serviceOf(c) === 'gateway').length;
        if (gws !== expectGateways || list.length !== expectGateways + 3) return null;
        for (const c of list) if ((await inspect(socket, c.Id)).State.Health?.Status !== 'healthy') return null;
        const r = await fetch(`${dispatchUrl}/readyz`).catch(() => null);
        if (!r?.ok) return null;
        return (await nodes()).filter((n) => n.state === 'active').length === expectGateways ? true : null;
      },
      { timeoutMs, intervalMs: 1_000, what: `every service healthy and ${expectGateways} gateways registered` },
    );
  }

  beforeAll(async () => {
    if (!ready) throw new Error(`the container tests cannot run: ${setup.state === 'error' ? setup.reason : 'no setup'}`);
    const [redisPort, amqpPort, uiPort, dispatchPort] = await freePorts(4);
    env = {
      PATH: process.env['PATH'],
      HOME: process.env['HOME'],
      LANG: 'C.UTF-8',
      ...ready.env,
      SWITCHBOARD_IMAGE: image,
      SWITCHBOARD_REDIS_PORT: String(redisPort),
      SWITCHBOARD_AMQP_PORT: String(amqpPort),
      SWITCHBOARD_RABBITMQ_UI_PORT: String(uiPort),
      SWITCHBOARD_DISPATCH_PORT: String(dispatchPort),
      SWITCHBOARD_DRAIN_SECONDS: '10',
      IM_LOG_LEVEL: 'warn',
      COMPOSE_HTTP_TIMEOUT: '300',
    };
    dispatchUrl = `http://127.0.0.1:${dispatchPort}`;

    // The project's image, on the stand-in base. `compose-cache` keeps the layers for the next run's build cache.
    const build = await runOk(
      'podman',
      ['build', '--format', 'docker', '--network', 'host', '--pull=never', '-f', 'deploy/Dockerfile',
        '--build-arg', `NODE_IMAGE=${ready.env['SWITCHBOARD_NODE_IMAGE']}`, '-t', 'localhost/switchboard:compose-cache', '-t', image, '.'],
      { timeoutMs: BUILD_TIMEOUT_MS },
    );
    timings['imageBuild'] = build.ms;
    // Keep the build stage's layers (pnpm, the fetched store) from pruning: tagged, they stay the cache of the next
    // build; afterAll prunes what earlier builds left dangling.
    await runOk(
      'podman',
      ['build', '--format', 'docker', '--network', 'host', '--pull=never', '-q', '-f', 'deploy/Dockerfile', '--target', 'build',
        '--build-arg', `NODE_IMAGE=${ready.env['SWITCHBOARD_NODE_IMAGE']}`, '-t', 'localhost/switchboard:compose-cache-build', '.'],
      { timeoutMs: BUILD_TIMEOUT_MS },
    );

    const t0 = Date.now();
    await compose(['up', '-d', '--no-build', '--scale', 'gateway=3'], COMPOSE_UP_TIMEOUT_MS);
    timings['composeUp'] = Date.now() - t0;
    await allHealthy(3, 3 * 60_000);
    timings['composeHealthy'] = Date.now() - t0;
    console.info(
      `containers/compose: stand-ins ${(ready.prepareMs / 1000).toFixed(1)} s, image build ${(timings['imageBuild']! / 1000).toFixed(1)} s, ` +
        `compose up ${(timings['composeUp']! / 1000).toFixed(1)} s, all healthy after ${(timings['composeHealthy']! / 1000).toFixed(1)} s`,
    );
  }, BUILD_TIMEOUT_MS + COMPOSE_UP_TIMEOUT_MS + 4 * 60_000);

  afterAll(async () => {
    await Promise.all(users.map((u) => u.stop().catch(() => {})));
    if (ready && !down) await run('docker-compose', ['-p', project, '-f', 'docker-compose.yml', 'down', '-v', '--timeout', '20'], { env, timeoutMs: 180_000 }).catch(() => {});
    if (ready) {
      await run('podman', ['untag', image, image], { timeoutMs: 30_000 }).catch(() => {});
      // Layers of earlier builds (every source change leaves ~0.3–0.5 GB); the ones of the last hour stay (another
      // run may be building), and so do the tagged compose-cache images' chains.
      await run('podman', ['image', 'prune', '-f', '--filter', 'until=1h'], { timeoutMs: 120_000 }).catch(() => {});
    }
  }, 240_000);

  it('up - every service healthy; dispatch lists the 3 gateways at the ports each wrote to its ready file', async () => {
    const list = await nodes();
    expect(list).toHaveLength(3);
    const gws = await gatewayContainers();
    expect(gws).toHaveLength(3);
    for (const g of gws) {
      const n = list.find((x) => x.id === g.nodeId);
      expect(n, `container ${g.Names[0]} runs node ${g.nodeId}`).toBeDefined();
      expect(n!.ports.admin).toBe((await readyLineOf(g.Id)).ports['admin']);
      expect(n!.host).toBe('127.0.0.1');
    }
    // Dispatch runs on the host network too, on loopback: /admin answers here without a token, and the Prometheus
    // discovery lists the same gateways.
    const sd = (await (await fetch(`${dispatchUrl}/admin/sd`)).json()) as Array<{ labels: Record<string, string> }>;
    expect(sd.map((g) => g.labels['node']).sort()).toEqual(list.map((n) => n.id).sort());
  });

  it('QoS across gateways through dispatch; a gateway container SIGKILLed under traffic: nothing lost', async () => {
    for (let i = 0; i < 60; i++) users.push(new ChatUser(`ct-${i}`, cluster, i % 2 === 0 ? 'ws' : 'tcp'));
    for (let i = 0; i < users.length; i += 20) await Promise.all(users.slice(i, i + 20).map((u) => u.start()));
    const byNode = new Map<string, ChatUser[]>();
    for (const u of users) byNode.set(u.nodeId, [...(byNode.get(u.nodeId) ?? []), u]);
    expect(byNode.size, 'dispatch spreads users over the 3 gateways').toBe(3);

    // Settled traffic first: every message crosses gateways through the bridge, acked end to end.
    const warm = traffic(users, 60);
    await new Promise((r) => setTimeout(r, 3_000));
    await warm.stop();
    const first = await settle(users, warm.sent, 30_000);
    expect(first.missing).toEqual([]);
    expect(warm.sent.filter((m) => m.from.nodeId !== m.to.nodeId).length).toBeGreaterThan(20);

    const victim = (await gatewayContainers()).sort((a, b) => (byNode.get(b.nodeId)?.length ?? 0) - (byNode.get(a.nodeId)?.length ?? 0))[0]!;
    const onVictim = users.filter((u) => u.nodeId === victim.nodeId);
    const load = traffic(users, 100);
    await new Promise((r) => setTimeout(r, 2_000));
    const kill = await dockerApi(socket, 'POST', `/containers/${victim.Id}/kill?signal=KILL`); // docker kill -s KILL
    expect(kill.status).toBe(204);
    const killedAt = Date.now();
    await waitFor(async () => ((await nodes()).some((n) => n.id === victim.nodeId) ? null : true), {
      timeoutMs: 20_000,
      intervalMs: 250,
      what: 'dispatch to stop listing the killed gateway',
    });
    const goneMs = Date.now() - killedAt;
    await new Promise((r) => setTimeout(r, 3_000));
    await load.stop();
    await waitFor(() => onVictim.every((u) => u.client !== null && u.nodeId !== victim.nodeId), {
      timeoutMs: 30_000,
      what: "the killed gateway's users to reconnect elsewhere through dispatch",
    });
    const { missing, neededRelogin } = await settle(users, load.sent, 60_000);
    expect(missing).toEqual([]);
    for (const u of users) for (const [fp, n] of u.received) expect(n, `${u.uid} saw ${fp} ${n} times`).toBe(1);
    const state = await inspect(socket, victim.Id);
    console.info(
      `containers/compose: ${load.sent.length} messages under traffic, ${onVictim.length} users on the killed gateway, ` +
        `gone from dispatch after ${goneMs} ms, ${neededRelogin} collected at a re-login; container after kill: ${state.State.Status} ` +
        `(exit ${state.State.ExitCode}, restarts ${state.RestartCount})`,
    );

    // `docker kill` counts as stopped by hand for `restart: unless-stopped`: bring the replica back with compose.
    if (!state.State.Running) await compose(['up', '-d', '--no-build', '--no-recreate', '--scale', 'gateway=3'], COMPOSE_UP_TIMEOUT_MS);
    await allHealthy(3, 2 * 60_000);
  });

  it('drain through dispatch: users move, nothing lost; the container exits and comes back as a new node', async () => {
    const gws = await gatewayContainers();
    const counts = new Map(gws.map((g) => [g.nodeId, users.filter((u) => u.nodeId === g.nodeId).length]));
    const target = gws.sort((a, b) => counts.get(b.nodeId)! - counts.get(a.nodeId)!)[0]!;
    const moved = users.filter((u) => u.nodeId === target.nodeId);
    const restartsBefore = (await inspect(socket, target.Id)).RestartCount;

    const load = traffic(users, 60);
    await new Promise((r) => setTimeout(r, 1_000));
    const res = await fetch(`${dispatchUrl}/admin/nodes/${target.nodeId}/drain`, { method: 'POST' });
    expect(res.status).toBe(202);
    await waitFor(async () => ((await nodes()).some((n) => n.id === target.nodeId) ? null : true), {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: 'the drained gateway to leave the registry',
    });
    await new Promise((r) => setTimeout(r, 2_000));
    await load.stop();
    await waitFor(() => moved.every((u) => u.client !== null && u.nodeId !== target.nodeId), {
      timeoutMs: 30_000,
      what: "the drained gateway's users to reconnect elsewhere",
    });
    const { missing } = await settle(users, load.sent, 60_000);
    expect(missing).toEqual([]);

    // The process exited by itself after the drain; `restart: unless-stopped` starts it again: a new node id.
    await waitFor(async () => ((await inspect(socket, target.Id)).RestartCount > restartsBefore ? true : null), {
      timeoutMs: 60_000,
      what: 'the drained container to be restarted',
    });
    await allHealthy(3, 2 * 60_000);
    const again = await readyLineOf(target.Id);
    expect(again.nodeId).not.toBe(target.nodeId);
    expect((await nodes()).map((n) => n.id)).toContain(again.nodeId);
    console.info(`containers/compose: drained ${target.nodeId} (${moved.length} users moved, ${load.sent.length} messages), restarted as ${again.nodeId}`);
  });

  it('down -v - removes every container, network and volume of the project', async () => {
    await Promise.all(users.map((u) => u.stop()));
    const t0 = Date.now();
    await compose(['down', '-v', '--timeout', '30'], 180_000);
    down = true;
    timings['composeDown'] = Date.now() - t0;
    expect(await services()).toEqual([]);
    const q = encodeURIComponent(JSON.stringify({ label: [`com.docker.compose.project=${project}`] }));
    expect((await dockerApi<{ Volumes: unknown[] | null }>(socket, 'GET', `/volumes?filters=${q}`)).body.Volumes ?? []).toEqual([]);
    expect((await dockerApi<unknown[]>(socket, 'GET', `/networks?filters=${q}`)).body).toEqual([]);
    console.info(`containers/compose: down -v ${(timings['composeDown']! / 1000).toFixed(1)} s`);
  });
});
