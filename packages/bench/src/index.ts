export { runBenchCli } from './cli.js';
export { runBench, pool, type RunIo } from './run.js';
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
export { LatencyHistogram, percentileOfSorted, type LatencySummary } from './histogram.js';
export { MessageTracker, MsgFlag, makeContent, contentSentAt } from './tracker.js';
export { LoadDriver, randomPeer, type LoadUser } from './load.js';
export { SimUser, type Placement, type UserContext, type UserState } from './sim-user.js';
export { PhaseStats, type Window } from './stats.js';
export { openConn, type Conn, type Endpoint } from './connection.js';
export { dispatchUser, listNodes, drainNode, type DispatchAnswer, type AdminNode, type ReconnectPolicy } from './dispatch-client.js';
export { startEchoServer, EchoUser } from './echo.js';
export { Sut, switchboardCommand, repoRoot, type SutOptions } from './sut.js';
export { ManagedProcess, type ReadyLine } from './proc.js';
export { busiestNode, readClusterPids, scheduleChaos, type ChaosEvent } from './chaos.js';
export { formatReport, reportJson, type BenchReport, type SwitchboardResult, type EchoResult, type ProcessReport } from './report.js';
export * from './defaults.js';
