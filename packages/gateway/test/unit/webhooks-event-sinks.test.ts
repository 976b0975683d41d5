import { describe, expect, expectTypeOf, it } from 'vitest';
import { ImErrorCode, UnavailableError } from '@switchboard/core';
import type { AmqpEventsPublisher } from '@switchboard/cluster/amqp';
import {
  IM_EVENT_TYPES,
  MemoryEventSink,
  WebhookSink,
  fanOut,
  imEventId,
  nullEventSink,
  withEventId,
  type EventSink,
  type ImEvent,
  type ImEventDraft,
} from '../../src/index.js';

const base = { at: 1_700_000_000_000, nodeId: 'gw-a' };
const drafts: ImEventDraft[] = [
  { ...base, type: 'login', userId: 'alice', connId: 'c1', transport: 'ws', extra: null },
  { ...base, type: 'logout', userId: 'alice', connId: 'c1', kickCode: -1 },
  { ...base, type: 'c2s', from: 'alice', fp: 'fp-1', typeu: 0, dataContent: 'x' },
  { ...base, type: 'c2c.delivered', from: 'alice', to: 'bob', fp: 'fp-1', typeu: 0, dataContent: 'x', latencyMs: 2 },
  { ...base, type: 'c2c.offline', from: 'alice', to: 'bob', fp: 'fp-1', typeu: 0, dataContent: 'x' },
  { ...base, type: 'lost', from: 'alice', to: 'bob', fp: 'fp-1', typeu: 0, reason: 'full' },
  { ...base, type: 'group.message', from: 'alice', group: 'team', fp: 'fp-1', seq: 1, typeu: 0, dataContent: 'x' },
  { ...base, type: 'push.needed', user: 'bob', from: 'alice', fp: 'fp-1', count: 2, preview: 'x', group: 'team' },
];

describe('event sinks (types)', () => {
  it('types - the cluster publisher and the webhook sink are EventSinks', () => {
    expectTypeOf<AmqpEventsPublisher>().toMatchTypeOf<EventSink>();
    expectTypeOf<WebhookSink>().toMatchTypeOf<EventSink>();
    expectTypeOf<MemoryEventSink>().toMatchTypeOf<EventSink>();
    expectTypeOf(withEventId(drafts[0]!)).toEqualTypeOf<ImEvent>();
  });
});

describe('imEventId', () => {
  it('same occurrence, same id - at any time; for messages, on any gateway', () => {
    for (const d of drafts) {
      const message = d.type !== 'login' && d.type !== 'logout';
      const again = { ...d, at: d.at + 5_000, ...(message ? { nodeId: 'gw-b' } : {}) } as ImEventDraft;
      expect(imEventId(d)).toBe(imEventId(again));
      expect(imEventId(d)).toMatch(/^[0-9a-f]{32}$/);
    }
    expect(new Set(drafts.map(imEventId)).size).toBe(drafts.length);
    expect(drafts.map((d) => d.type)).toEqual(IM_EVENT_TYPES);
  });

  it('different occurrences, different ids - no ambiguity from separators in user ids', () => {
    const a: ImEventDraft = { ...base, type: 'c2c.delivered', from: 'a:b', to: 'c', fp: 'f', typeu: 0, dataContent: null, latencyMs: 1 };
    const b: ImEventDraft = { ...base, type: 'c2c.delivered', from: 'a', to: 'b:c', fp: 'f', typeu: 0, dataContent: null, latencyMs: 1 };
    expect(imEventId(a)).not.toBe(imEventId(b));
    expect(imEventId(drafts[0]!)).not.toBe(imEventId({ ...drafts[0]!, nodeId: 'gw-b' } as ImEventDraft));
    const c2sNoFp: ImEventDraft = { ...base, type: 'c2s', from: 'alice', fp: null, typeu: 0, dataContent: 'x' };
    expect(imEventId(c2sNoFp)).not.toBe(imEventId(c2sNoFp));
    expect(withEventId(drafts[2]!)).toEqual({ ...drafts[2], id: imEventId(drafts[2]!) });
  });
});

describe('withEventId', () => {
  it('a copy of the draft with its id; keys in the order of docs/events.md (type, id, then the rest); the draft untouched', () => {
    for (const d of drafts) {
      const before = JSON.stringify(d);
      const e = withEventId(d);
      expect(e).not.toBe(d);
      expect(JSON.stringify(d)).toBe(before);
      expect(e).toEqual({ ...d, id: imEventId(d) });
      expect(Object.keys(e).slice(0, 2)).toEqual(['type', 'id']);
      expect(new Set(Object.keys(e))).toEqual(new Set([...Object.keys(d), 'id']));
    }
  });
});

describe('fanOut', () => {
  const e = withEventId(drafts[0]!);

  it('publish - every sink gets the event; resolves when all did', async () => {
    const a = new MemoryEventSink();
    const b = new MemoryEventSink();
    b.delayMs = 30;
    const both = fanOut([a, b]);
    const t0 = performance.now();
    await both.publish(e);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(25);
    expect(a.events).toEqual([e]);
    expect(b.events).toEqual([e]);
  });

  it('publish - rejects with the first failing sink error once all settled; the others still got it', async () => {
    const a = new MemoryEventSink();
    const b = new MemoryEventSink();
    const c = new MemoryEventSink();
    const err = new UnavailableError('b down');
    b.failNextPublish(err);
    c.failNextPublish(new Error('c down'));
    await expect(fanOut([a, b, c]).publish(e)).rejects.toBe(err);
    expect(a.events).toEqual([e]);
    const thrower: EventSink = {
      publish: () => {
        throw new Error('sync');
      },
      close: () => Promise.resolve(),
    };
    await expect(fanOut([a, thrower]).publish(e)).rejects.toThrow('sync');
    expect(a.events).toHaveLength(2);
  });

  it('close - closes every sink once; a single sink is passed through; no sink is a no-op', async () => {
    const a = new MemoryEventSink();
    const b = new MemoryEventSink();
    const both = fanOut([a, b]);
    const p = both.close();
    expect(both.close()).toBe(p);
    await p;
    expect(a.closed && b.closed).toBe(true);
    expect(fanOut([a])).toBe(a);
    const none = fanOut([]);
    await none.publish(e);
    await none.close();
    await nullEventSink().publish(e);
  });
});

describe('MemoryEventSink', () => {
  it('records in order, filters by type, injects failures, refuses after close', async () => {
    const s = new MemoryEventSink();
    for (const d of drafts) await s.publish(withEventId(d));
    expect(s.events.map((x) => x.type)).toEqual(IM_EVENT_TYPES);
    const delivered = s.ofType('c2c.delivered');
    expectTypeOf(delivered).toEqualTypeOf<Array<Extract<ImEvent, { type: 'c2c.delivered' }>>>();
    expect(delivered[0]!.latencyMs).toBe(2);
    s.failNextPublish(undefined, 2);
    await expect(s.publish(withEventId(drafts[0]!))).rejects.toMatchObject({ code: ImErrorCode.UNAVAILABLE });
    await expect(s.publish(withEventId(drafts[0]!))).rejects.toMatchObject({ code: ImErrorCode.UNAVAILABLE });
    await s.publish(withEventId(drafts[0]!));
    expect(s.events).toHaveLength(drafts.length + 1);
    await s.close();
    await expect(s.publish(withEventId(drafts[0]!))).rejects.toMatchObject({ code: ImErrorCode.UNAVAILABLE });
  });
});
