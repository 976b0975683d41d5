import { parseArgs } from 'node:util';
import { ConfigError } from '@switchboard/core';
import { loadConfig, type Role } from './config.js';
import { runDispatch, runGateway, runStandalone, type Running } from './roles.js';
import { runCluster } from './cluster.js';
import { clearReadyFile, writeReadyFile } from './ready-file.js';

const USAGE = `Usage: switchboard <command> [options]

Commands:
  standalone              dispatch + one gateway in one process, in-memory backends (no Redis, no RabbitMQ)
  gateway                 one cluster gateway (needs Redis and RabbitMQ)
  dispatch                the dispatch service (needs Redis)
  cluster --gateways N    dispatch + N gateways as child processes (default N = 3)
  bench [options]         load and chaos generator (see: switchboard bench --help)
  chat --uid ID           interactive terminal chat client (see: switchboard chat --help)

Configuration comes from IM_* environment variables; see the README.`;

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
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
  const roles: Record<string, Role> = { standalone: 'standalone', gateway: 'gateway', dispatch: 'dispatch', cluster: 'cluster' };
  const role = roles[command];
  if (!role) {
    process.stderr.write(`switchboard: unknown command "${command}"\n\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  const { values } = parseArgs({ args: rest, options: { gateways: { type: 'string', default: '3' } }, strict: true });
  const cfg = loadConfig(role);
  if (role === 'cluster') {
    const n = Number(values.gateways);
    if (!Number.isInteger(n) || n < 1 || n > 64) throw new ConfigError(['--gateways: a whole number from 1 to 64']);
    return runCluster(cfg, n);
  }
  clearReadyFile(cfg.readyFile);
  const run: Running = role === 'standalone' ? await runStandalone(cfg) : role === 'gateway' ? await runGateway(cfg) : await runDispatch(cfg);
  process.stdout.write(JSON.stringify(run.ready) + '\n');
  writeReadyFile(cfg.readyFile, run.ready);

  let signals = 0;
  const onSignal = (sig: string) => {
    signals++;
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
  if (err instanceof ConfigError) {
    process.stderr.write(`switchboard: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`switchboard: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
