import { PassThrough } from 'node:stream';
import { waitFor } from '@switchboard/core';
import { runChat, type ChatOptions } from '../../packages/cli/src/chat.js';

/** A `switchboard chat` session on in-memory streams: write to `input` as the user; `lines` collects its output lines. */
export function chatSession(opts: Omit<ChatOptions, 'input' | 'output' | 'terminal'>) {
  const input = new PassThrough();
  const output = new PassThrough();
  const lines: string[] = [];
  let buf = '';
  output.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    const parts = buf.split('\n');
    buf = parts.pop()!;
    lines.push(...parts);
  });
  const exit = runChat({ ...opts, input, output, terminal: false });
  const waitLine = (re: RegExp, timeoutMs = 5_000) => waitFor(() => lines.find((l) => re.test(l)), { timeoutMs, what: `a line matching ${re}` });
  return { input, lines, exit, waitLine };
}
