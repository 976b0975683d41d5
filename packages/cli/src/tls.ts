import { X509Certificate } from 'node:crypto';
import { ConfigError, TlsCredentials, TlsFilesError, readTlsPair, watchTlsFiles, type Lifecycle, type Logger } from '@switchboard/core';
import type { Config } from './config.js';

/**
 * The role's TLS credentials from `IM_TLS_CERT` / `IM_TLS_KEY` (null without them), watched for
 * changes until the lifecycle closes. Files that cannot be read or do not make a matching pair are a
 * configuration error (exit 2) at boot; later, a bad replacement is logged and the current pair kept.
 */
export function loadTls(cfg: Config, log: Logger, lifecycle: Lifecycle): TlsCredentials | null {
  if (!cfg.tls) return null;
  const { certPath, keyPath, reloadIntervalMs } = cfg.tls;
  let creds: TlsCredentials;
  try {
    creds = new TlsCredentials(readTlsPair(certPath, keyPath));
  } catch (err) {
    if (err instanceof TlsFilesError) throw new ConfigError([`IM_TLS_CERT / IM_TLS_KEY: ${err.message}`]);
    throw err;
  }
  const describe = (cert: Buffer) => {
    const x = new X509Certificate(cert);
    return { subject: x.subject.replaceAll('\n', ', '), subjectAltName: x.subjectAltName, validTo: x.validTo };
  };
  log.info({ tls: { cert: certPath, ...describe(creds.current.cert) } }, 'TLS on: wss://, TLS on TCP, HTTPS');
  creds.onChange((pair) => log.info({ tls: { cert: certPath, ...describe(pair.cert) } }, 'TLS certificate changed'));
  const stop = watchTlsFiles(creds, { cert: certPath, key: keyPath }, { intervalMs: reloadIntervalMs, log });
  lifecycle.onClose('tls watcher', stop);
  return creds;
}
