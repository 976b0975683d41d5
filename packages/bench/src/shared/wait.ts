/**
 * The runs' own waits in the bench's main process, and `pool` (bounded concurrency over a list).
 * Per-user waits (a login's backoff, a worker's pacing) use `delay` from @switchboard/core, whose
 * timer is unref'd; these do not, on purpose: at times a run's polling loop is the only thing pending
 * in the process — every simulated user offline between reconnects (their timers are unref'd), every
 * client worker gone, no spawned process — and with an unref'd timer node would exit in the middle of
 * the run, without a report.
 */

/** Like `delay`, but the timer is ref'd: it keeps the process alive until it fires (see above). */
export function heldDelay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** Sleep until `t` (performance.now() ms) or until `stop()` says so, checking every `stepMs`. */
export async function sleepUntil(t: number, stop: () => boolean = () => false, stepMs = 100): Promise<void> {
  while (performance.now() < t && !stop()) await heldDelay(Math.min(stepMs, Math.max(1, t - performance.now())));
}

/** Poll `cond` until true or `deadline`; true when it became true. */
export async function waitUntil(cond: () => boolean, deadline: number, stepMs = 100): Promise<boolean> {
  for (;;) {
    if (cond()) return true;
    if (performance.now() >= deadline) return false;
    await heldDelay(stepMs);
  }
}

/** Run `fn` over `items` with at most `n` in progress. */
export async function pool<T>(items: readonly T[], n: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  let i = 0;
  const worker = async () => {
    while (i < items.length) await fn(items[i++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, items.length)) }, worker));
}
