export {
  DEFAULT_CLIENT_TIMEOUT_MS,
  DEFAULT_CLIENT_CLOSE_GRACE_MS,
  DEFAULT_CLIENT_MAX_TCP_BODY_BYTES,
  DEFAULT_READY_TIMEOUT_MS,
  DEFAULT_KILL_GRACE_MS,
  DEFAULT_OUTPUT_LINES,
  DEFAULT_PARENT_WATCH_INTERVAL_MS,
  DEFAULT_REDIS_URL,
  DEFAULT_AMQP_URL,
  DEFAULT_SERVICE_PROBE_TIMEOUT_MS,
  DEFAULT_REDIS_IMAGE,
  DEFAULT_RABBITMQ_IMAGE,
} from './defaults.js';
export { type WireShape, encodeWithShape, encodeLoginInfoWithShape } from './wire-shape.js';
export {
  TestClient,
  connectClient,
  type TestTransport,
  type TestClientOptions,
  type WaitOptions,
  type HistoryWaitOptions,
  type LoginOptions,
  type SendOptions,
  type CloseOptions,
  type CloseInfo,
} from './test-client.js';
export {
  NodeProcess,
  ProcessGroup,
  spawnNode,
  startNode,
  repoRoot,
  cliEntry,
  type SpawnNodeOptions,
  type ReadyInfo,
  type ReadyNodeProcess,
  type ExitInfo,
  type OutputLine,
  type OutputStream,
} from './node-process.js';
export {
  resolveRedisUrl,
  resolveAmqpUrl,
  locateService,
  probeTcp,
  dockerAvailable,
  uniquePrefix,
  cleanupRedisPrefix,
  type ServiceKind,
  type LocateServiceOptions,
} from './services.js';
export { TcpProxy, type TcpProxyTarget } from './tcp-proxy.js';
export { ServiceProcs, freePort, freePorts, pollUntil, type ServiceProc } from './service-procs.js';
export {
  startRedisCluster,
  startRedisSentinel,
  redisCommand,
  type RedisNodeProc,
  type TestRedisCluster,
  type TestRedisSentinel,
} from './redis-topologies.js';
export { startRabbitCluster, rabbitServerAvailable, type RabbitNodeProc, type TestRabbitCluster } from './rabbit-nodes.js';
export { timeRejection } from './timing.js';
export { makeSelfSignedCert, type TestCert } from './tls-cert.js';
