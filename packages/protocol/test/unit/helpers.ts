import { expect } from 'vitest';
import { ProtocolError, type ProtocolErrorKind } from '../../src/index.js';

/** Run `fn`, expect it to throw a `ProtocolError` of `kind`, and return that error. */
export function expectProtocolError(fn: () => unknown, kind: ProtocolErrorKind): ProtocolError {
  let caught: unknown = undefined;
  let threw = false;
  try {
    fn();
  } catch (err) {
    threw = true;
    caught = err;
  }
  expect(threw, 'expected a ProtocolError to be thrown').toBe(true);
  expect(caught).toBeInstanceOf(ProtocolError);
  const err = caught as ProtocolError;
  expect(err.code).toBe(kind);
  return err;
}

/** The body `json` with `,"sm":-1` appended before the closing brace, as our encoder fills a missing `sm`. */
export function withDefaultSm(json: string): string {
  return json.slice(0, -1) + ',"sm":-1}';
}
