import { writeFileSync } from 'node:fs';
import { ConfigError } from '@switchboard/core';
import { BENCH_USAGE, parseBenchArgs } from './load/args.js';
import { IDLE_USAGE, parseIdleArgs } from './idle/idle-args.js';
import { formatIdleReport, idleReportJson } from './idle/idle-report.js';
import { runIdle } from './idle/idle-run.js';
import { formatReport, reportJson } from './load/report.js';
import { runBench } from './load/run.js';
import { GROUP_USAGE, parseGroupArgs } from './group/group-args.js';
import { formatGroupReport, groupReportJson } from './group/group-report.js';
import { runGroupBench } from './group/group-run.js';
import type { RunIo } from './shared/run-io.js';

/**
 * `switchboard bench ...`: parse the arguments, run, print the table on stdout (progress on
 * stderr), write `--json FILE`. `switchboard bench idle ...` runs idle mode instead, `switchboard
 * bench group ...` group mode. Exit code: 0 when every check passed, 1 when a check failed or the run
 * could not be done, 2 for bad arguments.
 */
export async function runBenchCli(args: string[]): Promise<void> {
  const rest = args[0] === '--' ? args.slice(1) : args;
  if (rest[0] === 'idle') {
    return runMode('switchboard bench idle', rest.slice(1), { parse: parseIdleArgs, usage: IDLE_USAGE, run: runIdle, format: formatIdleReport, json: idleReportJson });
  }
  if (rest[0] === 'group') {
    return runMode('switchboard bench group', rest.slice(1), { parse: parseGroupArgs, usage: GROUP_USAGE, run: runGroupBench, format: formatGroupReport, json: groupReportJson });
  }
  return runMode('switchboard bench', args, { parse: parseBenchArgs, usage: BENCH_USAGE, run: runBench, format: formatReport, json: reportJson });
}

/** One mode of the bench: how its arguments are read, how it runs and how its report is written. */
interface Mode<O extends { quiet: boolean; jsonFile: string | null }, R extends { checks: Array<{ ok: boolean }> }> {
  parse(args: string[]): { help: true } | { help: false; options: O };
  usage: string;
  run(opts: O, io: RunIo): Promise<R>;
  format(report: R): string;
  json(report: R): string;
}

/** Parse (usage and exit code 2 on bad arguments), run, print the table, write `--json FILE`. */
async function runMode<O extends { quiet: boolean; jsonFile: string | null }, R extends { checks: Array<{ ok: boolean }> }>(
  name: string,
  args: string[],
  mode: Mode<O, R>,
): Promise<void> {
  let parsed;
  try {
    parsed = mode.parse(args);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${name}: invalid arguments:\n  - ${err.problems.join('\n  - ')}\n\n${mode.usage}`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
  if (parsed.help) {
    process.stdout.write(mode.usage);
    return;
  }
  const opts = parsed.options;
  const log = progressLog(opts.quiet);
  await reportOrFail(async () => {
    const report = await mode.run(opts, { log });
    process.stdout.write('\n' + mode.format(report));
    if (opts.jsonFile) {
      writeFileSync(opts.jsonFile, mode.json(report));
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
