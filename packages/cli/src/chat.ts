import * as readline from 'node:readline';
import { parseArgs } from 'node:util';
import type { Readable, Writable } from 'node:stream';
import { MessageStore, type ChatMessage, type ClientState, type StoreEvent, type SwitchboardClient } from '@switchboard/client';
import { createNodeClient } from '@switchboard/client/node';
import { ConfigError } from '@switchboard/core';
import { parseHistoryCount, readNoticeLine, ReadMarker, showHistory, showSession, stampOf, MAX_HISTORY_LINES } from './chat-history.js';
import { attemptErrorText, chatDispatchUrl, DEFAULT_CHAT_DISPATCH_PORT, loginRefusedLine, nameOf } from './chat-text.js';

export const CHAT_USAGE = `Usage: switchboard chat --uid ID [--to PEER] [--dispatch URL] [--token T] [--transport ws|tcp]

An interactive chat on the Switchboard client SDK: asks dispatch for a gateway, logs in, and
reconnects by itself. Type a line to send it to the current peer. Received messages show when they were
sent; messages the connection lost are fetched from the server's history, so each
conversation shows every message once, in order. Messages from the current peer
are marked read on the server (its SDK shows "read"). Messages the server pushes
(POST /api/messages, from "0") show as coming from "server". A refused login is
explained (1025: the token is missing, invalid or expired).

Options:
  --uid ID          user to log in as (required)
  --to PEER         peer to talk to first
  --dispatch URL    dispatch origin (default http://127.0.0.1:$IM_DISPATCH_PORT,
                    else http://127.0.0.1:${DEFAULT_CHAT_DISPATCH_PORT})
  --token T         login token (a JWT when the gateways run IM_AUTH=jwt: for
                    development, switchboard token --uid ID mints one)
  --transport T     ws (default) or tcp

Commands while chatting:
  /to PEER          talk to PEER from now on
  @PEER text        send one message to PEER
  /group GID text   send one message to group GID (you must be a member; group
                    messages show as "← [GID] sender: text")
  /history [n]      the last n messages with the current peer from the server's
                    history (default 20, at most ${MAX_HISTORY_LINES}), with their send time and seq;
                    this session's messages when the server keeps no history
  /session          this session's messages with the current peer and their state
  /status           connection state and pending messages
  /quit             leave (Ctrl+D too; piped input leaves once every message is acked or lost)

Exit codes: 0 left normally, 2 login refused, 3 kicked (a kicked client does not reconnect).`;

export interface ChatOptions {
  uid: string;
  dispatchUrl: string;
  token?: string | null;
  transport?: 'ws' | 'tcp';
  /** First peer. */
  peer?: string | null;
  input: Readable;
  output: Writable;
  /** Interactive terminal (prompt, colours). @default output is a TTY */
  terminal?: boolean;
  /** An already built client (tests). */
  client?: SwitchboardClient;
}

const STATE_TEXT: Record<ClientState, string> = {
  idle: 'offline',
  connecting: 'connecting…',
  online: 'online',
  reconnecting: 'reconnecting…',
  kicked: 'kicked',
  rejected: 'login refused',
  closed: 'offline',
};

type Color = (code: string, s: string) => string;

/** What the line handler needs of a running chat. */
interface ChatContext {
  client: SwitchboardClient;
  store: MessageStore;
  out: Writable;
  /** Current peer; `/to` changes it. */
  peer: string | null;
  reads: ReadMarker;
  /** Print a line stamped with `at` (ms; default now). */
  print(line: string, at?: number): void;
  refreshPrompt(): void;
  finish(code: number): void;
}

const short = (id: string): string => `#${id.slice(0, 8)}`;

/** `bob`, or for a group message `[team] bob` (incoming) / `[team]` (one's own). */
function whoOf(m: ChatMessage): string {
  if (m.group === null) return nameOf(m.peer);
  return m.direction === 'in' ? `[${m.group}] ${nameOf(m.from)}` : `[${m.group}]`;
}

function describeMessage(m: ChatMessage): string {
  return m.direction === 'in' ? `← ${whoOf(m)}: ${m.content}` : `→ ${whoOf(m)}: ${m.content}  (${short(m.id)} ${m.state}${m.error ? `: ${m.error}` : ''})`;
}

/** The prompt's connection lamp: green online, yellow (re)connecting, red otherwise. */
function lamp(state: ClientState, color: Color): string {
  return state === 'online' ? color('32', '●') : state === 'connecting' || state === 'reconnecting' ? color('33', '●') : color('31', '●');
}

/** The line a message-store event prints, or null (read marks, and changes the chat does not show). */
function storeEventLine(e: StoreEvent, color: Color): string | null {
  if (e.type !== 'added' && e.type !== 'updated') return null;
  const m = e.message;
  if (e.type === 'added') return m.direction === 'in' ? color('36', describeMessage(m)) : describeMessage(m);
  if (m.state === 'sent' && m.group !== null) return `  ${short(m.id)} sent (in group ${m.group}'s history, on its way to the members)`;
  if (m.state === 'sent') return `  ${short(m.id)} sent (${nameOf(m.peer)} has it or it waits in ${nameOf(m.peer)}'s offline queue)`;
  if (m.state === 'delivered') return color('32', `  ✓ ${short(m.id)} delivered to ${nameOf(m.peer)}`);
  if (m.state === 'failed') return color('31', `  ✗ ${short(m.id)} to ${whoOf(m)} failed${m.error ? `: ${m.error}` : ''}`);
  return null;
}

/** Send `text` to user `to`, or with `group` to that group. */
function sendChat(c: ChatContext, to: string, text: string, group = false): void {
  const state = c.client.state;
  if (state === 'kicked' || state === 'rejected' || state === 'closed') {
    c.print(`* cannot send: ${STATE_TEXT[state]}`);
    return;
  }
  if (group) c.store.sendToGroup(to, text);
  else c.store.send(to, text);
}

/** One line typed by the user: a command, `@PEER text`, or a message to the current peer. */
function onChatLine(raw: string, c: ChatContext): void {
  const line = raw.trimEnd();
  if (line === '') return c.refreshPrompt();
  if (line === '/quit' || line === '/exit') return c.finish(0);
  if (line === '/help') {
    c.out.write(CHAT_USAGE + '\n');
    return c.refreshPrompt();
  }
  if (line === '/status') {
    c.print(`* ${STATE_TEXT[c.client.state]}${c.client.node ? ` on ${c.client.node}` : ''}; ${c.client.pendingCount} message(s) waiting for an ack`);
    return;
  }
  const history = /^\/history(?:\s+(\S+))?\s*$/.exec(line);
  if (history || line === '/session') {
    if (!c.peer) return c.print('* no peer yet: /to PEER');
    const view = { client: c.client, store: c.store, print: c.print, describeLocal: describeMessage };
    if (!history) return showSession(view, c.peer);
    const n = parseHistoryCount(history[1]);
    if (n === null) return c.print(`* /history [n]: n is a number from 1 to ${MAX_HISTORY_LINES}`);
    void showHistory(view, c.peer, n);
    return;
  }
  const to = /^\/to\s+(\S+)\s*$/.exec(line);
  if (to) {
    c.peer = to[1]!;
    c.store.markRead(c.peer);
    const seen = c.client.lastSeq(c.peer);
    if (seen !== undefined) c.reads.seen(c.peer, seen);
    c.print(`* talking to ${c.peer}`);
    return;
  }
  const at = /^@(\S+)\s+([\s\S]+)$/.exec(line);
  if (at) return sendChat(c, at[1]!, at[2]!);
  const group = /^\/group(?:\s+(\S+))?(?:\s+([\s\S]+))?$/.exec(line);
  if (group) return group[1] && group[2] ? sendChat(c, group[1], group[2], true) : c.print('* /group GID text: a group id, then the message');
  if (line.startsWith('/')) return c.print(`* unknown command ${line.split(/\s/)[0]}; /help lists them`);
  if (!c.peer) return c.print('* pick a peer first: /to PEER (or @PEER text)');
  sendChat(c, c.peer, line);
}

/**
 * Run one chat session until the user leaves, the input ends (after pending messages settle),
 * the session is kicked or the login is refused. Resolves with the exit code.
 */
export async function runChat(opts: ChatOptions): Promise<number> {
  const out = opts.output;
  const tty = opts.terminal ?? Boolean((out as { isTTY?: boolean }).isTTY);
  const color: Color = (code, s) => (tty ? `\x1b[${code}m${s}\x1b[0m` : s);
  const client =
    opts.client ??
    createNodeClient({ uid: opts.uid, token: opts.token ?? null, dispatchUrl: opts.dispatchUrl, transport: opts.transport ?? 'ws', sendReceipts: true });
  const store = new MessageStore(client);
  let exitCode = 0;
  let finished = false;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));

  const rl = readline.createInterface({ input: opts.input, output: tty ? out : undefined, terminal: tty });
  const c: ChatContext = {
    client,
    store,
    out,
    peer: opts.peer ?? null,
    reads: new ReadMarker(client, (line) => c.print(line)),
    refreshPrompt: () => {
      if (!tty || finished) return;
      rl.setPrompt(`${lamp(client.state, color)} ${opts.uid}${c.peer ? ` → ${c.peer}` : ''}> `);
      rl.prompt(true);
    },
    print: (line, at) => {
      const stamp = stampOf(at ?? Date.now());
      if (tty) {
        readline.clearLine(out, 0);
        readline.cursorTo(out, 0);
      }
      out.write(`[${stamp}] ${line}\n`);
      c.refreshPrompt();
    },
    finish: (code) => {
      if (finished) return;
      finished = true;
      exitCode = code;
      resolveDone();
    },
  };
  const { print, finish } = c;

  client.on('state', (e) => {
    if (e.state === 'online') print(`* online${client.node ? ` on ${client.node}` : ''} as ${opts.uid}`);
    else if (e.state === 'reconnecting') print(`* ${color('33', 'connection lost')} (${e.reason ?? 'closed'}); reconnecting by itself`);
    else if (e.state === 'connecting') print(`* connecting to ${opts.dispatchUrl} …`);
    c.refreshPrompt();
  });
  client.on('reconnect', (e) => {
    if (e.attempt > 1 || client.state === 'connecting') print(`* retry ${e.attempt} in ${e.delayMs} ms${e.error ? ` (${attemptErrorText(e.error)})` : ''}`);
  });
  client.on('kicked', (e) => {
    print(color('31', `* kicked by the server (code ${e.code}${e.reason ? `: ${e.reason}` : ''}); not reconnecting`));
    finish(3);
  });
  const readReported = new Map<string, number>();
  client.on('read', (e) => {
    const line = readNoticeLine(store, readReported, e.peer, e.seq);
    if (line !== null) print(color('32', line));
  });
  store.subscribe((e) => {
    const line = storeEventLine(e, color);
    const incoming = e.type === 'added' && e.message.direction === 'in' ? e.message : null;
    if (line !== null) print(line, incoming?.time);
    if (incoming && incoming.peer === c.peer && incoming.seq !== null) c.reads.seen(incoming.peer, incoming.seq);
  });

  let inputEnded = false;
  const settleAndLeave = async (): Promise<void> => {
    // Piped input: leave once every message is acked or reported lost (never drop one silently).
    while (!finished && client.pendingCount > 0) await new Promise((r) => setTimeout(r, 100));
    finish(exitCode);
  };
  rl.on('line', (raw) => onChatLine(raw, c));
  rl.on('close', () => {
    inputEnded = true;
    void settleAndLeave();
  });

  if (tty) {
    out.write(`switchboard chat: ${opts.uid} via ${opts.dispatchUrl}. /help lists the commands.\n`);
  }
  client.connect().catch((err: unknown) => {
    // Only a refused login is reported here. A kick rejects too, but the 'kicked' handler reports
    // it and ends the chat; 'closed' is our own close() as the chat ends (or, unreported, a server
    // that closed the session for good before the first login).
    if (client.state === 'rejected') {
      print(color('31', loginRefusedLine(err, opts.uid)));
      finish(2);
    }
  });

  await done;
  if (!inputEnded) rl.close();
  store.detach();
  await client.close();
  return exitCode;
}

/** `switchboard chat ...` (`env`: where IM_DISPATCH_PORT is read). */
export async function runChatCli(argv: string[], env: Readonly<Record<string, string | undefined>> = process.env): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        uid: { type: 'string' },
        to: { type: 'string' },
        dispatch: { type: 'string' },
        token: { type: 'string' },
        transport: { type: 'string', default: 'ws' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    throw new ConfigError([`chat: ${err instanceof Error ? err.message : String(err)}`, 'see: switchboard chat --help']);
  }
  if (values.help) {
    process.stdout.write(CHAT_USAGE + '\n');
    return;
  }
  const problems: string[] = [];
  if (!values.uid) problems.push('chat: --uid is required');
  if (values.transport !== 'ws' && values.transport !== 'tcp') problems.push('chat: --transport must be ws or tcp');
  const dispatch = chatDispatchUrl(values.dispatch, env);
  if ('problem' in dispatch) problems.push(dispatch.problem);
  if (problems.length || 'problem' in dispatch) throw new ConfigError(problems);
  const code = await runChat({
    uid: values.uid!,
    dispatchUrl: dispatch.url,
    token: values.token ?? null,
    transport: values.transport as 'ws' | 'tcp',
    peer: values.to ?? null,
    input: process.stdin,
    output: process.stdout,
  });
  process.exitCode = code;
}
