import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  PacketType,
  SENSE_MODES,
  decodePacket,
  encodePacket,
  parseErrorResponse,
  parseKickoutInfo,
  parseLoginInfo,
  parseLoginResponse,
  type SenseMode,
} from '../../src/index.js';

// The examples in docs/protocol.md must be packets exactly as Switchboard writes them.
const doc = readFileSync(new URL('../../../../docs/protocol.md', import.meta.url), 'utf8');

/** Every line inside the ```json blocks of the document. */
function jsonExamples(): string[] {
  const out: string[] = [];
  for (const m of doc.matchAll(/```json\n([\s\S]*?)```/g)) {
    for (const line of (m[1] ?? '').split('\n')) if (line.trim() !== '') out.push(line);
  }
  return out;
}

const PAYLOAD_PARSERS: Partial<Record<number, (dc: string | null) => unknown>> = {
  [PacketType.LOGIN]: parseLoginInfo,
  [PacketType.LOGIN_RESPONSE]: parseLoginResponse,
  [PacketType.ERROR]: parseErrorResponse,
  [PacketType.KICKOUT]: parseKickoutInfo,
};

describe('docs/protocol.md', () => {
  const examples = jsonExamples();

  it('examples - the document has packet examples', () => {
    expect(examples.length).toBeGreaterThanOrEqual(10);
  });

  it.each(examples)('examples - %s is in canonical form', (line) => {
    const p = decodePacket(line);
    expect(encodePacket(p)).toBe(line);
    const parse = PAYLOAD_PARSERS[p.type];
    if (parse) expect(() => parse(p.dataContent)).not.toThrow();
  });

  it('sense modes - the table matches SENSE_MODES', () => {
    const rows = [...doc.matchAll(/^\| `(\d+S)` \| (\d+) s \| (\d+) s \| (\d+) s \| (\d+) s \|$/gm)];
    expect(rows.map((r) => r[1])).toEqual(Object.keys(SENSE_MODES));
    for (const [, mode, interval, timeout, idle, udpIdle] of rows) {
      expect(SENSE_MODES[mode as SenseMode]).toEqual({
        keepAliveIntervalMs: Number(interval) * 1000,
        keepAliveTimeoutMs: Number(timeout) * 1000,
        serverIdleMs: Number(idle) * 1000,
        udpServerIdleMs: Number(udpIdle) * 1000,
      });
    }
  });
});
