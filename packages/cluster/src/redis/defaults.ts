/** Defaults of the Redis backends. Units are in the names. */

/** Prefix of every Redis key (`IM_KEY_PREFIX`). */
export const DEFAULT_KEY_PREFIX = 'im';

/** A command with no reply after this long fails (UnavailableError) instead of hanging a login. */
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 2_000;

/** A socket that sent commands and got no byte back for this long is destroyed and reconnected (half-open link). */
export const DEFAULT_REDIS_SOCKET_TIMEOUT_MS = 5_000;

/** Give up one TCP connect attempt after this long (the next attempt follows the backoff). */
export const DEFAULT_REDIS_CONNECT_TIMEOUT_MS = 3_000;

/** Reconnect backoff: first delay ceiling, ms (exponential with jitter, see `backoffMs`). */
export const DEFAULT_REDIS_RECONNECT_BASE_MS = 100;

/** Reconnect backoff: upper bound of any delay, ms. Reconnects never stop. */
export const DEFAULT_REDIS_RECONNECT_MAX_MS = 2_000;

/** Identical connection errors are logged at warn at most once per this window; repeats go to debug. */
export const DEFAULT_REDIS_ERROR_LOG_INTERVAL_MS = 10_000;

/** Batch size of SSCAN over a node's user index (purgeNode, countNode). */
export const DEFAULT_NODE_INDEX_SCAN_COUNT = 500;

/** Cluster mode: delay before a command that met a failing node, a down cluster or TRYAGAIN is tried again (within the command timeout). */
export const DEFAULT_REDIS_CLUSTER_RETRY_DELAY_MS = 200;

/** Replica wait: most time a WAIT for replicas may take before the write counts as not replicated. */
export const DEFAULT_REDIS_WAIT_TIMEOUT_MS = 500;

/** Replica wait (`auto`): how often the topology is checked for replicas. */
export const DEFAULT_REDIS_REPLICA_CHECK_MS = 5_000;

/**
 * Replica wait: connections of their own for the waited writes (offline stores, history appends). A
 * WAIT holds its connection for a replication round trip, so these few carry the waited writes in
 * parallel and the shared client never queues behind them.
 */
export const DEFAULT_REDIS_WAIT_CONNECTIONS = 4;
