import { describe, expect, it } from 'vitest';
import { asConnId, asNodeId, asUserId } from '@switchboard/core';
import type { BridgeMessage } from '../../src/bridge.js';
import {
  MalformedBridgeMessage,
  decodeBridgeMessage,
  encodeBridgeBatch,
  encodeBridgeMessage,
  isBridgeBatch,
  splitBridgeBody,
} from '../../src/amqp/index.js';

// Pure codec tests (no broker); they live here because this package's unit folder is not ours to extend.
const origin = asNodeId('gw-1');

describe('bridge codec', () => {
  it('encode - deliver carries the packet verbatim after one JSON head line', () => {
    const packet = '{"type":2,\n "dataContent":"a\\"b"}';
    const body = encodeBridgeMessage({ type: 'deliver', origin, from: asUserId('s'), to: asUserId('u'), fp: 'f', packet });
    expect(body.toString('utf8')).toBe(`{"type":"deliver","origin":"gw-1","from":"s","to":"u","fp":"f"}\n${packet}`);
  });

  it('decode - a deliver head without from (a gateway of an earlier version) takes the packet\'s sender', () => {
    const m = decodeBridgeMessage(Buffer.from('{"type":"deliver","origin":"o","to":"u","fp":"f"}\n{"type":2,"from":"alice","to":"u"}'));
    expect(m).toMatchObject({ type: 'deliver', from: 'alice', to: 'u', fp: 'f' });
    expect(() => decodeBridgeMessage(Buffer.from('{"type":"deliver","origin":"o","to":"u","fp":"f"}\nnot json'))).toThrow(MalformedBridgeMessage);
  });

  it('encode - sends only the fields of the type', () => {
    const msg = { type: 'control', origin, action: 'drain', secret: 'x' } as BridgeMessage;
    expect(JSON.parse(encodeBridgeMessage(msg).toString('utf8'))).toEqual({ type: 'control', origin, action: 'drain' });
  });

  it('decode - round-trips every type', () => {
    const all: BridgeMessage[] = [
      { type: 'deliver', origin, from: asUserId('s'), to: asUserId('ü'), fp: null, packet: '\n\n' },
      { type: 'ack', origin, fp: 'f', from: asUserId('a'), to: asUserId('b') },
      { type: 'miss', origin, fp: 'f', from: asUserId('a'), to: asUserId('b') },
      { type: 'kick', origin, userId: asUserId('u'), connId: asConnId('c'), code: 4501, reason: null },
      { type: 'push', origin, to: asUserId('p'), fp: 'f2', dataContent: '{"x":1}\n', typeu: -1, qos: false },
      { type: 'control', origin, action: 'drain' },
      { type: 'group', origin, gid: 'team', seq: 3, fp: 'gf', qos: true, members: [asUserId('m1'), asUserId('m\n2')], packet: '{"type":2}\n' },
      { type: 'group', origin, gid: 'team', seq: 4, fp: 'gg', qos: false, members: [asUserId('m1')], packet: '{"type":2}', sentAt: 1_700_000_000_123 },
      { type: 'notify', origin, to: asUserId('n'), feature: 'notices', packet: '{"type":60,"dataContent":"{\\"kind\\":\\"read\\"}"}\n' },
      { type: 'presence', origin, changes: [{ uid: asUserId('p'), online: false, at: 7 }] },
      { type: 'push', origin, to: asUserId('p'), fp: 'f3', dataContent: 'as alice', typeu: 1, qos: true, from: asUserId('alice') },
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
      '{"type":"miss","origin":"o","fp":"f","to":"b"}',
      '{"type":"miss","origin":"o","fp":null,"from":"a","to":"b"}',
      '{"type":"group","origin":"o","gid":"g","seq":1,"fp":"f","qos":true,"members":[],"sentAt":"1"}\n{}',
      '{"type":"group","origin":"o","gid":"g","seq":1,"fp":"f","qos":true,"members":[],"sentAt":1.5}\n{}',
      '{"type":"miss","origin":"o","fp":"f","from":"a","to":"b"}\nextra',
      '{"type":"kick","origin":"o","userId":"u","connId":"c","code":1.5,"reason":null}',
      '{"type":"kick","origin":"o","userId":"u","connId":"c","code":4000,"reason":7}',
      '{"type":"control","origin":"o","action":"reboot"}',
      '{"type":"control","origin":"o","action":"drain"}\nextra',
      '{"type":"nope","origin":"o"}',
      '{"type":"group","origin":"o","gid":"g","seq":1,"fp":"f","qos":true,"members":["a"]}',
      '{"type":"group","origin":"o","gid":"g","seq":-1,"fp":"f","qos":true,"members":["a"]}\n{}',
      '{"type":"group","origin":"o","gid":"g","seq":1,"fp":"f","qos":true,"members":[1]}\n{}',
      '{"type":"presence","origin":"o"}',
      '{"type":"presence","origin":"o","changes":[["u",2,5]]}',
      '{"type":"presence","origin":"o","changes":[["u",1,1.5]]}',
      '{"type":"presence","origin":"o","changes":[[7,1,5]]}',
      '{"type":"presence","origin":"o","changes":["u"]}',
    ];
    for (const b of bad) expect(() => decodeBridgeMessage(Buffer.from(b)), b).toThrow(MalformedBridgeMessage);
  });

  it('batch - a lone item is a plain version-1 body; two or more get the batch head', () => {
    const one = encodeBridgeMessage({ type: 'control', origin, action: 'drain' });
    expect(encodeBridgeBatch([one])).toBe(one);
    const two = encodeBridgeBatch([one, one]);
    expect(two.toString('utf8')).toBe(`{"type":"batch","sizes":[${one.length},${one.length}]}\n${one.toString('utf8')}${one.toString('utf8')}`);
    expect(isBridgeBatch(two)).toBe(true);
    expect(isBridgeBatch(one)).toBe(false);
    expect(() => encodeBridgeBatch([])).toThrow(RangeError);
    expect(() => encodeBridgeBatch([one, Buffer.alloc(0)])).toThrow(RangeError);
  });

  it('batch - splits back into the items in order, each decoding to its message', () => {
    const all: BridgeMessage[] = [
      { type: 'deliver', origin, from: asUserId('s'), to: asUserId('ü'), fp: 'f1', packet: '{"type":2,\n"dataContent":"😀"}\n' },
      { type: 'ack', origin, fp: 'f', from: asUserId('a'), to: asUserId('b') },
      { type: 'deliver', origin, from: asUserId('s'), to: asUserId('u'), fp: null, packet: '' },
      { type: 'kick', origin, userId: asUserId('u'), connId: asConnId('c'), code: 4501, reason: 'x\ny' },
      { type: 'control', origin, action: 'drain' },
    ];
    const body = encodeBridgeBatch(all.map(encodeBridgeMessage));
    expect(splitBridgeBody(body).map(decodeBridgeMessage)).toEqual(all);
  });

  it('batch - a plain version-1 body splits into itself (bodies from nodes that do not batch)', () => {
    const body = encodeBridgeMessage({ type: 'ack', origin, fp: 'f', from: asUserId('a'), to: asUserId('b') });
    const items = splitBridgeBody(body);
    expect(items).toHaveLength(1);
    expect(items[0]?.equals(body)).toBe(true);
    // Not a batch either: decodeBridgeMessage judges it.
    expect(splitBridgeBody(Buffer.from('not json'))).toHaveLength(1);
  });

  it('batch - rejects a head it cannot trust', () => {
    const item = '{"type":"control","origin":"o","action":"drain"}';
    const n = item.length;
    const bad = [
      '{"type":"batch",',
      `{"type":"batch","sizes":[${n},${n}]}`, // no line feed
      `{"type":"batch","sizes":[${n},${n}}\n${item}${item}`, // head is not JSON
      `{"type":"batch","sizes":[${n}]}\n${item}`, // a batch has two or more items
      `{"type":"batch","sizes":"${n},${n}"}\n${item}${item}`,
      `{"type":"batch","sizes":[${n},0]}\n${item}`,
      `{"type":"batch","sizes":[${n},-1]}\n${item}`,
      `{"type":"batch","sizes":[${n},1.5]}\n${item}${item}`,
      `{"type":"batch","sizes":[${n},${n}]}\n${item}${item}x`, // sizes short of the body
      `{"type":"batch","sizes":[${n},${n + 1}]}\n${item}${item}`, // sizes beyond the body
    ];
    for (const b of bad) expect(() => splitBridgeBody(Buffer.from(b)), b).toThrow(MalformedBridgeMessage);
    // A version-1 node sees a batch as an unknown message type (logged and dropped there).
    expect(() => decodeBridgeMessage(Buffer.from(`{"type":"batch","sizes":[${n},${n}]}\n${item}${item}`))).toThrow(MalformedBridgeMessage);
  });

  it('batch - a bad item is only that item: its neighbours still decode', () => {
    const good = encodeBridgeMessage({ type: 'control', origin, action: 'drain' });
    const body = encodeBridgeBatch([good, Buffer.from('{"type":"nope"}'), good]);
    const out = splitBridgeBody(body).map((b) => {
      try {
        return decodeBridgeMessage(b);
      } catch (err) {
        return err;
      }
    });
    expect(out[0]).toEqual({ type: 'control', origin, action: 'drain' });
    expect(out[1]).toBeInstanceOf(MalformedBridgeMessage);
    expect(out[2]).toEqual({ type: 'control', origin, action: 'drain' });
  });
});
