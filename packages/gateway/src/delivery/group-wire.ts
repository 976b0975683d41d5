import { PacketType, createPacket, withHistory, type Packet } from '@switchboard/protocol';

/**
 * The packet a group member receives (docs/groups.md "On the wire"): `to` is the group's address
 * (`<prefix><gid>`), `from` is the group's address, a colon and the sender (`g:team:alice`), so an
 * unmodified MobileIMSDK app, whose callback shows `from`, tells the group and the sender apart.
 * `fp` is the sender's; `seq` and `sentAt` are the group history's.
 */
export function groupPacket(prefix: string, gid: string, m: { from: string; fp: string; dataContent: string | null; typeu: number; seq: number; sentAt: number; qos: boolean }): Packet {
  const address = prefix + gid;
  const p = createPacket({ type: PacketType.DATA, dataContent: m.dataContent, from: `${address}:${m.from}`, to: address, fp: m.fp, QoS: m.qos, typeu: m.typeu });
  return m.seq > 0 ? withHistory(p, m.seq, m.sentAt) : p;
}
