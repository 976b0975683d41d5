// MobileIMSDK v6's demo server and Switchboard standalone side by side, alternately, with one command
// (docs/benchmarks.md, "Side by side with MobileIMSDK"). Run from the repository root:
//
//   node --conditions=source --import tsx packages/bench/scripts/side-by-side.ts --out /tmp/sbs
//   node --conditions=source --import tsx packages/bench/scripts/side-by-side.ts --help
//
// Prints the table on stdout (progress on stderr) and writes it, every run's JSON and a summary
// JSON to --out. Exit 0 when every run produced a report, 1 when one did not or MobileIMSDK could
// not be started, 2 for bad arguments.
import { parseSideBySideArgs, runSideBySide, SIDE_BY_SIDE_USAGE } from '../src/load/side-by-side-run.js';

let opts;
try {
  opts = parseSideBySideArgs(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`side-by-side: ${err instanceof Error ? err.message : String(err)}\n\n${SIDE_BY_SIDE_USAGE}`);
  process.exit(2);
}
if (opts === 'help') {
  process.stdout.write(SIDE_BY_SIDE_USAGE);
  process.exit(0);
}
try {
  const { table, runs } = await runSideBySide(opts);
  process.stdout.write(`\n${table}`);
  process.exitCode = runs.length === opts.rounds * opts.sides.length * opts.measurements.length ? 0 : 1;
} catch (err) {
  process.stderr.write(`side-by-side: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
