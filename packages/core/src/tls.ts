import { readFileSync, statSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { Logger } from './logger.js';

/**
 * TLS certificates for the listeners (`IM_TLS_CERT` / `IM_TLS_KEY`, docs/operations.md "TLS"): a
 * certificate chain and its private key, both PEM, read from files, checked to belong together, and
 * reloaded when the files change, without a restart. Servers take the current pair at start and
 * subscribe to changes (`server.setSecureContext`): connections open on the old certificate stay,
 * new ones get the new one.
 */

/** A certificate chain and its private key, PEM. */
export interface TlsPair {
  cert: Buffer;
  key: Buffer;
}

/** Why a pair was refused: the files' paths and the TLS library's own reason. */
export class TlsFilesError extends Error {
  override name = 'TlsFilesError';
}

/** Read the PEM files and check them (parsable, the key matches the certificate). Throws TlsFilesError. */
export function readTlsPair(certPath: string, keyPath: string): TlsPair {
  let pair: TlsPair;
  try {
    pair = { cert: readFileSync(certPath), key: readFileSync(keyPath) };
  } catch (err) {
    throw new TlsFilesError(`cannot read ${(err as NodeJS.ErrnoException).path ?? certPath}: ${(err as Error).message.replace(/^[A-Z]+: /, '')}`);
  }
  checkTlsPair(pair, `${certPath} and ${keyPath}`);
  return pair;
}

/** Throws TlsFilesError unless `pair` makes a secure context (PEM parses, the key matches the certificate). */
export function checkTlsPair(pair: TlsPair, what = 'the TLS pair'): void {
  try {
    createSecureContext({ cert: pair.cert, key: pair.key });
  } catch (err) {
    throw new TlsFilesError(`${what}: not a matching PEM certificate and private key (${(err as Error).message})`);
  }
}

/** The current certificate pair and who to tell when it changes. */
export class TlsCredentials {
  private pair: TlsPair;
  private readonly listeners = new Set<(pair: TlsPair) => void>();

  constructor(pair: TlsPair) {
    checkTlsPair(pair);
    this.pair = pair;
  }

  get current(): TlsPair {
    return this.pair;
  }

  /** Call `fn` with each new pair; returns the unsubscribe function. */
  onChange(fn: (pair: TlsPair) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Switch to `pair` (checked first: throws TlsFilesError and keeps the current one when it is bad). */
  update(pair: TlsPair): void {
    checkTlsPair(pair);
    this.pair = pair;
    for (const fn of this.listeners) fn(pair);
  }
}

/** What identifies a file's content well enough to notice a replacement (a rename onto it, or a rewrite). */
function fingerprint(path: string): string {
  try {
    const s = statSync(path);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

/**
 * Polls the two files every `intervalMs` (a stat each, so renames onto them, as certbot and
 * cert-manager do, are seen) and loads them into `creds` when either changed. A pair that does not
 * load (half-written, a new certificate before its key) is logged and retried at the next poll; the
 * current one stays in use. Returns the stop function.
 */
export function watchTlsFiles(creds: TlsCredentials, paths: { cert: string; key: string }, opts: { intervalMs: number; log: Logger }): () => void {
  let seen = fingerprint(paths.cert) + '|' + fingerprint(paths.key);
  let failing = '';
  const timer = setInterval(() => {
    const now = fingerprint(paths.cert) + '|' + fingerprint(paths.key);
    if (now === seen) return;
    try {
      creds.update(readTlsPair(paths.cert, paths.key));
      seen = now;
      failing = '';
      opts.log.info({ cert: paths.cert, key: paths.key }, 'TLS certificate reloaded');
    } catch (err) {
      // Logged once per new state of the files, then retried quietly until they change again.
      if (failing !== now) opts.log.warn({ err: (err as Error).message, cert: paths.cert, key: paths.key }, 'TLS certificate files changed but do not load; keeping the current certificate');
      failing = now;
    }
  }, opts.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
