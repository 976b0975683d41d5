import { describe, expect, it } from 'vitest';
import { LogThrottle } from '../../src/log-throttle.js';

describe('LogThrottle', () => {
  it('lets the first occurrence through, then one per interval with the count of those left out', () => {
    let t = 1_000;
    const th = new LogThrottle(10_000, () => t);
    expect(th.take()).toBe(0);
    for (let i = 0; i < 499; i++) expect(th.take()).toBe(-1);
    t += 9_999;
    expect(th.take()).toBe(-1);
    t += 1;
    expect(th.take()).toBe(500);
    t += 10_000;
    expect(th.take()).toBe(0);
  });
});
