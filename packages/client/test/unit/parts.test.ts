import { describe, expect, expectTypeOf, it } from 'vitest';
import { SENSE_MODES } from '@switchboard/protocol';
import {
  ClientError,
  type ClientOptions,
  DedupeWindow,
  DEFAULT_DEDUPE_TTL_MS,
  DEFAULT_QOS_CHECK_INTERVAL_MS,
  DEFAULT_QOS_JUST_SENT_MS,
  DEFAULT_QOS_MAX_RETRIES,
  DEFAULT_RECONNECT_POLICY,
  DEFAULT_SENSE_MODE,
  Emitter,
  MessageLostError,
  newFingerprint,
  parseDispatchInfo,
  reconnectDelayMs,
  type ChatMessage,
  type ClientEvent,
  type ClientState,
  type Conversation,
  type IncomingMessage,
  type SendResult,
  type StoredMessage,
  type SwitchboardClient,
} from '../../src/index.js';
import { createNodeClient, tcpTransport, wsTransport } from '../../src/node/index.js';

describe('defaults', () => {
  it('constants - QoS and dedupe are MobileIMSDK\'s client constants (5000 / 3000 / 2 retries, 10 min)', () => {
    expect(DEFAULT_QOS_CHECK_INTERVAL_MS).toBe(5_000);
    expect(DEFAULT_QOS_JUST_SENT_MS).toBe(3_000);
    expect(DEFAULT_QOS_MAX_RETRIES).toBe(2);
    expect(DEFAULT_DEDUPE_TTL_MS).toBe(600_000);
    expect(Object.hasOwn(SENSE_MODES, DEFAULT_SENSE_MODE)).toBe(true);
  });
  it('constants - the reconnect policy equals what dispatch hands out by default', () => {
    expect(DEFAULT_RECONNECT_POLICY).toEqual({ initialDelayMs: 500, maxDelayMs: 15_000, multiplier: 2, jitter: 0.5 });
  });
});

describe('reconnectDelayMs', () => {
  const p = { initialDelayMs: 500, maxDelayMs: 15_000, multiplier: 2, jitter: 0.5 };
  it('backoff - grows by the multiplier and stops at the maximum', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 40].map((a) => reconnectDelayMs(a, p, () => 0))).toEqual([500, 1000, 2000, 4000, 8000, 15000, 15000, 15000]);
  });
  it('jitter - takes away up to `jitter` of the delay at random', () => {
    expect(reconnectDelayMs(2, p, () => 1)).toBe(1000);
    expect(reconnectDelayMs(2, p, () => 0.5)).toBe(1500);
    const many = Array.from({ length: 200 }, () => reconnectDelayMs(3, p));
    expect(Math.min(...many)).toBeGreaterThanOrEqual(2000);
    expect(Math.max(...many)).toBeLessThanOrEqual(4000);
    expect(new Set(many).size).toBeGreaterThan(20);
  });
});

describe('parseDispatchInfo', () => {
  it('answer - reads node, ws, tcp, sense mode and reconnect policy', () => {
    expect(
      parseDispatchInfo({
        node: 'gw-1',
        ws: 'ws://h:1/websocket',
        tcp: { host: 'h', port: 2 },
        udp: { host: 'h', port: 0 },
        senseMode: '5S',
        reconnect: { initialDelayMs: 1, maxDelayMs: 2, multiplier: 2, jitter: 0.1 },
      }),
    ).toEqual({ node: 'gw-1', ws: 'ws://h:1/websocket', tcp: { host: 'h', port: 2 }, senseMode: '5S', reconnect: { initialDelayMs: 1, maxDelayMs: 2, multiplier: 2, jitter: 0.1 } });
  });
  it('answer - tolerates missing or odd optional parts, refuses one without node or ws', () => {
    expect(parseDispatchInfo({ node: 'n', ws: 'w', senseMode: '7S', reconnect: { initialDelayMs: -1 } })).toEqual({ node: 'n', ws: 'w', tcp: null, senseMode: null, reconnect: null });
    expect(() => parseDispatchInfo({ ws: 'w' })).toThrow(ClientError);
    expect(() => parseDispatchInfo('nope')).toThrow(/node/);
  });
});

describe('DedupeWindow', () => {
  it('window - a key is a duplicate within the TTL and new again after it; expired keys are dropped', () => {
    let now = 0;
    const w = new DedupeWindow(600_000, () => now);
    expect(w.seenBefore('a')).toBe(false);
    expect(w.seenBefore('a')).toBe(true);
    now = 300_000;
    expect(w.seenBefore('b')).toBe(false);
    now = 599_999;
    expect(w.seenBefore('a')).toBe(true);
    now = 600_000;
    expect(w.seenBefore('c')).toBe(false);
    expect(w.size).toBe(2); // 'a' expired and was dropped
    expect(w.seenBefore('a')).toBe(false);
  });
});

describe('Emitter', () => {
  it('events - typed listeners, once, onAny and unsubscribe; a throwing listener does not stop the others', async () => {
    type E = { type: 'a'; n: number } | { type: 'b' };
    const em = new Emitter<E>();
    const got: string[] = [];
    const off = em.on('a', (e) => got.push(`a${e.n}`));
    em.once('b', () => got.push('b-once'));
    em.on('a', () => {
      throw new Error('listener bug');
    });
    em.onAny((e) => got.push(`any-${e.type}`));
    const errors: unknown[] = [];
    const onErr = (err: unknown) => errors.push(err);
    process.on('uncaughtException', onErr);
    em.emit({ type: 'a', n: 1 });
    em.emit({ type: 'b' });
    em.emit({ type: 'b' });
    off();
    em.emit({ type: 'a', n: 2 });
    await new Promise((r) => setTimeout(r, 10));
    process.off('uncaughtException', onErr);
    expect(got).toEqual(['a1', 'any-a', 'b-once', 'any-b', 'any-b', 'any-a']);
    expect(errors).toHaveLength(2);
  });
});

describe('newFingerprint', () => {
  it('fingerprint - a random UUID v4, as MobileIMSDK\'s Java SDK makes', () => {
    const fps = new Set(Array.from({ length: 1000 }, () => newFingerprint()));
    expect(fps.size).toBe(1000);
    for (const fp of [...fps].slice(0, 50)) expect(fp).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('public types', () => {
  it('types - send, events and errors have the documented shapes', () => {
    expectTypeOf<SwitchboardClient['send']>().parameters.toEqualTypeOf<[to: string, content: string, opts?: { qos?: boolean; typeu?: number; fp?: string; timeoutMs?: number }]>();
    expectTypeOf<SwitchboardClient['send']>().returns.toEqualTypeOf<Promise<SendResult>>();
    expectTypeOf<SendResult>().toEqualTypeOf<{ fp: string | null; acked: boolean; seq: number | null }>();
    expectTypeOf<SwitchboardClient['connect']>().returns.toEqualTypeOf<Promise<void>>();
    expectTypeOf<ClientState>().toEqualTypeOf<'idle' | 'connecting' | 'online' | 'reconnecting' | 'kicked' | 'rejected' | 'closed'>();
    expectTypeOf<ClientEvent['type']>().toEqualTypeOf<'state' | 'login' | 'reconnect' | 'message' | 'acked' | 'lost' | 'receipt' | 'read' | 'gap' | 'restart' | 'presence' | 'typing' | 'kicked' | 'error' | 'ping' | 'pong'>();
    expectTypeOf<Extract<ClientEvent, { type: 'restart' }>>().toEqualTypeOf<{ type: 'restart'; peer: string; group?: string; seq: number }>();
    expectTypeOf<Extract<ClientEvent, { type: 'read' }>>().toEqualTypeOf<{ type: 'read'; peer: string; seq: number; group?: string }>();
    expectTypeOf<Extract<ClientEvent, { type: 'presence' }>>().toEqualTypeOf<{ type: 'presence'; uid: string; online: boolean; lastSeen?: number }>();
    expectTypeOf<Extract<ClientEvent, { type: 'typing' }>>().toEqualTypeOf<{ type: 'typing'; from: string; group?: string }>();
    expectTypeOf<SwitchboardClient['presence']>().returns.toEqualTypeOf<Promise<Array<{ uid: string; online: boolean; lastSeen?: number }>>>();
    expectTypeOf<SwitchboardClient['sendTyping']>().parameters.toEqualTypeOf<[target: string | { group: string }]>();
    expectTypeOf<SwitchboardClient['resume']>().returns.toEqualTypeOf<Promise<void>>();
    expectTypeOf<IncomingMessage['seq']>().toEqualTypeOf<number | null>();
    expectTypeOf<IncomingMessage['sentAt']>().toEqualTypeOf<number | null>();
    expectTypeOf<SwitchboardClient['history']>().returns.toEqualTypeOf<Promise<StoredMessage[]>>();
    expectTypeOf<SwitchboardClient['conversations']>().returns.toEqualTypeOf<Promise<Conversation[]>>();
    expectTypeOf<SwitchboardClient['sendToGroup']>().parameters.toEqualTypeOf<[gid: string, content: string, opts?: { qos?: boolean; typeu?: number; fp?: string; timeoutMs?: number }]>();
    expectTypeOf<IncomingMessage['group']>().toEqualTypeOf<string | null>();
    const client = {} as SwitchboardClient;
    expectTypeOf(() => client.markRead('bob', 1)).returns.toEqualTypeOf<Promise<{ peer: string; readSeq: number }>>();
    expectTypeOf(() => client.markRead({ group: 'team' }, 1)).returns.toEqualTypeOf<Promise<{ group: string; readSeq: number }>>();
    expectTypeOf<Extract<ClientEvent, { type: 'lost' }>['error']>().toEqualTypeOf<MessageLostError>();
    expectTypeOf<MessageLostError>().toExtend<ClientError>();
    expectTypeOf<ChatMessage['state']>().toEqualTypeOf<'sending' | 'sent' | 'delivered' | 'read' | 'failed' | 'received'>();
    // `on` narrows the listener's event by its type.
    const c = {} as SwitchboardClient;
    expectTypeOf(c.on<'message'>).parameter(1).parameter(0).toHaveProperty('message');
    expectTypeOf(c.on<'kicked'>).parameter(1).parameter(0).toEqualTypeOf<{ type: 'kicked'; code: number; reason: string | null }>();
    expectTypeOf(createNodeClient).returns.toEqualTypeOf<SwitchboardClient>();
    expectTypeOf(wsTransport().kind).toEqualTypeOf<'ws' | 'tcp'>();
    expectTypeOf(tcpTransport).toBeFunction();
    expectTypeOf<ClientOptions['getToken']>().toEqualTypeOf<((ctx: { uid: string; reason: 'connect' | 'reconnect' | 'refresh' }) => Promise<string> | string) | undefined>();
  });
});
