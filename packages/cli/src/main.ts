import { ConfigError } from '@switchboard/core';
import { loadConfig, type Role } from './config.js';
import { runDispatch, runGateway, runStandalone, type Running } from './roles.js';
import { runCluster } from './cluster.js';
import { clearReadyFile, writeReadyFile } from './ready-file.js';
import { ROLE_HELP, USAGE, UsageError, dropPnpmSeparators, parseRoleArgs } from './args.js';
import { BootError } from './boot-errors.js';

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = dropPnpmSeparators(argv);
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE + '\n');
    return;
  }
  if (command === 'bench') {
    const { runBenchCli } = await import('./bench.js');
    await runBenchCli(rest);
    return;
  }
  if (command === 'chat') {
    const { runChatCli } = await import('./chat.js');
    await runChatCli(rest);
    return;
  }
  if (command === 'token') {
    const { runTokenCli } = await import('./token.js');
    await runTokenCli(rest);
    return;
  }
  const roles: Record<string, Role> = { standalone: 'standalone', gateway: 'gateway', dispatch: 'dispatch', cluster: 'cluster' };
  const role = roles[command];
  if (!role) {
    process.stderr.write(`switchboard: unknown command "${command}"\n\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  const args = parseRoleArgs(role, rest);
  if (args.help) {
    process.stdout.write(ROLE_HELP[role] + '\n');
    return;
  }
  const cfg = loadConfig(role);
  if (role === 'cluster') return runCluster(cfg, args.gateways);
  clearReadyFile(cfg.readyFile);
  const run: Running = role === 'standalone' ? await runStandalone(cfg) : role === 'gateway' ? await runGateway(cfg) : await runDispatch(cfg);
  process.stdout.write(JSON.stringify(run.ready) + '\n');
  writeReadyFile(cfg.readyFile, run.ready);

  let signals = 0;
  let firstSignalAt = 0;
  const onSignal = (sig: string) => {
    // Ctrl+C reaches `switchboard cluster`'s children from the terminal and again from the parent:
    // a signal within a second of the first is that same request.
    if (signals > 0 && Date.now() - firstSignalAt < 1_000) return;
    signals++;
    firstSignalAt ||= Date.now();
    if (signals > 1) {
      process.stderr.write(`switchboard: second ${sig}, exiting now\n`);
      process.exit(1);
    }
    const deadline = setTimeout(() => {
      process.stderr.write('switchboard: shutdown deadline passed, exiting\n');
      process.exit(1);
    }, cfg.drainTimeoutMs + 5_000);
    deadline.unref();
    run.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`switchboard: shutdown failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  // A gateway drained through the admin API or dispatch ends its process like SIGTERM would.
  run.closed?.then(() => {
    if (signals > 0) return;
    signals++;
    run.lifecycle.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof UsageError || err instanceof BootError) {
    process.stderr.write(`switchboard: ${err.message}\n`);
    process.exit(err instanceof BootError ? err.exitCode : 2);
  }
  process.stderr.write(`switchboard: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
