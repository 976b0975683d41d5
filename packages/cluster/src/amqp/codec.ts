import type { ConnId, NodeId, UserId } from '@switchboard/core';
import type { BridgeMessage } from '../bridge.js';

/**
 * Wire encoding of a BridgeMessage in an AMQP body (UTF-8), version 1:
 *
 *     <head JSON>            for ack, kick, control: the whole message as one JSON object
 *     <head JSON>\n<packet>  for deliver: head = {type,origin,to,fp}; the packet follows raw
 *
 * `JSON.stringify` never emits a raw line feed, so the first `\n` always ends the head and the
 * packet (already JSON text from the client) travels verbatim: no second escaping, no AMQP header
 * table (amqplib encodes tables field by field, slower than one JSON.stringify). Only known fields
 * are written, and decoding checks every field's type and builds a fresh object.
 */

const LF = 0x0a;

/** Encode `msg` for the bridge. Extra fields the caller may have attached are not sent. */
export function encodeBridgeMessage(msg: BridgeMessage): Buffer {
  switch (msg.type) {
    case 'deliver':
      return Buffer.from(
        `${JSON.stringify({ type: 'deliver', origin: msg.origin, to: msg.to, fp: msg.fp })}\n${msg.packet}`,
        'utf8',
      );
    case 'ack':
      return Buffer.from(JSON.stringify({ type: 'ack', origin: msg.origin, fp: msg.fp, from: msg.from, to: msg.to }), 'utf8');
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
        }),
        'utf8',
      );
    case 'control':
      return Buffer.from(JSON.stringify({ type: 'control', origin: msg.origin, action: msg.action }), 'utf8');
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
    return {
      type,
      origin: str(head, 'origin') as NodeId,
      to: str(head, 'to') as UserId,
      fp: strOrNull(head, 'fp'),
      packet: body.toString('utf8', lf + 1),
    };
  }
  if (lf >= 0) throw new MalformedBridgeMessage(`unexpected payload after ${String(type)} head`);
  switch (type) {
    case 'ack':
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
      return {
        type,
        origin: str(head, 'origin') as NodeId,
        to: str(head, 'to') as UserId,
        fp: str(head, 'fp'),
        dataContent: str(head, 'dataContent'),
        typeu,
        qos,
      };
    }
    case 'control': {
      const action = head['action'];
      if (action !== 'drain') throw new MalformedBridgeMessage(`unknown control action ${String(action)}`);
      return { type, origin: str(head, 'origin') as NodeId, action };
    }
    default:
      throw new MalformedBridgeMessage(`unknown message type ${String(type)}`);
  }
}
