/**
 * The chat-log example app: one gateway embedded as a library, keeping a chat log.
 *
 *     CHAT_LOG_FILE=./chat-log.jsonl IM_WS_PORT=3000 IM_TCP_PORT=8901 pnpm start
 *
 * Prints one JSON line `{"event":"ready",...}` with its ports once it accepts clients; stops
 * gracefully on SIGTERM / SIGINT.
 */
import { resolve } from 'node:path';
import { createLogger } from '@switchboard/core';
import { buildChatLogServer } from './app.js';

/** The example's configuration; the only place that reads the environment. */
function readConfig(env: NodeJS.ProcessEnv) {
  const port = (name: string, dflt: number): number => {
    const raw = env[name];
    const v = raw === undefined || raw === '' ? dflt : Number(raw);
    if (!Number.isInteger(v) || v < 0 || v > 65_535) throw new Error(`${name}: not a port: ${raw}`);
    return v;
  };
  return {
    logFile: resolve(env['CHAT_LOG_FILE'] || 'chat-log.jsonl'),
    blockedWords: (env['CHAT_LOG_BLOCKED_WORDS'] ?? '').split(',').map((w) => w.trim()),
    bindHost: env['IM_BIND_HOST'] || '127.0.0.1',
    wsPort: port('IM_WS_PORT', 3000),
    tcpPort: port('IM_TCP_PORT', 8901),
    logLevel: (env['IM_LOG_LEVEL'] || 'info') as 'info',
  };
}

const cfg = readConfig(process.env);
const log = createLogger({ level: cfg.logLevel, base: { app: 'chat-log' } });
const server = buildChatLogServer({ log, ...cfg });
const ports = await server.start();
log.info({ logFile: cfg.logFile }, 'chat log open');
process.stdout.write(JSON.stringify({ event: 'ready', role: 'chat-log', nodeId: server.gateway.nodeId, ports, logFile: cfg.logFile }) + '\n');

let stopping = false;
const stop = (signal: string): void => {
  if (stopping) {
    log.warn({ signal }, 'second signal: exiting now');
    process.exit(1);
  }
  stopping = true;
  log.info({ signal }, 'stopping');
  server.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      log.error({ err }, 'stop failed');
      process.exit(1);
    },
  );
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
