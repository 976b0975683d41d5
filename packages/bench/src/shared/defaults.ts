/** Defaults of `switchboard bench`, in one place, units in the names. */

/** Simulated users. */
export const DEFAULT_USERS = 1_000;
/** Closed loop: unacked QoS messages each user keeps in flight. */
export const DEFAULT_INFLIGHT = 4;
/** `dataContent` size of each message, bytes. */
export const DEFAULT_SIZE_BYTES = 100;
/** Smallest `--size`: the content must hold the send timestamp and the message number. */
export const MIN_SIZE_BYTES = 32;
/**
 * Largest `--size`: MobileIMSDK's TCP body limit is 6144 bytes and the envelope around
 * `dataContent` (keys, ids, fp) takes about 200 of them.
 */
export const MAX_SIZE_BYTES = 5_800;
/** Measured window, seconds. */
export const DEFAULT_DURATION_S = 10;
/** Load before the measured window (not counted in rates and latencies), seconds. */
export const DEFAULT_WARMUP_S = 2;
/** Share of users on TCP (the rest use WebSocket). */
export const DEFAULT_TCP_SHARE = 0.5;
/** Heartbeat mode, as the MobileIMSDK table (architecture §2 `IM_SENSE_MODE`). */
export const DEFAULT_SENSE_MODE = '15S';
/** Connections opened at once while logging users in. */
export const DEFAULT_CONNECT_CONCURRENCY = 100;
/** Give up logging the users in after this long, seconds. */
export const DEFAULT_LOGIN_TIMEOUT_S = 60;
/** Wait for one login response, ms. */
export const DEFAULT_LOGIN_RESPONSE_TIMEOUT_MS = 10_000;
/**
 * Most users one load-generator process may simulate: one socket each, and the process limit is
 * 20000 open files (toolchain.md), minus headroom for the HTTP agent and the runtime.
 */
export const MAX_USERS = 19_000;

/** MobileIMSDK sender QoS (mobileimsdk-protocol §6.1): check tick, "just sent" grace, resends. */
export const DEFAULT_QOS_TICK_MS = 5_000;
export const DEFAULT_QOS_GRACE_MS = 3_000;
export const DEFAULT_QOS_RETRIES = 2;

/** Reconnect policy when dispatch does not hand one out (it does: architecture §7). */
export const DEFAULT_RECONNECT_INITIAL_MS = 500;
export const DEFAULT_RECONNECT_MAX_MS = 15_000;
export const DEFAULT_RECONNECT_MULTIPLIER = 2;
export const DEFAULT_RECONNECT_JITTER = 0.5;
/** Reconnect interval of MobileIMSDK clients (no dispatch): immediately, then every 3 s. */
export const DEFAULT_FIXED_RECONNECT_MS = 3_000;

/** Final drain: wait this long for outstanding acks and deliveries, seconds. */
export const DEFAULT_DRAIN_S = 20;
/** Then log the receivers of still-missing messages back in and wait this long for their offline queues, seconds. */
export const DEFAULT_COLLECT_S = 10;

/** Open loop: how often the rate scheduler wakes up, ms. */
export const OPEN_LOOP_TICK_MS = 2;
/** How often the progress line is printed (stderr), ms. */
export const PROGRESS_INTERVAL_MS = 2_000;
/** HTTP timeout of dispatch and admin requests, ms. */
export const DEFAULT_HTTP_TIMEOUT_MS = 5_000;
/** Deadline for a spawned process' ready line, ms. */
export const DEFAULT_SPAWN_READY_TIMEOUT_MS = 60_000;
/** After SIGTERM, a spawned process gets this long before SIGKILL, ms. */
export const DEFAULT_SPAWN_KILL_GRACE_MS = 10_000;

// ---- load mode's worker processes and verdicts (`switchboard bench --workers N`)

/** Load generator processes by default: the bench process itself (no workers). */
export const DEFAULT_LOAD_WORKERS = 1;
/** Most load worker processes (each holds its users' sockets; the machine's cores bind long before). */
export const MAX_LOAD_WORKERS = 32;
/** The parent sets the common start time of the load this far ahead of its `start` message, ms (IPC and timers of every worker). */
export const LOAD_WORKER_START_LEAD_MS = 500;
/** Deadline for a load worker to load and report ready, ms. */
export const LOAD_WORKER_READY_TIMEOUT_MS = 60_000;
/** How often each load worker reports its counters to the parent, ms. */
export const LOAD_WORKER_REPORT_INTERVAL_MS = 1_000;
/** A load worker's result is due this long after the longest its load, drain and collection may take, ms. */
export const LOAD_WORKER_RESULT_GRACE_MS = 30_000;
/** A measured second whose largest send→ack latency exceeds this is a stall, ms. */
export const STALL_THRESHOLD_MS = 50;
/** A process of the generator or the server at or above this many cores counts as saturated (one event loop = one core). */
export const SATURATED_PROCESS_CORES = 0.9;
/** The machine counts as saturated at or above this share of its cores busy. */
export const SATURATED_MACHINE_SHARE = 0.95;

// ---- idle mode (`switchboard bench idle`)

/** Idle mode: logged-in users held open, over all client worker processes. */
export const DEFAULT_IDLE_USERS = 1_000;
/** Idle mode: most users in total (the gateways' and workers' open-file limits bind long before). */
export const MAX_IDLE_USERS = 200_000;
/**
 * Idle mode: users one client worker process is given by default (`--procs` defaults to
 * ceil(users / this)); below MAX_USERS so a worker keeps headroom under its 20000 open files.
 */
export const DEFAULT_IDLE_USERS_PER_PROC = 18_000;
/** Idle mode: with more users than this, at least two worker processes by default. */
export const IDLE_MULTI_PROC_THRESHOLD_USERS = 1_000;
/** Idle mode: most client worker processes. */
export const MAX_IDLE_PROCS = 64;
/** Idle mode: logins in flight per worker process (connect + login packet + waiting for the answer). */
export const DEFAULT_LOGIN_CONCURRENCY = 256;
/** Idle mode: seconds every user stays logged in, sending only keepalives, after the last login. */
export const DEFAULT_IDLE_S = 20;
/** Idle mode: seconds between the gateway's start and its baseline RSS samples. */
export const DEFAULT_IDLE_SETTLE_S = 2;
/** Idle mode: give up logging users in after this long, seconds (failed attempts are retried until then). */
export const DEFAULT_IDLE_LOGIN_TIMEOUT_S = 120;
/** Idle mode: gateway RSS samples taken for the baseline and for the idle figure (median of them). */
export const IDLE_RSS_SAMPLES = 5;
/** Idle mode: the idle RSS samples spread over the last min(this, idle / 2) seconds, s. */
export const IDLE_RSS_WINDOW_S = 5;
/** Idle mode: baseline RSS samples are this far apart, ms. */
export const IDLE_BASELINE_SAMPLE_GAP_MS = 250;
/** Idle mode: how often each worker checks whose keepalive is due, ms. */
export const IDLE_KEEPALIVE_TICK_MS = 100;
/** Idle mode: progress lines on stderr and timeline entries, ms. */
export const IDLE_PROGRESS_INTERVAL_MS = 1_000;
/** Idle mode: how often each worker reports its counters to the parent, ms (below the progress interval, so lines are current). */
export const IDLE_WORKER_REPORT_INTERVAL_MS = 250;
/** Idle mode: deadline for a worker process to load and report ready, ms. */
export const IDLE_WORKER_READY_TIMEOUT_MS = 60_000;
/** Idle mode: deadline for a worker's final report after it was told to stop, ms. */
export const IDLE_WORKER_FINAL_TIMEOUT_MS = 30_000;

// ---- group mode (`switchboard bench group`)

/** Group mode: groups created (each user is a member of one). */
export const DEFAULT_GROUPS = 1;
/** Group mode: members per group. */
export const DEFAULT_GROUP_MEMBERS = 100;
/** Group mode: most members per group (the largest `IM_GROUP_MAX_MEMBERS` a gateway accepts). */
export const MAX_GROUP_MEMBERS = 10_000;
/** The gateways' default `IM_GROUP_MAX_MEMBERS`: above it a spawned system gets `IM_GROUP_MAX_MEMBERS` = --members. */
export const SUT_DEFAULT_GROUP_MAX_MEMBERS = 2_000;
/** Group mode: group messages per second offered over all groups (open loop). */
export const DEFAULT_GROUP_RATE = 10;
/** The gateways' default `IM_GROUP_PREFIX`: a group's address is this prefix and its id. */
export const DEFAULT_GROUP_PREFIX = 'g:';
