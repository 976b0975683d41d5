import { describe, expect, it } from 'vitest';
import { SENSE_MODES, parseSenseMode, senseModeTimings, type SenseMode } from '../../src/index.js';

// The MobileIMSDK TCP/WebSocket table: client interval, client timeout, server idle close.
const TCP_WS_TABLE: [SenseMode, number, number, number][] = [
  ['3S', 3_000, 5_000, 7_000],
  ['5S', 5_000, 8_000, 11_000],
  ['10S', 10_000, 15_000, 15_000],
  ['15S', 15_000, 20_000, 20_000],
  ['30S', 30_000, 35_000, 35_000],
  ['60S', 60_000, 65_000, 65_000],
  ['120S', 120_000, 125_000, 125_000],
];

// The UDP table's server idle time, for the modes UDP has.
const UDP_SERVER_IDLE: [SenseMode, number][] = [
  ['3S', 10_000],
  ['10S', 21_000],
  ['30S', 62_000],
  ['60S', 122_000],
  ['120S', 242_000],
];

describe('SENSE_MODES', () => {
  it('table - has exactly the seven MobileIMSDK modes', () => {
    expect(Object.keys(SENSE_MODES)).toEqual(['3S', '5S', '10S', '15S', '30S', '60S', '120S']);
  });

  it.each(TCP_WS_TABLE)('table - %s has the TCP/WS timings of MobileIMSDK', (mode, interval, timeout, idle) => {
    expect(SENSE_MODES[mode]).toMatchObject({ keepAliveIntervalMs: interval, keepAliveTimeoutMs: timeout, serverIdleMs: idle });
  });

  it.each(UDP_SERVER_IDLE)('table - %s has the UDP server idle time of MobileIMSDK', (mode, idle) => {
    expect(SENSE_MODES[mode].udpServerIdleMs).toBe(idle);
  });

  it('table - the server always waits longer than the client timeout minus one interval', () => {
    // A client that misses one beat must still get its next keepalive in before the server closes.
    for (const t of Object.values(SENSE_MODES)) {
      expect(t.serverIdleMs).toBeGreaterThan(t.keepAliveIntervalMs);
      expect(t.keepAliveTimeoutMs).toBeGreaterThan(t.keepAliveIntervalMs);
    }
  });
});

describe('senseModeTimings', () => {
  it('senseModeTimings - returns the row of the mode', () => {
    expect(senseModeTimings('15S')).toEqual({ keepAliveIntervalMs: 15_000, keepAliveTimeoutMs: 20_000, serverIdleMs: 20_000, udpServerIdleMs: 21_000 });
    expect(senseModeTimings('5S')).toBe(SENSE_MODES['5S']);
  });
});

describe('parseSenseMode', () => {
  it('parseSenseMode - accepts "15S", "15s", "15" and surrounding blanks', () => {
    expect(parseSenseMode('15S')).toBe('15S');
    expect(parseSenseMode('15s')).toBe('15S');
    expect(parseSenseMode('15')).toBe('15S');
    expect(parseSenseMode(' 120s ')).toBe('120S');
    for (const [mode] of TCP_WS_TABLE) expect(parseSenseMode(mode)).toBe(mode);
  });

  it('parseSenseMode - returns null for anything else', () => {
    for (const text of ['', 'S', '4S', '15SS', '15ms', 'MODE_15S', '1 5S', '-3S', 'toString', '__proto__', 'constructorS']) {
      expect(parseSenseMode(text), JSON.stringify(text)).toBeNull();
    }
  });
});
