import {
  PacketType,
  decodePacket,
  encodeErrorResponse,
  encodeKickoutInfo,
  parseErrorResponse,
  parseKickoutInfo,
  parseLoginResponse,
  type Packet,
} from '@switchboard/protocol';

/**
 * What the UDP listener reads in the packets it sends (protocol §3.3): whether one is the successful
 * login response that lifts the amplification budget, and how to make one fit a datagram.
 */

/** True for a type-50 packet with code 0, as the gateway encodes it. */
export function isLoginSuccess(text: string): boolean {
  if (!text.includes('"type":50,')) return false;
  try {
    const p = decodePacket(text);
    return p.type === PacketType.LOGIN_RESPONSE && parseLoginResponse(p.dataContent).code === 0;
  } catch {
    // Not a packet the gateway could have encoded: certainly not a login success.
    return false;
  }
}

const utf8Length = (s: string): number => Buffer.byteLength(s, 'utf8');

/**
 * Make a packet (wire JSON) fit in `limit` bytes, or return null when it cannot.
 *
 * 1. As it is, when it fits.
 * 2. Compact: without the keys whose values a MobileIMSDK client assumes when they are missing
 *    (`bridge:false`, `QoS:false`, `typeu:-1`, `sm:-1`; Gson reads missing booleans as false, and the
 *    framework packets this matters for ignore `typeu` and `sm`).
 * 3. Type 52 (error): compact with `errorMsg` cut short (left out when nothing fits). Type 54
 *    (kickout): the same with `reason`. The codes always survive.
 *
 * Data packets (type 2) are never cut: a message that does not fit is refused before it gets here
 * (error 1031 for its sender).
 */
export function fitDatagram(text: string, limit: number): string | null {
  if (text.length <= limit && utf8Length(text) <= limit) return text;
  let p: Packet;
  try {
    p = decodePacket(text);
  } catch {
    // Not a packet (nothing the gateway encodes): no smaller form can be made. The caller counts
    // the null as a dropped datagram.
    return null;
  }
  const compact = encodeCompact(p);
  if (utf8Length(compact) <= limit) return compact;
  if (p.type === PacketType.ERROR) {
    let r;
    try {
      r = parseErrorResponse(p.dataContent);
    } catch {
      // An error packet whose payload is not an error response cannot be cut to fit: dropped and
      // counted by the caller, like any packet that does not fit.
      return null;
    }
    const { errorCode } = r;
    return shrink(r.errorMsg, limit, (msg) => encodeCompact({ ...p, dataContent: encodeErrorResponse({ errorCode, errorMsg: msg }) }));
  }
  if (p.type === PacketType.KICKOUT) {
    let k;
    try {
      k = parseKickoutInfo(p.dataContent);
    } catch {
      // Likewise for a kickout whose payload is not a kickout: dropped and counted by the caller.
      return null;
    }
    const { code } = k;
    return shrink(k.reason, limit, (reason) => encodeCompact({ ...p, dataContent: encodeKickoutInfo({ code, reason }) }));
  }
  return null;
}

/**
 * The longest prefix of `s` for which `encode(prefix)` fits in `limit` bytes (binary search: a longer
 * prefix never encodes shorter); `encode(null)` (the key left out) when no prefix fits; null when
 * not even that fits.
 */
function shrink(s: string | null, limit: number, encode: (s: string | null) => string): string | null {
  const fits = (out: string): boolean => utf8Length(out) <= limit;
  const prefix = (n: number): string => {
    const cut = s!.slice(0, n);
    const last = cut.charCodeAt(cut.length - 1);
    return last >= 0xd800 && last <= 0xdbff ? cut.slice(0, -1) : cut; // never half a surrogate pair
  };
  if (s !== null && s !== '') {
    let lo = 0; // encode(prefix(lo)) fits, or lo = 0
    let hi = s.length;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (fits(encode(prefix(mid)))) lo = mid;
      else hi = mid - 1;
    }
    const best = prefix(lo);
    if (best !== '') return encode(best);
  }
  const bare = encode(null);
  return fits(bare) ? bare : null;
}

/** `encodePacket` without the keys a MobileIMSDK client defaults the same way when they are missing. */
function encodeCompact(p: Packet): string {
  const parts: string[] = [];
  if (p.bridge) parts.push('"bridge":true');
  parts.push('"type":' + String(p.type));
  if (p.dataContent !== null) parts.push('"dataContent":' + JSON.stringify(p.dataContent));
  parts.push('"from":' + JSON.stringify(p.from), '"to":' + JSON.stringify(p.to));
  if (p.fp !== null) parts.push('"fp":' + JSON.stringify(p.fp));
  if (p.QoS) parts.push('"QoS":true');
  if (p.typeu !== -1) parts.push('"typeu":' + String(p.typeu));
  if (p.sm !== -1) parts.push('"sm":' + String(p.sm));
  return '{' + parts.join(',') + '}';
}
