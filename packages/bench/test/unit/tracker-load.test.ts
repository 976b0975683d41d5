import { afterEach, describe, expect, it, vi } from 'vitest';
import { MessageTracker, MsgFlag, contentSentAt, makeContent } from '../../src/load/tracker.js';
import { LoadDriver, randomPeer, type LoadUser } from '../../src/load/load.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@switchboard/core';
import { busiestNode, readClusterPids } from '../../src/load/chaos.js';
import { reportJson, type BenchReport } from '../../src/load/report.js';

describe('MessageTracker', () => {
  it('fp - UUID-shaped, 36 characters, decodes back to its sequence number', () => {
    const t = new MessageTracker(4);
    for (let i = 0; i < 100; i++) t.add(i % 3, (i + 1) % 3, i);
    for (const seq of [0, 1, 15, 16, 99]) {
      const fp = t.fp(seq);
      expect(fp).toHaveLength(36);
      expect(fp).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(t.seqOf(fp)).toBe(seq);
    }
  });

  it('seqOf - -1 for foreign, other runs, malformed and unissued fingerprints', () => {
    const t = new MessageTracker();
    t.add(0, 1, 0);
    const other = new MessageTracker();
    other.add(0, 1, 0);
    expect(t.seqOf(other.fp(0))).toBe(-1);
    expect(t.seqOf('27b59475-c30e-4161-bb5d-abf2f429dd14')).toBe(-1);
    expect(t.seqOf(null)).toBe(-1);
    expect(t.seqOf(t.runTag + 'zzzzzzzzzzzz')).toBe(-1);
    expect(t.seqOf(t.fp(5))).toBe(-1); // not issued yet
  });

  it('add - grows past its capacity and keeps every record', () => {
    const t = new MessageTracker(2);
    for (let i = 0; i < 1000; i++) t.add(i, i + 1, i * 1.5, i % 2 ? MsgFlag.MEASURED : 0);
    expect(t.count).toBe(1000);
    expect(t.sender[999]).toBe(999);
    expect(t.receiver[999]).toBe(1000);
    expect(t.sentAt[999]).toBe(1498.5);
    expect(t.countWhere(MsgFlag.MEASURED)).toBe(500);
  });

  it('flags - set, has, without, countWhere', () => {
    const t = new MessageTracker();
    for (let i = 0; i < 5; i++) t.add(0, 1, 0);
    t.set(1, MsgFlag.ACKED);
    t.set(1, MsgFlag.DELIVERED);
    t.set(2, MsgFlag.DELIVERED);
    t.set(3, MsgFlag.ACKED);
    expect(t.has(1, MsgFlag.ACKED)).toBe(true);
    expect(t.without(MsgFlag.DELIVERED)).toEqual([0, 3, 4]);
    expect(t.countWhere(MsgFlag.ACKED, MsgFlag.DELIVERED)).toBe(1);
    expect(t.countWhere(0, MsgFlag.ACKED)).toBe(3);
  });
});

describe('message content', () => {
  it('makeContent - exactly the size asked, carries the send time', () => {
    for (const size of [32, 100, 5800]) {
      const c = makeContent(123456.789, 42, size);
      expect(c).toHaveLength(size);
      expect(contentSentAt(c)).toBe(123456.789);
    }
    expect(contentSentAt('garbage')).toBeNaN();
    expect(contentSentAt(null)).toBeNaN();
  });
});

describe('randomPeer', () => {
  it('randomPeer - never self, covers every other user', () => {
    const seen = new Set<number>();
    let x = 0;
    const rnd = () => ((x = (x + 0.137) % 1), x);
    for (let i = 0; i < 500; i++) {
      const p = randomPeer(3, 6, rnd);
      expect(p).not.toBe(3);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(6);
      seen.add(p);
    }
    expect([...seen].sort()).toEqual([0, 1, 2, 4, 5]);
    expect(randomPeer(0, 2, () => 0.99)).toBe(1);
    expect(randomPeer(1, 2, () => 0)).toBe(0);
  });
});

class FakeUser implements LoadUser {
  online = true;
  inflight = 0;
  sent: Array<{ to: number; at: number; measured: boolean }> = [];
  constructor(readonly index: number) {}
  sendNew(receiver: number, sentAt: number, measured: boolean): void {
    this.inflight++;
    this.sent.push({ to: receiver, at: sentAt, measured });
  }
}

describe('LoadDriver', () => {
  afterEach(() => vi.useRealTimers());

  it('closed loop - fills every online user to K, refills one per answer, stops at the window end', () => {
    const users = [new FakeUser(0), new FakeUser(1), new FakeUser(2)];
    users[2]!.online = false;
    const now = performance.now();
    const d = new LoadDriver(users, { kind: 'closed', inflight: 4 }, { start: now, from: now, to: now + 60_000 });
    d.start();
    expect(users[0]!.inflight).toBe(4);
    expect(users[1]!.inflight).toBe(4);
    expect(users[2]!.inflight).toBe(0);
    expect(users[0]!.sent.every((s) => s.to !== 0 && s.measured)).toBe(true);
    users[0]!.inflight--;
    d.onSlotFree(users[0]!);
    expect(users[0]!.sent).toHaveLength(5);
    users[2]!.online = true;
    d.topUp(users[2]!);
    expect(users[2]!.inflight).toBe(4);
    d.stop();
    users[1]!.inflight--;
    d.onSlotFree(users[1]!);
    expect(users[1]!.sent).toHaveLength(4);
  });

  it('closed loop - messages before the warmup ends are not measured', () => {
    const users = [new FakeUser(0), new FakeUser(1)];
    const now = performance.now();
    const d = new LoadDriver(users, { kind: 'closed', inflight: 2 }, { start: now, from: now + 60_000, to: now + 120_000 });
    d.start();
    expect(users[0]!.sent.every((s) => !s.measured)).toBe(true);
    d.stop();
  });

  it('open loop - sends rate × time on schedule from online users, with scheduled send times', async () => {
    const users = Array.from({ length: 10 }, (_, i) => new FakeUser(i));
    for (let i = 5; i < 10; i++) users[i]!.online = false;
    const now = performance.now();
    const window = { start: now, from: now + 100, to: now + 300 };
    const d = new LoadDriver(users, { kind: 'open', ratePerSec: 1_000 }, window);
    d.start();
    while (d.running) await new Promise((r) => setTimeout(r, 10));
    const all = users.flatMap((u) => u.sent);
    expect(all.length).toBeGreaterThanOrEqual(295);
    expect(all.length).toBeLessThanOrEqual(300);
    expect(users.slice(5).every((u) => u.sent.length === 0)).toBe(true);
    const times = all.map((s) => s.at).sort((a, b) => a - b);
    expect(times[1]! - times[0]!).toBeCloseTo(1, 6); // 1 ms apart at 1000/s
    expect(all.filter((s) => s.measured).length).toBeGreaterThanOrEqual(195);
    expect(all.filter((s) => s.measured).length).toBeLessThanOrEqual(200);
  });
});

describe('LoadDriver open loop schedule', () => {
  it('open loop - a message goes out once its scheduled time comes, not one interval later', async () => {
    const users = [new FakeUser(0), new FakeUser(1)];
    const now = performance.now();
    const window = { start: now, from: now, to: now + 250 };
    const d = new LoadDriver(users, { kind: 'open', ratePerSec: 10 }, window);
    d.start();
    await new Promise((r) => setTimeout(r, 40));
    // Message 0 is due at the start (the next at +100 ms): it is out after the first tick.
    expect(users.flatMap((u) => u.sent).map((s) => s.at)).toEqual([now]);
    while (d.running) await new Promise((r) => setTimeout(r, 10));
    // Due at +0, +100, +200 ms; +300 is past the window's end.
    expect(users.flatMap((u) => u.sent).map((s) => Math.round(s.at - now)).sort((a, b) => a - b)).toEqual([0, 100, 200]);
  });
});

describe('busiestNode', () => {
  it('busiestNode - the node with most users; null without users', () => {
    expect(busiestNode(['a', 'b', 'b', 'c', 'b', 'a'])).toEqual({ nodeId: 'b', users: 3 });
    expect(busiestNode([])).toBeNull();
    expect(busiestNode(['', ''])).toBeNull();
  });
});

describe('readClusterPids', () => {
  it('readClusterPids - {nodeId: pid}; anything else is a ConfigError naming the flag', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-pids-'));
    const ok = join(dir, 'ok.json');
    writeFileSync(ok, JSON.stringify({ 'gw-1': 123, 'gw-2': 456 }));
    expect([...readClusterPids(ok)]).toEqual([
      ['gw-1', 123],
      ['gw-2', 456],
    ]);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ 'gw-1': 'x' }));
    expect(() => readClusterPids(bad)).toThrow(ConfigError);
    expect(() => readClusterPids(join(dir, 'missing.json'))).toThrow(/--cluster-pids/);
  });
});

describe('reportJson', () => {
  it('reportJson - NaN and Infinity become null', () => {
    const text = reportJson({ version: 1, ratio: NaN, x: Infinity, y: 1.5 } as unknown as BenchReport);
    expect(JSON.parse(text)).toEqual({ version: 1, ratio: null, x: null, y: 1.5 });
  });
});
