/**
 * Await a promise that must reject, and say how long it took: `{ err, ms }`. Throws when it
 * resolves instead. For "fails fast" assertions (a backend is down, a send must not hang).
 */
export async function timeRejection(p: Promise<unknown>): Promise<{ err: unknown; ms: number }> {
  const t0 = performance.now();
  try {
    await p;
  } catch (err) {
    return { err, ms: performance.now() - t0 };
  }
  throw new Error('expected a rejection');
}
