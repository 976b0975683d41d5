import { writeFileSync } from 'node:fs';
import { ConfigError } from '@switchboard/core';
import { BENCH_USAGE, parseBenchArgs } from './args.js';
import { formatReport, reportJson } from './report.js';
import { runBench } from './run.js';

/**
 * `switchboard bench ...`: parse the arguments, run, print the table on stdout (progress on
 * stderr), write `--json FILE`. Exit code: 0 when every check passed, 1 when a check failed or the
 * run could not be done, 2 for bad arguments.
 */
export async function runBenchCli(args: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseBenchArgs(args);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`switchboard bench: invalid arguments:\n  - ${err.problems.join('\n  - ')}\n\n${BENCH_USAGE}`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
  if (parsed.help) {
    process.stdout.write(BENCH_USAGE);
    return;
  }
  const opts = parsed.options;
  const t0 = Date.now();
  const log = (line: string) => {
    if (!opts.quiet) process.stderr.write(`[bench +${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}\n`);
  };
  try {
    const report = await runBench(opts, { log });
    process.stdout.write('\n' + formatReport(report));
    if (opts.jsonFile) {
      writeFileSync(opts.jsonFile, reportJson(report));
      log(`wrote ${opts.jsonFile}`);
    }
    process.exitCode = report.checks.every((c) => c.ok) ? 0 : 1;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`switchboard bench: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`switchboard bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  }
}
