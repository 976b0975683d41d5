import { newNodeId, type Logger } from '@switchboard/core';
import { createGateway, type Gateway, type GatewayHooks } from '@switchboard/gateway';
import { SERVER_UID, type Packet } from '@switchboard/protocol';
import { ChatLog } from './chat-log.js';

/**
 * Error code a sender receives when the word filter refuses its message. Codes 1025–1099 are
 * Switchboard's own (docs/errors.md); an application picks its codes above them.
 */
export const BLOCKED_WORD_CODE = 1200;

export interface ChatLogServerOptions {
  log: Logger;
  /** JSON-lines file the chat log is appended to. */
  logFile: string;
  /** Messages containing one of these words (case-insensitive) are refused with BLOCKED_WORD_CODE. */
  blockedWords?: readonly string[];
  bindHost?: string;
  /** 0 = any free port. */
  wsPort?: number;
  tcpPort?: number;
}

export interface ChatLogServer {
  gateway: Gateway;
  chatLog: ChatLog;
  start(): Promise<{ ws: number; tcp: number }>;
  /** Drain the gateway (clients are told to reconnect), then flush and close the log. */
  stop(): Promise<void>;
}

/**
 * A gateway embedded as a library, with the in-memory backends (one process, no Redis or RabbitMQ,
 * as `switchboard standalone`), whose hooks keep a chat log of every one-to-one message.
 */
export function buildChatLogServer(opts: ChatLogServerOptions): ChatLogServer {
  const { log } = opts;
  const chatLog = new ChatLog(opts.logFile);
  const blocked = (opts.blockedWords ?? []).map((w) => w.toLowerCase()).filter((w) => w.length > 0);
  const isUserMessage = (p: Packet): boolean => p.from !== SERVER_UID;

  const hooks: GatewayHooks = {
    onUserOnline: (userId, info) => log.info({ userId, transport: info.transport }, 'user online'),
    onUserOffline: (userId, info) => log.info({ userId, kickCode: info.kickCode }, 'user offline'),
    beforeRelay: (p) => {
      const text = (p.dataContent ?? '').toLowerCase();
      return blocked.some((w) => text.includes(w)) ? BLOCKED_WORD_CODE : 0;
    },
    // The receiver acked it.
    onDelivered: (p) => {
      if (isUserMessage(p)) chatLog.append('delivered', p);
    },
    // The receiver was offline (or did not ack in time): the message waits in its offline queue and
    // is delivered at its next login. Logged now, so each message is logged once.
    onStoredOffline: (p) => {
      if (isUserMessage(p)) chatLog.append('offline', p);
    },
    onLost: (p, reason) => log.warn({ from: p.from, to: p.to, fp: p.fp, reason }, 'message lost'),
    onC2S: (p) => log.info({ from: p.from, typeu: p.typeu }, 'message to the server'),
  };

  // The gateway as a library: in-memory backends by default (one process, as `switchboard standalone`).
  // Every login is accepted: a real app verifies tokens (a `verifyLogin` hook, or IM_AUTH=jwt).
  const gateway = createGateway({
    nodeId: newNodeId('chatlog'),
    log,
    hooks,
    bindHost: opts.bindHost ?? '127.0.0.1',
    wsPort: opts.wsPort ?? 3000,
    tcpPort: opts.tcpPort ?? 8901,
  });

  return {
    gateway,
    chatLog,
    async start() {
      const ports = await gateway.start();
      return { ws: ports.ws, tcp: ports.tcp };
    },
    async stop() {
      await gateway.drain();
      await gateway.close();
      await chatLog.close();
    },
  };
}
