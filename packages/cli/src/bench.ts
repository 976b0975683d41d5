/** Placeholder until the bench lands: prints what is missing instead of pretending to run. */
export async function runBenchCli(_args: string[]): Promise<void> {
  process.stderr.write('switchboard bench: not built yet\n');
  process.exitCode = 2;
}
