import { withHistory, type Packet } from '@switchboard/protocol';

/** `p` carrying the history seq (and send time, when given) of the message it is about, when there is one (seq > 0). */
export function withSeq(p: Packet, seq: number, sentAt?: number): Packet {
  return seq > 0 ? withHistory(p, seq, sentAt) : p;
}
