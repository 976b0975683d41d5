import { describe, expect, it } from 'vitest';
import { Emitter, MessageStore, type ClientEvent, type SwitchboardClient } from '@switchboard/client';
import { DEFAULT_HISTORY_LINES, describeStored, parseHistoryCount, readNoticeLine, ReadMarker, stampOf } from '../../src/chat-history.js';

describe('terminal chat history helpers', () => {
  it('/history [n] - default 20; 1 to 200; anything else is refused', () => {
    expect(parseHistoryCount(undefined)).toBe(DEFAULT_HISTORY_LINES);
    expect(parseHistoryCount('1')).toBe(1);
    expect(parseHistoryCount('200')).toBe(200);
    for (const bad of ['0', '201', '-1', 'x', '1.5', '1e2']) expect(parseHistoryCount(bad), bad).toBeNull();
  });

  it('stamps and lines - time of day today, the date before; seq and direction', () => {
    const now = new Date(2026, 11, 6, 15, 0, 0).getTime();
    expect(stampOf(new Date(2026, 11, 6, 9, 5, 7).getTime(), now)).toBe('09:05:07');
    expect(stampOf(new Date(2026, 11, 5, 23, 59, 59).getTime(), now)).toBe('2026-12-05 23:59:59');
    const m = { seq: 3, fp: 'f', from: 'bob', to: 'alice', content: 'hi', typeu: -1, sentAt: now };
    expect(describeStored(m, 'alice')).toBe('seq 3 ← bob: hi');
    expect(describeStored({ ...m, from: 'alice', to: 'bob' }, 'alice')).toBe('seq 3 → bob: hi');
  });

  it('read notices - a line once per own message newly covered, none for notices covering nothing of ours', () => {
    const events = new Emitter<ClientEvent>();
    const c = { on: events.on.bind(events), send: () => new Promise(() => {}) } as unknown as SwitchboardClient;
    const store = new MessageStore(c);
    const a = store.send('bob', 'one');
    const b = store.send('bob', 'two');
    events.emit({ type: 'acked', fp: a.id, to: 'bob', seq: 2 });
    events.emit({ type: 'acked', fp: b.id, to: 'bob', seq: 4 });
    const reported = new Map<string, number>();
    expect(readNoticeLine(store, reported, 'bob', 1)).toBeNull();
    expect(readNoticeLine(store, reported, 'bob', 4)).toBe('  ✓✓ bob read your messages up to seq 4');
    expect(readNoticeLine(store, reported, 'bob', 4)).toBeNull();
    expect(readNoticeLine(store, reported, 'bob', 5)).toBeNull();
    expect(readNoticeLine(store, reported, 'carol', 9)).toBeNull();
  });

  it('read marker - one request at a time per peer, later seqs coalesced; a failure reported once until a success', async () => {
    const calls: Array<[string, number]> = [];
    let release: (() => void) | null = null;
    let fail = false;
    const client = {
      markRead: (peer: string, seq: number) => {
        calls.push([peer, seq]);
        return new Promise<void>((resolve, reject) => {
          release = () => (fail ? reject(new Error('404 history_off')) : resolve());
        });
      },
    } as unknown as SwitchboardClient;
    const lines: string[] = [];
    const marker = new ReadMarker(client, (l) => lines.push(l));
    const settle = async () => {
      release!();
      for (let i = 0; i < 5; i++) await Promise.resolve();
    };
    marker.seen('bob', 1);
    marker.seen('bob', 2);
    marker.seen('bob', 3);
    expect(calls).toEqual([['bob', 1]]);
    await settle();
    expect(calls).toEqual([['bob', 1], ['bob', 3]]);
    fail = true;
    await settle();
    marker.seen('bob', 4);
    await settle();
    expect(lines).toEqual(['* read marker with bob not saved: 404 history_off']);
    expect(calls.at(-1)).toEqual(['bob', 4]);
  });
});
