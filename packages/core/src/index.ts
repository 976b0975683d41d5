export {
  ImError,
  ImErrorCode,
  type ImErrorOptions,
  UnavailableError,
  TimeoutError,
  InvalidArgumentError,
  UnroutableError,
  toImError,
} from './errors.js';
export { type NodeId, type ConnId, type UserId, newNodeId, newConnId, newFingerprint, asUserId, asNodeId, asConnId } from './ids.js';
export { delay, waitFor, withTimeout, backoffMs } from './time.js';
export { Lifecycle } from './lifecycle.js';
export { createLogger, silentLogger, REDACT_PATHS, type Logger } from './logger.js';
export { ConfigError, formatIssues } from './config.js';
export { WriteBatcher, type CorkableSocket } from './write-batch.js';
export { LogThrottle } from './log-throttle.js';
export { ChurnMap, ChurnSet } from './churn-map.js';
export { TlsCredentials, TlsFilesError, readTlsPair, checkTlsPair, watchTlsFiles, type TlsPair } from './tls.js';
