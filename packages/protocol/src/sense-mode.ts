/** Heartbeat timings of one MobileIMSDK sense mode. */
export interface SenseModeTimings {
  /** Client keepalive interval, ms. */
  keepAliveIntervalMs: number;
  /** Client declares the link lost after this long without a type-51 response, ms. */
  keepAliveTimeoutMs: number;
  /** Server closes a TCP/WS session after this long without any inbound frame, ms. */
  serverIdleMs: number;
  /** Server forgets a UDP pseudo-session after this long without a datagram, ms (UDP table). */
  udpServerIdleMs: number;
}

/** MobileIMSDK's sense-mode table (TCP/WS; UDP where it has the mode). */
export const SENSE_MODES = {
  '3S': { keepAliveIntervalMs: 3_000, keepAliveTimeoutMs: 5_000, serverIdleMs: 7_000, udpServerIdleMs: 10_000 },
  '5S': { keepAliveIntervalMs: 5_000, keepAliveTimeoutMs: 8_000, serverIdleMs: 11_000, udpServerIdleMs: 10_000 },
  '10S': { keepAliveIntervalMs: 10_000, keepAliveTimeoutMs: 15_000, serverIdleMs: 15_000, udpServerIdleMs: 21_000 },
  '15S': { keepAliveIntervalMs: 15_000, keepAliveTimeoutMs: 20_000, serverIdleMs: 20_000, udpServerIdleMs: 21_000 },
  '30S': { keepAliveIntervalMs: 30_000, keepAliveTimeoutMs: 35_000, serverIdleMs: 35_000, udpServerIdleMs: 62_000 },
  '60S': { keepAliveIntervalMs: 60_000, keepAliveTimeoutMs: 65_000, serverIdleMs: 65_000, udpServerIdleMs: 122_000 },
  '120S': { keepAliveIntervalMs: 120_000, keepAliveTimeoutMs: 125_000, serverIdleMs: 125_000, udpServerIdleMs: 242_000 },
} as const satisfies Record<string, SenseModeTimings>;
export type SenseMode = keyof typeof SENSE_MODES;

export function senseModeTimings(mode: SenseMode): SenseModeTimings {
  return SENSE_MODES[mode];
}

/** Parse "15S", "15s" or "15" into a sense mode; null when it is not one. */
export function parseSenseMode(text: string): SenseMode | null {
  const t = text.trim().toUpperCase();
  const key = (t.endsWith('S') ? t : t + 'S') as SenseMode;
  return Object.hasOwn(SENSE_MODES, key) ? key : null;
}
