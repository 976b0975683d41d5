import { afterEach, describe, expect, it } from 'vitest';
import {
  ackPacket,
  createPacket,
  dataPacket,
  encodeLoginInfo,
  isProtocolError,
  keepAlivePacket,
  PacketType,
  type Packet,
} from '@switchboard/protocol';
import { encodeWithShape, TestClient } from '@switchboard/testkit';
import { cleanup, prng, startGateway, track, uid, type GatewayFixture, type Transport } from '../fixtures.js';

afterEach(cleanup);

const SEED = Number(process.env['SB_FUZZ_SEED'] ?? 0xc0ffee);
const FUZZERS = 6;
const INPUTS_PER_FUZZER = 700;

type Rng = ReturnType<typeof prng>;

/** Real frames a client sends, for user `me` (Java or H5 shaped). */
function templates(rng: Rng, me: string): string[] {
  const peer = `fz-${rng.int(FUZZERS)}`;
  const fp = `fp-${rng.int(1000)}`;
  const packets: Packet[] = [
    createPacket({
      type: PacketType.LOGIN,
      dataContent: encodeLoginInfo({ loginUserId: me, loginToken: 't', extra: 'e', firstLoginTime: rng.pick([0, 1, Date.now(), -5]) }),
      from: me,
      to: '0',
    }),
    keepAlivePacket(me),
    dataPacket({ from: me, to: peer, dataContent: 'hello', fp, QoS: true, typeu: 7 }),
    dataPacket({ from: me, to: peer, dataContent: 'no qos', QoS: false }),
    dataPacket({ from: me, to: '0', dataContent: 'c2s', fp, QoS: true }),
    ackPacket(me, peer, fp),
    createPacket({ type: PacketType.ECHO, dataContent: 'echo', from: me, to: '0' }),
    createPacket({ type: PacketType.LOGOUT, from: me, to: '0' }),
  ];
  return packets.map((p) => encodeWithShape(p, rng.pick(['java', 'h5'] as const)));
}

/** JSON fragments that are valid JSON but wrong for the envelope. */
const NASTY = [
  'null',
  'true',
  '-0',
  '1e400',
  '-1e400',
  '2147483648',
  '-2147483649',
  '9007199254740993',
  '0.5',
  '""',
  '"\\ud800"',
  '"\\u0000"',
  '{}',
  '[]',
  '{"__proto__":{"polluted":1}}',
  '[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]',
  '"' + 'x'.repeat(3000) + '"',
  '"0"',
  '"-1"',
  '"51"',
  '{"loginUserId":"fz-1"}',
  '"{\\"loginUserId\\":null}"',
  '"{\\"loginUserId\\":\\"0\\"}"',
  '"{\\"loginUserId\\":\\"fz-2\\",\\"firstLoginTime\\":\\"abc\\"}"',
];
const KEYS = ['bridge', 'type', 'dataContent', 'from', 'to', 'fp', 'QoS', 'typeu', 'sm', 'retryCount', '__proto__', 'constructor'];

/** One mutation of a real frame, or random bytes. */
function mutate(rng: Rng, text: string): string | Buffer {
  switch (rng.int(9)) {
    case 0: {
      // Flip some characters.
      const a = [...text];
      for (let i = 0, n = 1 + rng.int(4); i < n; i++) a[rng.int(a.length)] = String.fromCharCode(rng.int(128));
      return a.join('');
    }
    case 1:
      return text.slice(0, rng.int(text.length));
    case 2: {
      const at = rng.int(text.length);
      return text.slice(0, at) + rng.pick(['{', '}', '"', ',', ':', '\\', '\u0000', '\ud83d', 'null', ']']) + text.slice(at);
    }
    case 3: {
      // Replace one value with something nasty.
      const key = rng.pick(KEYS);
      const re = new RegExp(`"${key}":("(?:[^"\\\\]|\\\\.)*"|[^,}]*)`);
      return re.test(text) ? text.replace(re, `"${key}":${rng.pick(NASTY)}`) : text.replace(/}$/, `,"${key}":${rng.pick(NASTY)}}`);
    }
    case 4: {
      // Drop one key.
      const key = rng.pick(KEYS);
      return text.replace(new RegExp(`"${key}":("(?:[^"\\\\]|\\\\.)*"|[^,}]*),?`), '');
    }
    case 5:
      // Change the type.
      return text.replace(/"type":-?\d+/, `"type":${rng.pick([0, 1, 2, 3, 4, 5, 6, 50, 51, 52, 53, 54, -1, 99999])}`);
    case 6: {
      const from = rng.int(text.length);
      return text.slice(0, from) + text.slice(from, from + rng.int(40)).repeat(1 + rng.int(5)) + text.slice(from);
    }
    case 7:
      return rng.pick(NASTY);
    default:
      return rng.bytes(1 + rng.int(300));
  }
}

/**
 * Send one input in a way the transport allows: framed text, raw bytes (TCP), binary frames (WS).
 * Returns false when the input may have left a TCP frame incomplete (the next bytes would be read
 * as its body), so the caller starts a new connection instead of probing this one.
 */
async function sendInput(rng: Rng, c: TestClient, input: string | Buffer): Promise<boolean> {
  if (typeof input === 'string') {
    await c.sendRaw(input);
    return true;
  }
  if (c.transport === 'ws') {
    // Binary frames close the connection; mostly send the bytes as text instead.
    await c.sendRaw(rng.int(4) === 0 ? input : input.toString('latin1'));
    return true;
  }
  if (rng.int(2) === 0) {
    // A frame header that may or may not match the body.
    const head = Buffer.alloc(4);
    const len = rng.int(3) === 0 ? rng.int(10_000) : input.length;
    head.writeUInt32BE(len);
    await c.sendRaw(Buffer.concat([head, input]));
    return len === input.length;
  }
  await c.sendRaw(input);
  return false;
}

interface FuzzResult {
  inputs: number;
  reconnects: number;
  /** Frames from the gateway that did not decode. */
  badFrames: Error[];
  /** Inputs after which the connection neither answered an echo nor closed within a second. */
  hangs: string[];
}

/**
 * One fuzzing connection (re-opened whenever the gateway closes it). After every input it sends an
 * echo probe: the gateway must answer it or close the connection, never hang.
 */
async function fuzzer(f: GatewayFixture, rng: Rng, index: number, transport: Transport, budget: number): Promise<FuzzResult> {
  const me = `fz-${index}`;
  const r: FuzzResult = { inputs: 0, reconnects: 0, badFrames: [], hangs: [] };
  while (r.inputs < budget) {
    const c = track(new TestClient({ url: f.url(transport), maxTcpBodyBytes: 1 << 20, timeoutMs: 1_000 }));
    r.reconnects++;
    try {
      await c.connect();
      if (rng.int(2) === 0) await c.login(me).catch(() => {});
      while (!c.closed && r.inputs < budget) {
        const tpl = rng.pick(templates(rng, me));
        const input = rng.int(10) === 0 ? tpl : mutate(rng, tpl);
        r.inputs++;
        const probe = `probe-${index}-${r.inputs}`;
        const complete = await sendInput(rng, c, input).catch(() => false);
        if (!complete || c.closed) break;
        const since = c.packets.length;
        await c.sendRaw(createPacket({ type: PacketType.ECHO, dataContent: probe, from: me, to: '0' })).catch(() => {});
        try {
          await c.waitForPacket(PacketType.ECHO_RESPONSE, (p) => p.dataContent === probe, { since });
        } catch {
          // Closed by the gateway (fine), or no answer at all (a hang).
          if (!c.closed) await c.waitForClose({ timeoutMs: 500 }).catch(() => r.hangs.push(JSON.stringify(String(input)).slice(0, 300)));
        }
      }
    } finally {
      r.badFrames.push(...c.transportErrors.filter((e) => isProtocolError(e)));
      await c.close({ abrupt: rng.int(2) === 0 });
    }
  }
  return r;
}

describe('Gateway fuzz', () => {
  it(`random bytes and mutated real frames over WS and TCP (seed ${SEED}) - the gateway survives and a well-behaved pair keeps exchanging`, async () => {
    const f = await startGateway({ rateLimitPerSec: 100_000, rateLimitBurst: 100_000, custodyResendMs: 300, custodyGiveUpMs: 600 });
    const alice = await f.login(uid('fuzz-alice'), 'ws');
    const bob = await f.login(uid('fuzz-bob'), 'tcp', { shape: 'h5' });
    const sentByAlice: string[] = [];
    const sentByBob: string[] = [];
    const exchange = async (): Promise<void> => {
      const a = await alice.send(bob.uid!, 'ping');
      sentByAlice.push(a);
      const b = await bob.send(alice.uid!, 'pong');
      sentByBob.push(b);
      await Promise.all([alice.waitForAck(a, { timeoutMs: 3_000 }), bob.waitForAck(b, { timeoutMs: 3_000 })]);
    };

    let fuzzing = true;
    let during = 0;
    const pair = (async () => {
      while (fuzzing) {
        await exchange();
        during++;
        await new Promise((r) => setTimeout(r, 5));
      }
    })();

    const root = prng(SEED);
    const results = await Promise.all(
      Array.from({ length: FUZZERS }, (_, i) => fuzzer(f, prng(root.int(2 ** 31)), i, i % 2 === 0 ? 'ws' : 'tcp', INPUTS_PER_FUZZER)),
    ).finally(() => (fuzzing = false));
    await pair;

    const inputs = results.reduce((s, r) => s + r.inputs, 0);
    expect(inputs).toBe(FUZZERS * INPUTS_PER_FUZZER);
    // The fuzz reached the gateway: connections were dropped for bad input and re-opened.
    expect(results.reduce((s, r) => s + r.reconnects, 0)).toBeGreaterThan(FUZZERS * 5);
    expect(await f.metric('switchboard_protocol_errors_total')).toBeGreaterThan(500);
    // Whatever the input, the gateway answered or closed, and every frame it wrote back decoded.
    expect(results.flatMap((r) => r.hangs)).toEqual([]);
    expect(results.flatMap((r) => r.badFrames)).toEqual([]);

    // The pair exchanged all along, and still does.
    expect(during).toBeGreaterThan(5);
    for (let i = 0; i < 20; i++) await exchange();
    expect(alice.closed || bob.closed).toBe(false);
    expect(alice.kickouts.length + bob.kickouts.length).toBe(0);
    expect(bob.messages.filter((m) => m.from === alice.uid).map((m) => m.fp)).toEqual(sentByAlice);
    expect(alice.messages.filter((m) => m.from === bob.uid).map((m) => m.fp)).toEqual(sentByBob);
    expect(f.gw.isReady().ready).toBe(true);
  }, 60_000);
});
