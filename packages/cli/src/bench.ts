/** `switchboard bench`: the load and chaos generator lives in @switchboard/bench. */
export { runBenchCli } from '@switchboard/bench';
