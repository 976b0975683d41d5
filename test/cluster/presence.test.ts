// Presence and typing in a real cluster (docs/presence.md): dispatch + 2 gateway processes on Redis and
// RabbitMQ. A watcher on one gateway sees presence changes and typing signals of users on the other
// (one broadcast per interval on the fanout exchange, notify for typing); a SIGKILLed gateway's users
// go offline for watchers once the sweep purges its routes; a MobileIMSDK-style client (no login
// features) never receives a typing or presence packet; GET /api/presence agrees.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@switchboard/core';
import { ExtensionPacketType, TYPING_TYPEU, WATCH_TYPEU } from '@switchboard/protocol';
import { TestClient } from '@switchboard/testkit';
import { TestCluster, type GatewayProc } from './harness.js';

const SDK_FEATURES = ['notices', 'presence', 'typing'];

type Notice = Record<string, unknown>;
const notices = (c: TestClient, kind: string): Notice[] =>
  c.packets.filter((p) => p.type === ExtensionPacketType.NOTICE).map((p) => JSON.parse(p.dataContent!) as Notice).filter((n) => n['kind'] === kind);
const presenceOf = (c: TestClient, uid: string) =>
  notices(c, 'presence').flatMap((n) => (n['users'] as Array<{ uid: string; online: boolean; lastSeen?: number }>).filter((u) => u.uid === uid));
const latest = (c: TestClient, uid: string) => presenceOf(c, uid).at(-1);

describe('presence and typing in a cluster', () => {
  let cluster: TestCluster;
  let gw1: GatewayProc;
  let gw2: GatewayProc;
  const clients: TestClient[] = [];

  async function login(gw: GatewayProc, uid: string, features: string[] | null): Promise<TestClient> {
    const c = new TestClient({ transport: 'ws', url: `ws://127.0.0.1:${gw.ports.ws}/websocket` });
    clients.push(c);
    await c.connect();
    const r = await c.login(uid, features ? { features } : {});
    if (r.code !== 0) throw new Error(`login of ${uid} failed with ${r.code}`);
    return c;
  }

  async function presenceApi(uids: string[]): Promise<Array<{ uid: string; online: boolean; lastSeen?: number }>> {
    const res = await fetch(`${cluster.dispatchUrl}/api/presence?uids=${uids.join(',')}`, { headers: { authorization: 'Bearer pr-watcher' } });
    expect(res.status).toBe(200);
    return ((await res.json()) as { users: Array<{ uid: string; online: boolean; lastSeen?: number }> }).users;
  }

  beforeAll(async () => {
    cluster = await TestCluster.start('presence', { gateways: 2, env: { IM_PRESENCE_INTERVAL_MS: '200', IM_TYPING_INTERVAL_MS: '500' } });
    [gw1, gw2] = cluster.gateways as [GatewayProc, GatewayProc];
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close({ abrupt: true }).catch(() => {})));
    await cluster?.stop();
  });

  it('a watcher on one gateway sees presence changes and typing from the other; a MobileIMSDK client sees none; a killed gateway\'s users go offline', async () => {
    const watcher = await login(gw1, 'pr-watcher', SDK_FEATURES);
    const java = await login(gw1, 'pr-java', null);
    const bob = await login(gw2, 'pr-bob', SDK_FEATURES);

    // The watch list is answered with the current state at once.
    await watcher.send('0', JSON.stringify(['pr-bob', 'pr-carol', 'pr-java']), { qos: false, typeu: WATCH_TYPEU });
    await waitFor(() => latest(watcher, 'pr-bob') && latest(watcher, 'pr-carol'), { timeoutMs: 5_000, what: 'the answer to the watch list' });
    expect(latest(watcher, 'pr-bob')).toEqual({ uid: 'pr-bob', online: true });
    expect(latest(watcher, 'pr-carol')).toEqual({ uid: 'pr-carol', online: false });

    // A login on the other gateway reaches the watcher through one broadcast.
    const carol = await login(gw2, 'pr-carol', SDK_FEATURES);
    await waitFor(() => latest(watcher, 'pr-carol')?.online === true, { timeoutMs: 5_000, what: 'carol online for the watcher' });

    // Typing across gateways; the MobileIMSDK client gets no typing packet even when it is the target.
    await bob.send('pr-watcher', '', { qos: false, typeu: TYPING_TYPEU });
    await bob.send('pr-java', '', { qos: false, typeu: TYPING_TYPEU });
    await waitFor(() => notices(watcher, 'typing').length === 1, { timeoutMs: 5_000, what: 'the typing notice' });
    expect(notices(watcher, 'typing')[0]).toEqual({ kind: 'typing', from: 'pr-bob' });

    // A logout: offline with a last-seen time, also in GET /api/presence.
    const before = Date.now();
    await carol.logout();
    await waitFor(() => latest(watcher, 'pr-carol')?.online === false, { timeoutMs: 5_000, what: 'carol offline for the watcher' });
    expect(latest(watcher, 'pr-carol')!.lastSeen).toBeGreaterThanOrEqual(before - 1_000);
    await waitFor(async () => (await presenceApi(['pr-carol']))[0]?.lastSeen !== undefined, { timeoutMs: 5_000, what: 'the stored last-seen time' });
    const api = await presenceApi(['pr-bob', 'pr-carol', 'pr-nobody']);
    expect(api[0]).toEqual({ uid: 'pr-bob', online: true });
    expect(api[1]).toMatchObject({ uid: 'pr-carol', online: false });
    expect(api[2]).toEqual({ uid: 'pr-nobody', online: false });

    // The other gateway dies: once its routes are purged, bob is offline for the watcher.
    gw2.proc.kill('SIGKILL');
    await waitFor(() => latest(watcher, 'pr-bob')?.online === false, { timeoutMs: 25_000, what: 'bob offline after his gateway died' });
    expect((await presenceApi(['pr-bob']))[0]).toMatchObject({ uid: 'pr-bob', online: false });

    // The MobileIMSDK-style client never saw an extension packet.
    expect(java.packets.filter((p) => p.type === ExtensionPacketType.NOTICE)).toEqual([]);
    expect(java.packets.filter((p) => p.type === 2)).toEqual([]);
  }, 60_000);
});
