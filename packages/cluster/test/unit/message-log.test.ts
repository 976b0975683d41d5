import { describe, expect, it } from 'vitest';
import type { UserId } from '@switchboard/core';
import { MessageLog } from '../../src/memory/message-log.js';

const m = (seq: number, fp = `fp-${seq}`) => ({ seq, fp, from: 'a' as UserId, to: 'b', dataContent: `m${seq}`, typeu: 0, sentAt: seq });

describe('MessageLog', () => {
  it('get and seqOf - below and above the scan threshold, the newest seq of a reused fp', () => {
    const log = new MessageLog();
    for (let s = 1; s <= 5; s++) log.push(m(s));
    log.push(m(6, 'fp-2')); // a reused fp names the newer message
    expect(log.seqOf('fp-2')).toBe(6);
    expect(log.seqOf('fp-3')).toBe(3);
    expect(log.seqOf('nope')).toBeUndefined();
    for (let s = 7; s <= 20; s++) log.push(m(s)); // past the threshold: the fp index takes over
    expect(log.seqOf('fp-2')).toBe(6);
    expect(log.seqOf('fp-20')).toBe(20);
    expect(log.get(20)?.dataContent).toBe('m20');
    expect(log.get(0)).toBeUndefined();
    expect(log.get(21)).toBeUndefined();
    expect(log.size).toBe(20);
  });

  it('dropOldest - moves lo, forgets the fp unless a newer message reuses it, and stays right across compactions', () => {
    const log = new MessageLog();
    for (let s = 1; s <= 500; s++) log.push(m(s, s === 300 ? 'fp-1' : `fp-${s}`));
    log.dropOldest(); // seq 1, whose fp seq 300 reuses
    expect(log.lo).toBe(2);
    expect(log.get(1)).toBeUndefined();
    expect(log.seqOf('fp-1')).toBe(300);
    for (let i = 0; i < 400; i++) log.dropOldest(); // several compactions
    expect(log.lo).toBe(402);
    expect(log.size).toBe(99);
    expect(log.oldest()?.seq).toBe(402);
    expect(log.get(401)).toBeUndefined();
    expect(log.get(450)?.seq).toBe(450);
    expect(log.seqOf('fp-100')).toBeUndefined();
    expect(log.seqOf('fp-1')).toBeUndefined();
    expect(log.seqOf('fp-500')).toBe(500);
    log.push(m(501));
    expect(log.get(501)?.seq).toBe(501);
    while (log.size > 0) log.dropOldest();
    expect(log.oldest()).toBeUndefined();
    expect(log.lo).toBe(502);
    log.dropOldest(); // empty: nothing happens
    expect(log.lo).toBe(502);
  });
});
