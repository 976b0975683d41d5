import { encodeLoginInfo, encodePacket, type LoginInfo, type Packet } from '@switchboard/protocol';

/**
 * Which MobileIMSDK client family a frame imitates (protocol spec §10, §11).
 * - `java`: Gson output, exactly `encodePacket`: every key in declaration order, nulls omitted, `sm: -1`.
 * - `h5`: `JSON.stringify` of a plain JS object: explicit `"fp":null` / `"dataContent":null`,
 *   `"retryCount":0`, and no `bridge` or `sm` keys.
 */
export type WireShape = 'java' | 'h5';

/** Serialize `p` the way a client of the given family writes it on the wire. */
export function encodeWithShape(p: Packet, shape: WireShape): string {
  if (shape === 'java') return encodePacket(p);
  return JSON.stringify({
    type: p.type,
    dataContent: p.dataContent,
    from: p.from,
    to: p.to,
    fp: p.fp,
    QoS: p.QoS,
    typeu: p.typeu,
    retryCount: 0,
  });
}

/** Serialize a login payload (`dataContent` of type 0) the way a client of the given family does. */
export function encodeLoginInfoWithShape(info: LoginInfo, shape: WireShape): string {
  if (shape === 'java') return encodeLoginInfo(info);
  return JSON.stringify({
    loginUserId: info.loginUserId,
    loginToken: info.loginToken,
    extra: info.extra,
    firstLoginTime: info.firstLoginTime,
    ...(info.features === undefined ? {} : { features: info.features }),
  });
}
