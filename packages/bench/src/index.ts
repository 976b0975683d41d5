export { runBenchCli } from './cli.js';
export { runBench } from './load/run.js';
export { pool } from './shared/wait.js';
export { installSignalStop, type RunIo } from './shared/run-io.js';
export { runIdle } from './idle/idle-run.js';
export { parsePromText } from './idle/idle-probes.js';
export {
  parseIdleArgs,
  defaultIdleProcs,
  workerRange,
  IDLE_USAGE,
  type IdleOptions,
  type IdleTarget,
  type ParsedIdleArgs,
} from './idle/idle-args.js';
export { IdleFleet } from './idle/idle-fleet.js';
export { epochNow, type IdleGateway, type IdleWorkerJob, type ParentMessage, type WorkerMessage, type WorkerCounters, type ReasonCounts } from './idle/idle-ipc.js';
export {
  formatIdleReport,
  idleReportJson,
  type IdleReport,
  type IdleGatewayReport,
  type IdleWorkerReport,
  type IdleTimelineEntry,
  type GatewayMetricsSample,
  type PhaseCpu,
} from './idle/idle-report.js';
export {
  parseBenchArgs,
  BENCH_USAGE,
  type BenchOptions,
  type BenchTarget,
  type ParsedBenchArgs,
} from './load/args.js';
export type { LoadMode } from './load/types.js';
export { parseHostPort, isTcpUser } from './shared/args.js';
export { LatencyHistogram, percentileOfSorted, type LatencySummary, type HistogramSnapshot } from './shared/histogram.js';
export { MessageTracker, MsgFlag, makeContent, contentSentAt } from './load/tracker.js';
export { LoadDriver, randomPeer, type LoadUser } from './load/load.js';
export { SimUser, type Placement, type UserContext, type UserState } from './load/sim-user.js';
export { PhaseStats, type Window } from './load/stats.js';
export { openConn } from './conn/connection.js';
export type { Conn, Endpoint, WsClient } from './conn/types.js';
export { openRawWs, FrameReader, encodeClientFrame, checkUpgradeAnswer, rawWsHandshake, RAW_WS_MAX_PAYLOAD, type FrameSink } from './conn/raw-ws.js';
export { dispatchUser, listNodes, drainNode, type DispatchAnswer, type AdminNode, type ReconnectPolicy } from './shared/dispatch-client.js';
export { startEchoServer, EchoUser } from './load/echo.js';
export { Sut, switchboardCommand, sourceNodeArgs, repoRoot, type SutOptions } from './shared/sut.js';
export { ManagedProcess, readCpuSeconds, readRssBytes, processReport, type ReadyLine, type ProcessReport } from './shared/proc.js';
export { busiestNode, readClusterPids, scheduleChaos, type ChaosEvent } from './load/chaos.js';
export { formatReport, reportJson, type BenchReport, type SwitchboardResult, type EchoResult } from './load/report.js';
export * from './shared/defaults.js';
export { parseGroupArgs, groupId, GROUP_USAGE, type GroupOptions, type GroupSetup, type ParsedGroupArgs, type Placement as GroupPlacement } from './group/group-args.js';
export { GroupLedger, type Receipt, type LostSummary } from './group/group-ledger.js';
export { parseGatewayCounters, brokerSummary, readGatewayCounters, type GatewayCounters, type BrokerSummary } from './group/group-metrics.js';
export { GroupUser, type GroupWorld } from './group/group-user.js';
export { runGroupBench } from './group/group-run.js';
export { formatGroupReport, groupReportJson, groupChecks, brokerLine, type GroupReport } from './group/group-report.js';
export type { GroupResult, GroupDrain } from './group/group-result.js';
