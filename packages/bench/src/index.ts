export { runBenchCli } from './cli.js';
export { runBench, pool, installSignalStop, processReport, type RunIo } from './run.js';
export { runIdle, parsePromText } from './idle-run.js';
export {
  parseIdleArgs,
  defaultIdleProcs,
  workerRange,
  IDLE_USAGE,
  type IdleOptions,
  type IdleTarget,
  type ParsedIdleArgs,
} from './idle-args.js';
export { IdleFleet } from './idle-fleet.js';
export { epochNow, type IdleGateway, type IdleWorkerJob, type ParentMessage, type WorkerMessage, type WorkerCounters, type ReasonCounts } from './idle-ipc.js';
export {
  formatIdleReport,
  idleReportJson,
  type IdleReport,
  type IdleGatewayReport,
  type IdleWorkerReport,
  type IdleTimelineEntry,
  type GatewayMetricsSample,
  type PhaseCpu,
} from './idle-report.js';
export {
  parseBenchArgs,
  parseHostPort,
  isTcpUser,
  BENCH_USAGE,
  type BenchOptions,
  type BenchTarget,
  type LoadMode,
  type ParsedBenchArgs,
} from './args.js';
export { LatencyHistogram, percentileOfSorted, type LatencySummary, type HistogramSnapshot } from './histogram.js';
export { MessageTracker, MsgFlag, makeContent, contentSentAt } from './tracker.js';
export { LoadDriver, randomPeer, type LoadUser } from './load.js';
export { SimUser, type Placement, type UserContext, type UserState } from './sim-user.js';
export { PhaseStats, type Window } from './stats.js';
export { openConn, type Conn, type Endpoint, type WsClient } from './connection.js';
export { openRawWs, FrameReader, encodeClientFrame, checkUpgradeAnswer, rawWsHandshake, RAW_WS_MAX_PAYLOAD, type FrameSink } from './raw-ws.js';
export { dispatchUser, listNodes, drainNode, type DispatchAnswer, type AdminNode, type ReconnectPolicy } from './dispatch-client.js';
export { startEchoServer, EchoUser } from './echo.js';
export { Sut, switchboardCommand, sourceNodeArgs, repoRoot, type SutOptions } from './sut.js';
export { ManagedProcess, readCpuSeconds, readRssBytes, type ReadyLine } from './proc.js';
export { busiestNode, readClusterPids, scheduleChaos, type ChaosEvent } from './chaos.js';
export { formatReport, reportJson, type BenchReport, type SwitchboardResult, type EchoResult, type ProcessReport } from './report.js';
export * from './defaults.js';
