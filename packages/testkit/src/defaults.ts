/** How long every `TestClient` wait (connect, login, ack, message, packet, close) lasts unless told otherwise. */
export const DEFAULT_CLIENT_TIMEOUT_MS = 5_000;

/** How long `TestClient.close()` waits for the peer to finish a graceful close before tearing the socket down. */
export const DEFAULT_CLIENT_CLOSE_GRACE_MS = 1_000;

/**
 * Largest inbound TCP body the `TestClient` accepts. MobileIMSDK's Java and iOS clients use the server's
 * limit (6144 bytes) for inbound frames too, so a gateway that writes more breaks them: the test client
 * behaves the same way by default (records a transport error and drops the connection).
 */
export const DEFAULT_CLIENT_MAX_TCP_BODY_BYTES = 6_144;

/** How long `spawnNode` waits for the `{"event":"ready"}` line. tsx compiles the sources on first start. */
export const DEFAULT_READY_TIMEOUT_MS = 30_000;

/** Grace between SIGTERM and SIGKILL when a `ProcessGroup` or `NodeProcess.stop()` ends a child. */
export const DEFAULT_KILL_GRACE_MS = 3_000;

/** How many lines of a child's stdout + stderr are kept for failure messages. */
export const DEFAULT_OUTPUT_LINES = 200;

/** How often a spawned child checks that its parent (the test process) is still alive. */
export const DEFAULT_PARENT_WATCH_INTERVAL_MS = 500;

/** Local Redis the project's machines run (toolchain.md). */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** Local RabbitMQ the project's machines run (toolchain.md). */
export const DEFAULT_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';

/** How long a service probe (TCP connect, Redis PING, AMQP handshake) may take. */
export const DEFAULT_SERVICE_PROBE_TIMEOUT_MS = 3_000;

/** Docker images testcontainers starts when no env URL is set and a Docker engine is reachable. */
export const DEFAULT_REDIS_IMAGE = 'redis:7-alpine';
export const DEFAULT_RABBITMQ_IMAGE = 'rabbitmq:3.13-alpine';
