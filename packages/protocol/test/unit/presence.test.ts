import { describe, expect, it } from 'vitest';
import { isSignalTypeu, MAX_WATCH_UIDS, noticePacket, parseWatchList, TYPING_TYPEU, WATCH_TYPEU } from '../../src/index.js';

describe('presence wire forms', () => {
  it('parseWatchList - distinct non-empty string ids, capped; anything but a JSON array is null', () => {
    expect(parseWatchList('["bob","carol","bob","",7,null]')).toEqual(['bob', 'carol']);
    expect(parseWatchList('[]')).toEqual([]);
    expect(parseWatchList(JSON.stringify(Array.from({ length: 900 }, (_, i) => `u${i}`)))).toHaveLength(MAX_WATCH_UIDS);
    expect(parseWatchList(JSON.stringify(['x'.repeat(129), 'ok']))).toEqual(['ok']);
    for (const bad of [null, '', '{', '{"a":1}', '"bob"', '1', 'x'.repeat(200_000)]) expect(parseWatchList(bad)).toBeNull();
  });

  it('typeu - typing and watch lists are the reserved signals', () => {
    expect([TYPING_TYPEU, WATCH_TYPEU]).toEqual([-102, -103]);
    expect(isSignalTypeu(-102) && isSignalTypeu(-103)).toBe(true);
    expect(isSignalTypeu(-101) || isSignalTypeu(-1) || isSignalTypeu(0)).toBe(false);
  });

  it('notices - presence and typing notices are type 60 from the server', () => {
    const p = noticePacket('alice', { kind: 'presence', users: [{ uid: 'bob', online: false, lastSeen: 5 }] });
    expect(p).toMatchObject({ type: 60, from: '0', to: 'alice', QoS: false });
    expect(JSON.parse(p.dataContent!)).toEqual({ kind: 'presence', users: [{ uid: 'bob', online: false, lastSeen: 5 }] });
  });
});
