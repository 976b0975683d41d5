import type { Redis } from 'ioredis';
import { InvalidArgumentError, UnavailableError, silentLogger, type Logger } from '@switchboard/core';
import { DEFAULT_REDIS_REPLICA_CHECK_MS, DEFAULT_REDIS_WAIT_TIMEOUT_MS } from './defaults.js';
import { closeRedis, redisModeOf } from './connect.js';
import { installScripts, runScript, scriptArgs, type ScriptName } from './scripts.js';

export interface ReplicaWaitOptions {
  /**
   * Replicas that must confirm an acked write (`IM_REDIS_WAIT_REPLICAS`): a number (0 = never wait), or
   * `auto`: 1 where the write's master has a replica, 0 where it has none.
   */
  replicas: number | 'auto';
  /** Longest WAIT (`IM_REDIS_WAIT_TIMEOUT_MS`); below the command timeout. @default DEFAULT_REDIS_WAIT_TIMEOUT_MS (500) */
  timeoutMs?: number;
  /** `auto` outside cluster mode: how often INFO replication is read. @default DEFAULT_REDIS_REPLICA_CHECK_MS (5000) */
  checkIntervalMs?: number;
  /**
   * Opens a connection for waited writes (same server or cluster as `redis`, e.g. another
   * `connectRedis` client); `writerCount` of them are opened at the first waited write and used in
   * turn. A WAIT blocks its connection until the replicas answer, so the writes behind it on that
   * connection wait a replication round trip each: on the shared client that would hold up every other
   * command of the process. Without it the waited writes use `redis`. Closed by `close()`.
   */
  openWriter?: () => Redis;
  /** @default 1 */
  writerCount?: number;
  log?: Logger;
}

/**
 * The replica wait of the writes Switchboard acknowledges to a sender: an offline store and a history
 * append. The write and a `WAIT <n> <timeoutMs>` go out as one pipeline, so the WAIT runs on the
 * connection (in cluster mode: the master of the keys' slot) that applied the write and counts the
 * replicas that have it. Fewer than `n` within the timeout fails the write with UnavailableError: the
 * sender gets no ack and resends, and the resend (idempotent by fp) waits again.
 *
 * A WAIT blocks the connection it runs on until it returns, so the waited writes go out in turn on a
 * few connections of their own (`openWriter`), opened at the first write that waits, not on the client
 * every other command shares.
 *
 * `auto` finds the replicas itself: in cluster mode from the client's slot map (the slot's master and
 * replicas, refreshed by ioredis on every topology change); otherwise from `INFO replication`: the
 * replicas of the server the client is connected to that are `online` (past their initial sync), read
 * on every (re)connect and every `checkIntervalMs`. A master with no replica (a single Redis, or a new master whose old one has not
 * come back as its replica) is not waited on: then the write is only as durable as that one server.
 */
export class ReplicaWait {
  readonly timeoutMs: number;
  private readonly fixed: number | undefined;
  private connected = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly log: Logger;
  private writers: Redis[] = [];
  private nextWriter = 0;
  private readonly openWriter: (() => Redis) | undefined;
  private readonly writerCount: number;
  private readonly onReady = (): void => void this.check();

  constructor(
    private readonly redis: Redis,
    opts: ReplicaWaitOptions,
  ) {
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_REDIS_WAIT_TIMEOUT_MS;
    if (!Number.isInteger(this.timeoutMs) || this.timeoutMs < 1) throw new InvalidArgumentError(`replica wait: timeoutMs must be a positive integer: ${this.timeoutMs}`);
    if (opts.replicas !== 'auto' && (!Number.isInteger(opts.replicas) || opts.replicas < 0)) {
      throw new InvalidArgumentError(`replica wait: replicas must be 'auto' or a non-negative integer: ${String(opts.replicas)}`);
    }
    this.fixed = opts.replicas === 'auto' ? undefined : opts.replicas;
    this.openWriter = opts.openWriter;
    this.writerCount = Math.max(1, opts.writerCount ?? 1);
    this.log = (opts.log ?? silentLogger()).child({ component: 'redis-replicas' });
    if (this.fixed === undefined && redisModeOf(redis) !== 'cluster') {
      redis.on('ready', this.onReady);
      this.timer = setInterval(this.onReady, opts.checkIntervalMs ?? DEFAULT_REDIS_REPLICA_CHECK_MS);
      this.timer.unref();
      if (redis.status === 'ready') void this.check();
    }
  }

  /** Replicas a write of a key in `slotKey`'s slot waits for now (0: no WAIT). */
  replicasFor(slotKey: string): number {
    if (this.fixed !== undefined) return this.fixed;
    if (redisModeOf(this.redis) === 'cluster') {
      const slots = (this.redis as unknown as { slots: string[][] }).slots;
      const owners = slots[keySlot(slotKey)];
      return owners !== undefined && owners.length > 1 ? 1 : 0;
    }
    return this.connected > 0 ? 1 : 0;
  }

  /** The connection for the next waited write (round robin over the writers, opened on first use). */
  writer(): Redis {
    if (this.openWriter === undefined) return this.redis;
    if (this.writers.length === 0) this.writers = Array.from({ length: this.writerCount }, () => (this.openWriter as () => Redis)());
    const w = this.writers[this.nextWriter % this.writers.length] as Redis;
    this.nextWriter = (this.nextWriter + 1) % this.writers.length;
    return w;
  }

  /** Count the online replicas now (auto, outside cluster mode). Never rejects. */
  async check(): Promise<void> {
    try {
      const info = await this.redis.info('replication');
      // Only replicas past their initial sync (`state=online`) acknowledge offsets: one still loading
      // the master's snapshot (`wait_bgsave`, `send_bulk`) would make every WAIT time out.
      const n = info.split('\n').filter((l) => /^slave\d+:.*\bstate=online\b/.test(l)).length;
      if ((n > 0) !== (this.connected > 0)) this.log.info({ replicas: n }, n > 0 ? 'redis master has replicas: acked writes wait for one' : 'redis master has no replica: acked writes do not wait');
      this.connected = n;
    } catch (err) {
      this.log.debug({ err }, 'replica check failed');
    }
  }

  /** Stop checking and close the writers it opened. Idempotent. */
  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.redis.off('ready', this.onReady);
    const writers = this.writers;
    this.writers = [];
    await Promise.all(writers.map((w) => closeRedis(w)));
  }
}

/**
 * Run a script and, when `wait` asks for replicas for the slot of `keys[0]`, WAIT for them in the same
 * pipeline, on one of `wait`'s writer connections (else on `redis`). Resolves with the script's reply; rejects with the script's error, or UnavailableError
 * when fewer replicas than asked confirmed within the timeout.
 */
export function runScriptReplicated(
  redis: Redis,
  name: ScriptName,
  keys: readonly string[],
  args: readonly (string | number)[],
  wait: ReplicaWait | undefined,
): Promise<unknown> {
  const n = wait === undefined || keys.length === 0 ? 0 : wait.replicasFor(keys[0] as string);
  // Without replicas to wait for, the script's own promise (no extra async layer on the hot path).
  if (n === 0 || wait === undefined) return runScript(redis, name, keys, args);
  return runScriptThenWait(name, keys, args, wait, n);
}

async function runScriptThenWait(
  name: ScriptName,
  keys: readonly string[],
  args: readonly (string | number)[],
  wait: ReplicaWait,
  n: number,
): Promise<unknown> {
  const writer = wait.writer();
  installScripts(writer);
  const pipeline = writer.pipeline() as unknown as Record<ScriptName, (...a: (string | number)[]) => unknown> & {
    wait(n: number, ms: number): unknown;
    exec(): Promise<Array<[Error | null, unknown]> | null>;
  };
  pipeline[name](...scriptArgs(name, keys, args));
  pipeline.wait(n, wait.timeoutMs);
  const replies = await pipeline.exec();
  const [script, waited] = replies ?? [];
  if (script === undefined || waited === undefined) throw new UnavailableError('redis: the pipeline of a replicated write was not executed');
  if (script[0]) throw script[0];
  if (waited[0]) throw waited[0];
  const confirmed = Number(waited[1]);
  if (confirmed < n) {
    throw new UnavailableError(`redis: write confirmed by ${confirmed} of ${n} replica(s) within ${wait.timeoutMs} ms`);
  }
  return script[1];
}

/** CRC16 (XMODEM) table, as Redis Cluster's key hashing uses. */
const CRC16 = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let j = 0; j < 8; j++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

/** The Redis Cluster hash slot of a key (0..16383), honouring `{hash tags}`. */
export function keySlot(key: string): number {
  let bytes = Buffer.from(key, 'utf8');
  const open = bytes.indexOf(0x7b);
  if (open !== -1) {
    const close = bytes.indexOf(0x7d, open + 1);
    if (close > open + 1) bytes = bytes.subarray(open + 1, close);
  }
  let crc = 0;
  for (const b of bytes) crc = ((crc << 8) & 0xffff) ^ (CRC16[((crc >> 8) ^ b) & 0xff] as number);
  return crc % 16384;
}
