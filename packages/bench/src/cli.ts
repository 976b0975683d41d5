import { writeFileSync } from 'node:fs';
import { ConfigError } from '@switchboard/core';
import { BENCH_USAGE, parseBenchArgs } from './load/args.js';
import { IDLE_USAGE, parseIdleArgs } from './idle/idle-args.js';
import { formatIdleReport, idleReportJson } from './idle/idle-report.js';
import { runIdle } from './idle/idle-run.js';
import { formatReport, reportJson } from './load/report.js';
import { runBench } from './load/run.js';

/**
 * `switchboard bench ...`: parse the arguments, run, print the table on stdout (progress on
 * stderr), write `--json FILE`. `switchboard bench idle ...` runs idle mode instead. Exit code: 0
 * when every check passed, 1 when a check failed or the run could not be done, 2 for bad arguments.
 */
export async function runBenchCli(args: string[]): Promise<void> {
  const rest = args[0] === '--' ? args.slice(1) : args;
  if (rest[0] === 'idle') return runIdleCli(rest.slice(1));
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
  const log = progressLog(opts.quiet);
  await reportOrFail(async () => {
    const report = await runBench(opts, { log });
    process.stdout.write('\n' + formatReport(report));
    if (opts.jsonFile) {
      writeFileSync(opts.jsonFile, reportJson(report));
      log(`wrote ${opts.jsonFile}`);
    }
    return report.checks.every((c) => c.ok);
  });
}

/** `switchboard bench idle ...`: logged-in users held idle; gateway RSS per user and logins per second. */
async function runIdleCli(args: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseIdleArgs(args);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`switchboard bench idle: invalid arguments:\n  - ${err.problems.join('\n  - ')}\n\n${IDLE_USAGE}`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
  if (parsed.help) {
    process.stdout.write(IDLE_USAGE);
    return;
  }
  const opts = parsed.options;
  const log = progressLog(opts.quiet);
  await reportOrFail(async () => {
    const report = await runIdle(opts, { log });
    process.stdout.write('\n' + formatIdleReport(report));
    if (opts.jsonFile) {
      writeFileSync(opts.jsonFile, idleReportJson(report));
      log(`wrote ${opts.jsonFile}`);
    }
    return report.checks.every((c) => c.ok);
  });
}

/** Progress lines on stderr, stamped with the seconds since the start (none with --quiet). */
function progressLog(quiet: boolean): (line: string) => void {
  const t0 = Date.now();
  return (line) => {
    if (!quiet) process.stderr.write(`[bench +${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}\n`);
  };
}

/** Run, set the exit code from its verdict; a ConfigError is exit code 2, any other failure 1. */
async function reportOrFail(run: () => Promise<boolean>): Promise<void> {
  try {
    process.exitCode = (await run()) ? 0 : 1;
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
