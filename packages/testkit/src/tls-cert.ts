import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/** A self-signed certificate made for one test: PEM files on disk and their contents. */
export interface TestCert {
  dir: string;
  certPath: string;
  keyPath: string;
  cert: Buffer;
  key: Buffer;
  /** Delete the files. */
  remove(): void;
}

/**
 * A fresh self-signed certificate (RSA 2048, valid a day, `CN` = `cn`) for `localhost` and
 * `127.0.0.1`, made with openssl in `dir` (a new temporary directory by default) as `<name>.pem`
 * and `<name>-key.pem`. It is its own CA: trust it with `ca: cert` or `NODE_EXTRA_CA_CERTS`.
 */
export function makeSelfSignedCert(opts: { cn?: string; dir?: string; name?: string } = {}): TestCert {
  const dir = opts.dir ?? mkdtempSync(path.join(tmpdir(), 'sb-tls-'));
  const name = opts.name ?? 'cert';
  const certPath = path.join(dir, `${name}.pem`);
  const keyPath = path.join(dir, `${name}-key.pem`);
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '1', '-subj', `/CN=${opts.cn ?? 'localhost'}`, '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
    { stdio: 'ignore' },
  );
  return {
    dir,
    certPath,
    keyPath,
    cert: readFileSync(certPath),
    key: readFileSync(keyPath),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
