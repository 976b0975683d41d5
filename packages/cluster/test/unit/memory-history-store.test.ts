import { describe, expect, it } from 'vitest';
import { asUserId, InvalidArgumentError } from '@switchboard/core';
import { MemoryHistoryStore } from '../../src/memory/memory-history-store.js';
import {
  conversationRef,
  groupConversation,
  parseConversation,
  peerConversation,
  type ConversationId,
} from '../../src/history-store.js';
import { historyStoreContract } from '../contract/history-store.contract.js';

historyStoreContract('MemoryHistoryStore', async (opts) => {
  let t = Date.now();
  const store = new MemoryHistoryStore({ ...opts, now: () => t });
  return {
    store,
    twin: async () => store,
    now: () => t,
    elapse: async (ms) => void (t += ms),
    cleanup: async () => {},
  };
});

describe('MemoryHistoryStore options', () => {
  it('refuses a non-positive maxPerConversation or ttlMs', () => {
    for (const bad of [0, -1, 1.5, NaN]) expect(() => new MemoryHistoryStore({ maxPerConversation: bad }), String(bad)).toThrow(InvalidArgumentError);
    for (const bad of [0, -5, NaN]) expect(() => new MemoryHistoryStore({ ttlMs: bad }), String(bad)).toThrow(InvalidArgumentError);
  });
});

describe('conversation ids', () => {
  const u = asUserId;

  it('peerConversation - one id per pair, whichever user comes first', () => {
    expect(peerConversation(u('bob'), u('alice'))).toBe('p:5:alicebob');
    expect(peerConversation(u('alice'), u('bob'))).toBe('p:5:alicebob');
    // The length prefix keeps pairs that concatenate alike apart.
    expect(peerConversation(u('ab'), u('c'))).not.toBe(peerConversation(u('a'), u('bc')));
    expect(peerConversation(u('a'), u('a'))).toBe('p:1:aa');
  });

  it('parseConversation - round-trips peers (any characters) and groups', () => {
    const pairs = [
      ['alice', 'bob'],
      ['1:x', '2'],
      ['p:3:abc', 'g:x'],
      ['用户', '🙂'],
      ['', 'solo'],
      ['{a}', '}b{'],
    ];
    for (const [a, b] of pairs) {
      const id = peerConversation(u(a!), u(b!));
      const expected = a! < b! ? [a, b] : [b, a];
      expect(parseConversation(id), id).toEqual({ users: expected });
    }
    expect(parseConversation(groupConversation('g1'))).toEqual({ group: 'g1' });
    expect(parseConversation(groupConversation('p:1:ab'))).toEqual({ group: 'p:1:ab' });
    expect(parseConversation(groupConversation(''))).toEqual({ group: '' });
  });

  it('parseConversation - malformed or non-canonical ids are InvalidArgumentError', () => {
    const bad = ['', 'x', 'p:', 'p:1', 'p:5:ab', 'p:a:b', 'p:-1:ab', 'P:1:ab', 'p:1:ba', 'p:01:ab', 'p:2:ba', 'p:99999999999:a'];
    for (const id of bad) expect(() => parseConversation(id as ConversationId), id).toThrow(InvalidArgumentError);
  });

  it('conversationRef - the other user, the group, or an error for a stranger', () => {
    const id = peerConversation(u('alice'), u('bob'));
    expect(conversationRef(id, u('alice'))).toEqual({ peer: 'bob' });
    expect(conversationRef(id, u('bob'))).toEqual({ peer: 'alice' });
    expect(conversationRef(peerConversation(u('me'), u('me')), u('me'))).toEqual({ peer: 'me' });
    expect(conversationRef(groupConversation('team'), u('anyone'))).toEqual({ group: 'team' });
    expect(() => conversationRef(id, u('carol'))).toThrow(InvalidArgumentError);
    expect(() => conversationRef('nope' as ConversationId, u('alice'))).toThrow(InvalidArgumentError);
  });
});
