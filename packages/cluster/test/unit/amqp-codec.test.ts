import { describe, expect, it } from 'vitest';
import { asConnId, asNodeId, asUserId } from '@switchboard/core';
import type { BridgeMessage } from '../../src/bridge.js';
import { MalformedBridgeMessage, decodeBridgeMessage, encodeBridgeMessage } from '../../src/amqp/index.js';

// Pure codec tests (no broker); they live here because this package's unit folder is not ours to extend.
const origin = asNodeId('gw-1');

describe('bridge codec', () => {
  it('encode - deliver carries the packet verbatim after one JSON head line', () => {
    const packet = '{"type":2,\n "dataContent":"a\\"b"}';
    const body = encodeBridgeMessage({ type: 'deliver', origin, to: asUserId('u'), fp: 'f', packet });
    expect(body.toString('utf8')).toBe(`{"type":"deliver","origin":"gw-1","to":"u","fp":"f"}\n${packet}`);
  });

  it('encode - sends only the fields of the type', () => {
    const msg = { type: 'control', origin, action: 'drain', secret: 'x' } as BridgeMessage;
    expect(JSON.parse(encodeBridgeMessage(msg).toString('utf8'))).toEqual({ type: 'control', origin, action: 'drain' });
  });

  it('decode - round-trips every type', () => {
    const all: BridgeMessage[] = [
      { type: 'deliver', origin, to: asUserId('ü'), fp: null, packet: '\n\n' },
      { type: 'ack', origin, fp: 'f', from: asUserId('a'), to: asUserId('b') },
      { type: 'kick', origin, userId: asUserId('u'), connId: asConnId('c'), code: 4501, reason: null },
      { type: 'push', origin, to: asUserId('p'), fp: 'f2', dataContent: '{"x":1}\n', typeu: -1, qos: false },
      { type: 'control', origin, action: 'drain' },
    ];
    for (const m of all) expect(decodeBridgeMessage(encodeBridgeMessage(m))).toEqual(m);
  });

  it('decode - rejects what it cannot trust', () => {
    const bad = [
      '',
      'null',
      '"str"',
      '{"type":"deliver","origin":"o","to":"u","fp":null}',
      '{"type":"deliver","origin":1,"to":"u","fp":null}\n{}',
      '{"type":"deliver","origin":"o","to":"u","fp":3}\n{}',
      '{"type":"ack","origin":"o","fp":"f","from":"a"}',
      '{"type":"kick","origin":"o","userId":"u","connId":"c","code":1.5,"reason":null}',
      '{"type":"kick","origin":"o","userId":"u","connId":"c","code":4000,"reason":7}',
      '{"type":"control","origin":"o","action":"reboot"}',
      '{"type":"control","origin":"o","action":"drain"}\nextra',
      '{"type":"nope","origin":"o"}',
    ];
    for (const b of bad) expect(() => decodeBridgeMessage(Buffer.from(b)), b).toThrow(MalformedBridgeMessage);
  });
});
