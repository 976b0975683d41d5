// Groups in a real cluster (docs/groups.md): dispatch + 3 gateway processes on Redis and RabbitMQ,
// IM_AUTH=none, history on (the default). One group of 61 members spread over the gateways; several
// members send QoS group messages at a steady rate while one gateway is SIGKILLed and its members
// come back through dispatch (their re-login brings what they missed from the group's history).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, waitFor } from '@switchboard/core';
import { groupConversation } from '@switchboard/cluster';
import { ErrorCode } from '@switchboard/protocol';
import { TestCluster, type GatewayProc } from './harness.js';
import { GroupMember } from './group-member.js';

const GID = 'crew';
const ADDRESS = `g:${GID}`;
const MEMBERS = 60;
const SENDERS = 6;
const RATE_PER_SEC = 30;

interface SentGroupMessage {
  idx: number;
  fp: string;
  from: GroupMember;
  content: string;
}

async function admin(cluster: TestCluster, method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${cluster.dispatchUrl}${path}`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as unknown) : null };
}

type Backends = ReturnType<typeof import('@switchboard/cluster/redis').createRedisBackends>;

/** Send from `senders` in turn at `ratePerSec` until `stop()`; every message is recorded before it is written. */
function groupTraffic(senders: GroupMember[], ratePerSec: number) {
  const sent: SentGroupMessage[] = [];
  let running = true;
  const loop = (async () => {
    let next = performance.now();
    for (let i = 0; running; i++) {
      const from = senders[i % senders.length]!;
      const content = `${from.uid} #${i} ünï <&>`;
      const m: SentGroupMessage = { idx: i, fp: '', from, content };
      sent.push(m);
      m.fp = await from.send(ADDRESS, content);
      next += 1000 / ratePerSec;
      const wait = next - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  })();
  return {
    sent,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

describe('groups in a cluster', () => {
  let cluster: TestCluster;
  /** The cluster's Redis, to read a member's group cursor as the gateways wrote it (diagnostics). */
  let backends: Backends | undefined;
  const cursorOf = (uid: string, gid: string): Promise<number> => backends!.history.cursor(uid as never, groupConversation(gid));
  const members: GroupMember[] = [];
  let offline: GroupMember;
  let outsider: GroupMember | undefined;
  /** Every group message, the probe included, once the stream test has settled. */
  let all: SentGroupMessage[] = [];
  const t0 = Date.now();
  const stamp = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

  beforeAll(async () => {
    cluster = await TestCluster.start('groups', { gateways: 3 });
    const { createRedisBackends } = await import('@switchboard/cluster/redis');
    backends = createRedisBackends({ url: cluster.redisUrl, prefix: cluster.prefix, log: silentLogger() });
    for (let i = 0; i < MEMBERS; i++) members.push(new GroupMember(`gm-${String(i).padStart(2, '0')}`, cluster, i % 2 === 0 ? 'ws' : 'tcp'));
    offline = new GroupMember('gm-offline', cluster, 'tcp');
    const put = await admin(cluster, 'PUT', `/admin/groups/${GID}`, { name: 'The Crew', members: [...members.map((m) => m.uid), offline.uid] });
    expect(put.status, JSON.stringify(put.json)).toBe(200);
    expect((put.json as { members: string[] }).members).toHaveLength(MEMBERS + 1);
    // Member i logs in on gateway i % 3 directly; every later reconnect goes through dispatch.
    for (let i = 0; i < MEMBERS; i += 20) await Promise.all(members.slice(i, i + 20).map((m, j) => m.start(cluster.gateways[(i + j) % 3]!)));
  });

  afterAll(async () => {
    await Promise.all([...members, offline, outsider].map((m) => m?.stop()));
    await backends?.close();
    await cluster?.stop();
  });

  const online = () => members.filter((m) => m.online);
  const gw = (i: number): GatewayProc => cluster.gateways[i]!;

  it('a group message reaches every other member on every gateway once, as g:<gid>:<sender>, with seq and sentAt; the sender gets one ack with the seq', async () => {
    const sender = members[0]!;
    const fp = await sender.send(ADDRESS, 'probe');
    all.push({ idx: -1, fp, from: sender, content: 'probe' });
    await waitFor(() => sender.acked.has(fp), { timeoutMs: 10_000, what: 'the ack of the probe' });
    const missing = () => members.filter((m) => m !== sender && !m.seen.has(fp)).map((m) => m.uid);
    await waitFor(() => missing().length === 0, { timeoutMs: 15_000, what: 'the probe at every other member' }).catch((err: Error) => {
      throw new Error(`${err.message}; missing at ${missing().length} members: ${missing().slice(0, 10).join(', ')}`);
    });
    const seq = sender.acked.get(fp);
    expect(seq, 'the ack carries the history seq').toBeGreaterThan(0);
    for (const m of members.filter((x) => x !== sender)) {
      expect(m.seen.get(fp), m.uid).toMatchObject({ from: `${ADDRESS}:${sender.uid}`, to: ADDRESS, content: 'probe', seq });
      expect(typeof m.seen.get(fp)!.sentAt, m.uid).toBe('number');
    }
    expect(sender.seen.has(fp), 'the sender does not get its own message').toBe(false);
    expect(offline.seen.size).toBe(0);
  });

  it('SIGKILL of a gateway mid-stream: every message is acked, every member sees every message of the others once (after catch-up), a removed member stops at the next message', async () => {
    expect(all.length, 'the probe test ran first').toBe(1);
    const victim = gw(1);
    const onVictim = members.filter((m) => m.nodeId === victim.nodeId);
    expect(onVictim.length).toBe(MEMBERS / 3);
    // Senders on every gateway, two on the victim; the removed member sits on a surviving gateway.
    const senders = members.slice(0, SENDERS);
    expect(senders.filter((s) => s.nodeId === victim.nodeId)).toHaveLength(2);
    const removed = members[SENDERS + 2]!;
    expect(removed.nodeId).not.toBe(victim.nodeId);

    const load = groupTraffic(senders, RATE_PER_SEC);
    const sentAtLeast = (n: number, timeoutMs: number) => waitFor(() => load.sent.length >= n, { timeoutMs, what: `${n} messages sent` });

    // Removal mid-stream: what was acked before the DELETE went out must reach the member; nothing
    // whose send began after the 204 may.
    await sentAtLeast(40, 20_000);
    const ackedBeforeRemoval = load.sent.filter((m) => m.fp && m.from.acked.has(m.fp));
    const del = await admin(cluster, 'DELETE', `/admin/groups/${GID}/members/${removed.uid}`);
    expect(del.status).toBe(204);
    const firstAfterRemoval = load.sent.length;

    await sentAtLeast(90, 20_000);
    victim.proc.kill('SIGKILL');
    const killedAt = Date.now();
    const killedAtIdx = load.sent.length;
    await waitFor(async () => !(await cluster.nodes()).some((n) => n.id === victim.nodeId), { timeoutMs: 15_000, intervalMs: 100, what: 'dispatch to drop the killed node' });
    await waitFor(() => onVictim.every((m) => m.online && m.nodeId !== victim.nodeId), { timeoutMs: 30_000, what: "the killed gateway's members to come back through dispatch" });
    const backAfterMs = Date.now() - killedAt;
    const backAtIdx = load.sent.length;
    // Keep the stream going for a while with everyone back.
    await sentAtLeast(load.sent.length + 60, 20_000);
    await load.stop();
    all = [...all, ...load.sent];

    // Every sender resends what is unacked (same fp) until all is acked.
    await waitFor(
      async () => {
        await Promise.all(senders.map((s) => s.resendPending()));
        return senders.every((s) => s.pending.size === 0);
      },
      { timeoutMs: 30_000, intervalMs: 1_500, what: 'every group message acked' },
    );

    const expectedBy = (m: GroupMember) => all.filter((x) => x.from !== m && (m !== removed || x.idx < firstAfterRemoval));
    const missingAt = (m: GroupMember) => expectedBy(m).filter((x) => !m.seen.has(x.fp) && !(m === removed && !ackedBeforeRemoval.includes(x)));
    const stillMissing = () => members.filter((m) => missingAt(m).length > 0);
    await waitFor(() => stillMissing().length === 0, { timeoutMs: 15_000, what: 'every member to see every message' }).catch(() => {});
    // What a member still lacks must be in the group's history: its next login brings it (catch-up).
    const neededRelogin = stillMissing().map((m) => ({ uid: m.uid, node: m.nodeId, missing: missingAt(m).map((x) => `${x.from.uid}#${x.idx}`) }));
    if (neededRelogin.length > 0) {
      console.warn(`groups: ${neededRelogin.length} online members lacked messages after settling and needed a re-login: ${JSON.stringify(neededRelogin).slice(0, 2_000)}`);
      await Promise.all(stillMissing().map((m) => m.relogin()));
      await waitFor(() => stillMissing().length === 0, { timeoutMs: 20_000, what: 'catch-up at the re-login' }).catch(() => {});
    }
    // A miss names the member's cursor and the missing seqs: a cursor above a missing seq means
    // catch-up will never bring it (docs/groups.md: the cursor is the seq below which it acked everything).
    const report = await Promise.all(
      members
        .filter((m) => missingAt(m).length > 0)
        .map(async (m) => `${m.uid} (cursor ${await cursorOf(m.uid, GID).catch(() => NaN)}): ${missingAt(m).map((x) => `${x.from.uid}#${x.idx} seq ${x.from.acked.get(x.fp)} (written ${x.from.writes.get(x.fp)}x, acked on connection ${x.from.ackedOn.get(x.fp)})`).join(', ')}`),
    );
    expect(report, 'messages no member may miss').toEqual([]);

    // The sender's ack carries the seq every member saw; seqs are unique and gap-free.
    const seqOf = new Map<string, number>();
    for (const x of all) {
      const seq = x.from.acked.get(x.fp);
      expect(seq, `ack seq of ${x.from.uid}#${x.idx}`).toBeGreaterThan(0);
      seqOf.set(x.fp, seq!);
    }
    expect([...seqOf.values()].sort((a, b) => a - b)).toEqual(Array.from({ length: all.length }, (_, i) => i + 1));
    const wrong: string[] = [];
    const byFp = new Map(all.map((x) => [x.fp, x]));
    for (const m of members) {
      for (const [fp, s] of m.seen) {
        const x = byFp.get(fp);
        if (!x) wrong.push(`${m.uid} saw an fp nobody sent: ${fp} from ${s.from}`);
        else if (x.from === m) wrong.push(`${m.uid} got its own message #${x.idx}`);
        else if (m === removed && x.idx >= firstAfterRemoval) wrong.push(`${m.uid} got #${x.idx}, sent after its removal (first after: #${firstAfterRemoval})`);
        else if (s.from !== `${ADDRESS}:${x.from.uid}` || s.to !== ADDRESS || s.content !== x.content || s.seq !== seqOf.get(fp) || typeof s.sentAt !== 'number') {
          wrong.push(`${m.uid} saw #${x.idx} as ${JSON.stringify(s)}`);
        }
      }
    }
    expect(wrong.slice(0, 20), `${wrong.length} wrong deliveries`).toEqual([]);
    // The removed member had everything acked before its removal.
    expect(ackedBeforeRemoval.filter((x) => !removed.seen.has(x.fp) && x.from !== removed).map((x) => x.idx)).toEqual([]);

    // After its removal the member's own sends are refused.
    const refusedFp = await removed.send(ADDRESS, 'still in?');
    await waitFor(() => removed.errors.some((e) => e.msg === refusedFp), { timeoutMs: 10_000, what: 'the 1040 for the removed member' });
    expect(removed.errors.find((e) => e.msg === refusedFp)!.code).toBe(ErrorCode.NOT_A_MEMBER);
    removed.pending.delete(refusedFp);

    // What the killed gateway's members missed while they were away came by catch-up at their re-login.
    const caughtUp = onVictim.reduce((n, m) => n + [...m.seen].filter(([fp, s]) => s.conn > 0 && byFp.get(fp)!.idx >= killedAtIdx && byFp.get(fp)!.idx < backAtIdx).length, 0);
    expect(caughtUp, 'messages sent while they were away, brought at their re-login').toBeGreaterThan(0);
    const wireDuplicates = members.reduce((n, m) => n + m.wireDuplicates, 0);
    const resent = senders.reduce((n, s) => n + s.resentAfterReconnect, 0);
    const repeatedAcks = senders.reduce((n, s) => n + s.acksReceived - s.acked.size, 0);
    console.info(
      `groups: ${all.length} group messages from ${SENDERS} senders to ${MEMBERS} members (${all.length * (MEMBERS - 1)} deliveries), ` +
        `SIGKILL at message #${killedAtIdx}, ${onVictim.length} members back after ${backAfterMs} ms, removal before #${firstAfterRemoval}, ` +
        `${caughtUp} deliveries of messages sent while they were away, ${resent} unacked messages resent after reconnect, ${repeatedAcks} repeated acks, ` +
        `${neededRelogin.length} members needed a re-login, ${wireDuplicates} wire duplicates dropped by fp, at ${stamp()}`,
    );
  });

  it('a member offline during the whole stream catches up on every message at login, oldest first', async () => {
    expect(all.length, 'the stream test ran first').toBeGreaterThan(100);
    await offline.start();
    const missing = () => all.filter((x) => !offline.seen.has(x.fp));
    await waitFor(() => missing().length === 0, { timeoutMs: 30_000, what: 'catch-up of the offline member' }).catch((err: Error) => {
      throw new Error(`${err.message}; ${missing().length} of ${all.length} missing`);
    });
    const seqs = [...offline.seen.values()].map((s) => s.seq!);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(offline.seen.size).toBe(all.length);
    console.info(`groups: the offline member caught up on ${offline.seen.size} messages (${offline.wireDuplicates} wire duplicates dropped by fp), at ${stamp()}`);
  });

  it('a non-member (and a message to an unknown group) gets 1040 naming the fp, no ack, and nobody receives it', async () => {
    outsider = new GroupMember('gm-outsider', cluster, 'ws');
    await outsider.start(gw(0));
    const fp = await outsider.send(ADDRESS, 'let me in');
    const fpUnknown = await outsider.send('g:no-such-group', 'anyone?');
    await waitFor(() => outsider!.errors.some((e) => e.msg === fp) && outsider!.errors.some((e) => e.msg === fpUnknown), { timeoutMs: 10_000, what: 'two 1040 errors' });
    expect(outsider.errors.filter((e) => e.msg === fp || e.msg === fpUnknown).map((e) => e.code)).toEqual([ErrorCode.NOT_A_MEMBER, ErrorCode.NOT_A_MEMBER]);
    // A keepalive round trip after the errors: an ack, had there been one, came before it.
    await outsider.client!.keepAlive({ timeoutMs: 10_000 });
    outsider.tick();
    expect(outsider.acked.has(fp) || outsider.acked.has(fpUnknown)).toBe(false);
    // A member's message sent afterwards reaches everyone: the refused one never did.
    const marker = await members[3]!.send(ADDRESS, 'marker');
    await waitFor(() => online().every((m) => m === members[3] || m === members[SENDERS + 2] || m.seen.has(marker)), { timeoutMs: 15_000, what: 'the marker at every member' });
    expect([...members, offline].filter((m) => m.seen.has(fp) || m.seen.has(fpUnknown)).map((m) => m.uid)).toEqual([]);
  });

  it('catch-up at login brings what a member missed even when it acks a live group message while its offline queue is still being delivered', async () => {
    // The member's cursor may only pass what it acked (docs/groups.md "Delivery"). Here a live group
    // message arrives and is acked while the login is still delivering a full page of offline C2C
    // messages (catch-up runs after the offline queue); the gateway writes the cursor at most 1 s
    // after that ack. Catch-up, and any later login, must still bring the messages sent before it.
    const gid = 'late';
    const put = await admin(cluster, 'PUT', `/admin/groups/${gid}`, { name: 'Late', members: ['late-sender', 'late-member'] });
    expect(put.status).toBe(200);
    const sender = await cluster.clientOn(gw(0), 'late-sender', 'tcp');
    const missed: string[] = [];
    for (let i = 0; i < 3; i++) missed.push(await sender.send(`g:${gid}`, `while away ${i}`));
    for (const fp of missed) await sender.waitForAck(fp, { timeoutMs: 10_000 });
    // A full offline page (DEFAULT_OFFLINE_PAGE, 200): the gateway waits for its acks before it goes on.
    const queued: string[] = [];
    for (let i = 0; i < 200; i++) queued.push(await sender.send('late-member', `queued ${i}`));
    for (const fp of queued) await sender.waitForAck(fp, { timeoutMs: 15_000 });

    const member = await cluster.clientOn(gw(0), 'late-member', 'ws', { autoAck: false });
    try {
      await waitFor(() => member.messages.length >= 200, { timeoutMs: 15_000, what: 'the offline page' });
      const liveFp = await sender.send(`g:${gid}`, 'live');
      await member.ack(await member.waitForMessage((p) => p.fp === liveFp, { timeoutMs: 10_000 }));
      // The cursor flush comes at most 1 s after the ack: wait for it (or 3 s without one).
      const cursor = await waitFor(async () => (await cursorOf('late-member', gid)) || undefined, {
        timeoutMs: 3_000,
        intervalMs: 100,
      }).catch(() => 0);
      // Now the offline page is acked: the login goes on to catch-up.
      member.autoAck = true;
      for (const p of member.messages.filter((x) => x.to === 'late-member')) await member.ack(p);
      const caughtUp = () => missed.filter((fp) => member.messages.some((p) => p.fp === fp)).length;
      await waitFor(() => caughtUp() === missed.length, { timeoutMs: 15_000, what: 'catch-up of the 3 messages sent while the member was away' }).catch(() => {});
      expect(caughtUp(), `group messages caught up; the member's cursor was ${cursor} after it acked only the live message (seq ${member.messages.find((p) => p.fp === liveFp)?.seq})`).toBe(missed.length);
    } finally {
      await member.close();
      await sender.close();
    }
  });
});
