import type { ConnId, NodeId, UserId } from '@switchboard/core';
import type { BridgeMessage, PresenceChange } from '../bridge.js';

/**
 * Wire encoding of a BridgeMessage in an AMQP body (UTF-8), version 1:
 *
 *     <head JSON>            for ack, miss, kick, push, control, notify, presence: the whole message as one JSON object
 *     <head JSON>\n<packet>  for deliver: head = {type,origin,from,to,fp}; the packet follows raw
 *     <head JSON>\n<packet>  for group: head = {type,origin,gid,seq,fp,qos,members[,sentAt]}
 *
 * `from` (the sender) was added to deliver heads later; a head without it (from a gateway of an
 * earlier version, during a rolling upgrade) gets it from the packet's own `from`. Likewise `sentAt`
 * (the group history's send time of the message) in group heads: without it, the receiving gateway
 * uses its arrival time.
 *
 * `JSON.stringify` never emits a raw line feed, so the first `\n` always ends the head and the
 * packet (already JSON text from the client) travels verbatim: no second escaping, no AMQP header
 * table (amqplib encodes tables field by field, slower than one JSON.stringify). Only known fields
 * are written, and decoding checks every field's type and builds a fresh object.
 *
 * Version 2 adds the batch body (several messages to one node in one AMQP message):
 *
 *     {"type":"batch","sizes":[n1,n2,...]}\n<item 1><item 2>...
 *
 * where each item is a version-1 body of exactly `n_i` bytes, in send order. A batch carries at least
 * two items: a lone message is always sent as a plain version-1 body, so a node running version-1 code
 * still understands every body a version-2 node sends while it is not batching. Decoding accepts
 * both (`splitBridgeBody`): a body that does not start with `{"type":"batch",` is one version-1
 * message. A version-1 node receiving a batch rejects it as an unknown type (logged, dropped).
 */

const LF = 0x0a;

/** First bytes of every batch body (`encodeBridgeBatch` writes exactly this; no version-1 head starts so). */
const BATCH_PREFIX = Buffer.from('{"type":"batch",', 'utf8');

/** Encode `msg` for the bridge. Extra fields the caller may have attached are not sent. */
export function encodeBridgeMessage(msg: BridgeMessage): Buffer {
  switch (msg.type) {
    case 'deliver':
      return Buffer.from(
        `${JSON.stringify({ type: 'deliver', origin: msg.origin, from: msg.from, to: msg.to, fp: msg.fp })}\n${msg.packet}`,
        'utf8',
      );
    case 'ack':
    case 'miss':
      return Buffer.from(JSON.stringify({ type: msg.type, origin: msg.origin, fp: msg.fp, from: msg.from, to: msg.to }), 'utf8');
    case 'kick':
      return Buffer.from(
        JSON.stringify({
          type: 'kick',
          origin: msg.origin,
          userId: msg.userId,
          connId: msg.connId,
          code: msg.code,
          reason: msg.reason,
        }),
        'utf8',
      );
    case 'push':
      return Buffer.from(
        JSON.stringify({
          type: 'push',
          origin: msg.origin,
          to: msg.to,
          fp: msg.fp,
          dataContent: msg.dataContent,
          typeu: msg.typeu,
          qos: msg.qos,
          ...(msg.from === undefined ? {} : { from: msg.from }),
        }),
        'utf8',
      );
    case 'control':
      return Buffer.from(JSON.stringify({ type: 'control', origin: msg.origin, action: msg.action }), 'utf8');
    case 'group':
      return Buffer.from(
        `${JSON.stringify({ type: 'group', origin: msg.origin, gid: msg.gid, seq: msg.seq, fp: msg.fp, qos: msg.qos, members: msg.members, sentAt: msg.sentAt })}\n${msg.packet}`,
        'utf8',
      );
    case 'notify':
      return Buffer.from(JSON.stringify({ type: 'notify', origin: msg.origin, to: msg.to, feature: msg.feature, packet: msg.packet }), 'utf8');
    case 'presence':
      return Buffer.from(JSON.stringify({ type: 'presence', origin: msg.origin, changes: msg.changes.map((c) => [c.uid, c.online ? 1 : 0, c.at]) }), 'utf8');
  }
}

/** Why a body was not a valid bridge message. */
export class MalformedBridgeMessage extends Error {
  override name = 'MalformedBridgeMessage';
}

type Head = Record<string, unknown>;

function str(head: Head, key: string): string {
  const v = head[key];
  if (typeof v !== 'string') throw new MalformedBridgeMessage(`field ${key} is not a string`);
  return v;
}

function strOrNull(head: Head, key: string): string | null {
  const v = head[key];
  if (v === null) return null;
  if (typeof v !== 'string') throw new MalformedBridgeMessage(`field ${key} is not a string or null`);
  return v;
}

/** The `changes` of a presence message: `[uid, 1|0, at]` triples. */
function presenceChanges(v: unknown): PresenceChange[] {
  if (!Array.isArray(v)) throw new MalformedBridgeMessage('field changes is not an array');
  return v.map((c: unknown) => {
    if (!Array.isArray(c) || typeof c[0] !== 'string' || (c[1] !== 0 && c[1] !== 1) || typeof c[2] !== 'number' || !Number.isSafeInteger(c[2])) {
      throw new MalformedBridgeMessage('a presence change is not [uid, 0|1, at]');
    }
    return { uid: c[0] as UserId, online: c[1] === 1, at: c[2] };
  });
}

/** Decode a body written by `encodeBridgeMessage`. Throws MalformedBridgeMessage on anything else. */
export function decodeBridgeMessage(body: Buffer): BridgeMessage {
  const lf = body.indexOf(LF);
  const headText = body.toString('utf8', 0, lf < 0 ? body.length : lf);
  let parsed: unknown;
  try {
    parsed = JSON.parse(headText);
  } catch (err) {
    throw new MalformedBridgeMessage('head is not JSON', { cause: err });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new MalformedBridgeMessage('head is not an object');
  }
  const head = parsed as Head;
  const type = head['type'];
  if (type === 'deliver') {
    if (lf < 0) throw new MalformedBridgeMessage('deliver without packet');
    const packet = body.toString('utf8', lf + 1);
    return {
      type,
      origin: str(head, 'origin') as NodeId,
      from: (head['from'] === undefined ? senderOfPacket(packet) : str(head, 'from')) as UserId,
      to: str(head, 'to') as UserId,
      fp: strOrNull(head, 'fp'),
      packet,
    };
  }
  if (type === 'group') {
    if (lf < 0) throw new MalformedBridgeMessage('group without packet');
    return decodeGroup(head, body.toString('utf8', lf + 1));
  }
  if (lf >= 0) throw new MalformedBridgeMessage(`unexpected payload after ${String(type)} head`);
  switch (type) {
    case 'ack':
    case 'miss':
      return {
        type,
        origin: str(head, 'origin') as NodeId,
        fp: str(head, 'fp'),
        from: str(head, 'from') as UserId,
        to: str(head, 'to') as UserId,
      };
    case 'kick': {
      const code = head['code'];
      if (typeof code !== 'number' || !Number.isInteger(code)) throw new MalformedBridgeMessage('field code is not an integer');
      return {
        type,
        origin: str(head, 'origin') as NodeId,
        userId: str(head, 'userId') as UserId,
        connId: str(head, 'connId') as ConnId,
        code,
        reason: strOrNull(head, 'reason'),
      };
    }
    case 'push': {
      const typeu = head['typeu'];
      const qos = head['qos'];
      if (typeof typeu !== 'number' || !Number.isInteger(typeu)) throw new MalformedBridgeMessage('field typeu is not an integer');
      if (typeof qos !== 'boolean') throw new MalformedBridgeMessage('field qos is not a boolean');
      const from = head['from'] === undefined ? {} : { from: str(head, 'from') as UserId };
      return {
        type,
        origin: str(head, 'origin') as NodeId,
        to: str(head, 'to') as UserId,
        fp: str(head, 'fp'),
        dataContent: str(head, 'dataContent'),
        typeu,
        qos,
        ...from,
      };
    }
    case 'control': {
      const action = head['action'];
      if (action !== 'drain') throw new MalformedBridgeMessage(`unknown control action ${String(action)}`);
      return { type, origin: str(head, 'origin') as NodeId, action };
    }
    case 'notify':
      return { type, origin: str(head, 'origin') as NodeId, to: str(head, 'to') as UserId, feature: str(head, 'feature'), packet: str(head, 'packet') };
    case 'presence':
      return { type, origin: str(head, 'origin') as NodeId, changes: presenceChanges(head['changes']) };
    default:
      throw new MalformedBridgeMessage(`unknown message type ${String(type)}`);
  }
}

/**
 * One AMQP body carrying `items` (bodies from `encodeBridgeMessage`, in send order). A single item
 * is returned as is (a plain version-1 body); two or more get the batch head. Throws RangeError for
 * an empty list or an empty item.
 */
export function encodeBridgeBatch(items: readonly Buffer[]): Buffer {
  const [first] = items;
  if (first === undefined) throw new RangeError('a bridge batch needs at least one item');
  if (items.length === 1) return first;
  let total = 0;
  const sizes: number[] = new Array<number>(items.length);
  for (let i = 0; i < items.length; i++) {
    const n = (items[i] as Buffer).length;
    if (n === 0) throw new RangeError('a bridge batch item cannot be empty');
    sizes[i] = n;
    total += n;
  }
  const head = Buffer.from(`{"type":"batch","sizes":[${sizes.join(',')}]}\n`, 'utf8');
  return Buffer.concat([head, ...items], head.length + total);
}

/** True when `body` is a batch (starts with the batch head's fixed prefix). */
export function isBridgeBatch(body: Buffer): boolean {
  return body.length >= BATCH_PREFIX.length && body.compare(BATCH_PREFIX, 0, BATCH_PREFIX.length, 0, BATCH_PREFIX.length) === 0;
}

/**
 * The version-1 message bodies inside an AMQP body, in send order: `[body]` for a plain message,
 * the items of a batch otherwise (views into `body`, not copies). Decode each with
 * `decodeBridgeMessage`. Throws MalformedBridgeMessage when a batch head is broken or its sizes do
 * not add up to the body; items are not checked here.
 */
export function splitBridgeBody(body: Buffer): Buffer[] {
  if (!isBridgeBatch(body)) return [body];
  const lf = body.indexOf(LF);
  if (lf < 0) throw new MalformedBridgeMessage('batch head without line feed');
  let head: unknown;
  try {
    head = JSON.parse(body.toString('utf8', 0, lf));
  } catch (err) {
    throw new MalformedBridgeMessage('batch head is not JSON', { cause: err });
  }
  const sizes = (head as { sizes?: unknown }).sizes;
  if (!Array.isArray(sizes) || sizes.length < 2) throw new MalformedBridgeMessage('batch head has no list of two or more sizes');
  const items: Buffer[] = new Array<Buffer>(sizes.length);
  let offset = lf + 1;
  for (let i = 0; i < sizes.length; i++) {
    const n: unknown = sizes[i];
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n <= 0) throw new MalformedBridgeMessage('batch size is not a positive integer');
    if (offset + n > body.length) throw new MalformedBridgeMessage('batch sizes exceed the body');
    items[i] = body.subarray(offset, offset + n);
    offset += n;
  }
  if (offset !== body.length) throw new MalformedBridgeMessage('batch sizes do not add up to the body');
  return items;
}

/** The `from` of a packet in a deliver head of an earlier version (without `from`). */
function senderOfPacket(packet: string): string {
  let p: unknown;
  try {
    p = JSON.parse(packet);
  } catch (err) {
    throw new MalformedBridgeMessage('deliver packet is not JSON', { cause: err });
  }
  const from = typeof p === 'object' && p !== null ? (p as Record<string, unknown>)['from'] : undefined;
  if (typeof from === 'string') return from;
  if (typeof from === 'number' && Number.isSafeInteger(from)) return String(from);
  throw new MalformedBridgeMessage('deliver packet without a sender');
}

function decodeGroup(head: Head, packet: string): BridgeMessage {
  const seq = head['seq'];
  const qos = head['qos'];
  const members = head['members'];
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) throw new MalformedBridgeMessage('field seq is not a non-negative integer');
  if (typeof qos !== 'boolean') throw new MalformedBridgeMessage('field qos is not a boolean');
  if (!Array.isArray(members) || !members.every((m) => typeof m === 'string')) throw new MalformedBridgeMessage('field members is not a list of strings');
  const sentAt = head['sentAt'];
  if (sentAt !== undefined && (typeof sentAt !== 'number' || !Number.isSafeInteger(sentAt))) throw new MalformedBridgeMessage('field sentAt is not an integer');
  return {
    type: 'group',
    origin: str(head, 'origin') as NodeId,
    gid: str(head, 'gid'),
    seq,
    fp: str(head, 'fp'),
    qos,
    members: members as UserId[],
    packet,
    ...(sentAt === undefined ? {} : { sentAt }),
  };
}
