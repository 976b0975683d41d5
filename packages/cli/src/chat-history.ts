import { DEFAULT_RECEIPT_TYPEU, ReadMarker as SdkReadMarker, type ChatMessage, type MessageStore, type StoredMessage, type SwitchboardClient } from '@switchboard/client';
import { nameOf } from './chat-text.js';

/** Messages `/history` shows without a count, and the most it shows (one request of the API). */
export const DEFAULT_HISTORY_LINES = 20;
export const MAX_HISTORY_LINES = 200;

/** The count of `/history [n]`: the default without one, null when it is not 1–200. */
export function parseHistoryCount(arg: string | undefined): number | null {
  if (arg === undefined) return DEFAULT_HISTORY_LINES;
  const n = /^[0-9]{1,3}$/.test(arg) ? Number(arg) : NaN;
  return n >= 1 && n <= MAX_HISTORY_LINES ? n : null;
}

/** `HH:MM:SS` for today, `YYYY-MM-DD HH:MM:SS` for another day (local time). */
export function stampOf(ms: number, now: number = Date.now()): string {
  const d = new Date(ms);
  const time = d.toTimeString().slice(0, 8);
  if (d.toDateString() === new Date(now).toDateString()) return time;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

/** One line of `/history`: `seq 12 ← bob: text` or `seq 13 → bob: text` (`"0"`, the server's pushes: `server`). */
export function describeStored(m: StoredMessage, me: string): string {
  return m.from === me ? `seq ${m.seq} → ${nameOf(m.to)}: ${m.content}` : `seq ${m.seq} ← ${nameOf(m.from)}: ${m.content}`;
}

/** What `/history` needs of the chat. */
export interface HistoryView {
  client: SwitchboardClient;
  store: MessageStore;
  /** Print a line, stamped with `at` (ms) or now. */
  print(line: string, at?: number): void;
  /** This session's view, for when the server has no history. */
  describeLocal(m: ChatMessage): string;
}

/**
 * `/history [n]`: the last `n` messages with `peer` from the server's history, oldest first, each
 * with its send time and seq; delivery receipts (SDK-internal messages, which take seqs too) are
 * left out. When the server keeps none (or cannot be asked) it says why and shows this session's
 * messages instead.
 */
export async function showHistory(v: HistoryView, peer: string, n: number): Promise<void> {
  let shown: StoredMessage[];
  try {
    shown = await lastMessages(v.client, peer, n);
  } catch (err) {
    v.print(`* no server history with ${peer} (${err instanceof Error ? err.message : String(err)}); this session's messages:`);
    showSession(v, peer);
    return;
  }
  if (shown.length === 0) return v.print(`* no messages with ${peer} in the server's history`);
  v.print(`* the last ${shown.length} message(s) with ${peer} from the server's history:`);
  for (const m of shown) v.print(describeStored(m, v.client.uid), m.sentAt);
}

/** Pages of history read back for one `/history` when receipts take up room. */
const MAX_HISTORY_PAGES = 5;

/** The last `n` messages with `peer` that are not receipts, paging back (at most MAX_HISTORY_PAGES requests). */
async function lastMessages(client: SwitchboardClient, peer: string, n: number): Promise<StoredMessage[]> {
  let found: StoredMessage[] = [];
  let before: number | undefined;
  for (let i = 0; i < MAX_HISTORY_PAGES && found.length < n; i++) {
    const page = await client.history(peer, before === undefined ? { limit: n } : { before, limit: n });
    found = [...page.filter((m) => m.typeu !== DEFAULT_RECEIPT_TYPEU), ...found];
    if (page.length < n || page[0]!.seq <= 1) break;
    before = page[0]!.seq;
  }
  return found.slice(-n);
}

/** `/session`: this session's messages with `peer` and their delivery state. */
export function showSession(v: HistoryView, peer: string): void {
  const msgs = v.store.conversation(peer);
  if (msgs.length === 0) v.print(`* nothing with ${peer} in this session yet`);
  for (const m of msgs) v.print(v.describeLocal(m), m.time);
}

/**
 * The chat's read marker with each peer: the SDK's `ReadMarker` (one request at a time per peer, later
 * seqs coalesced), a failure reported as a line once until a request succeeds again.
 */
export class ReadMarker extends SdkReadMarker {
  constructor(client: SwitchboardClient, report: (line: string) => void) {
    super(
      (peer, seq) => client.markRead(peer, seq),
      (peer, err) => report(`* read marker with ${peer} not saved: ${err instanceof Error ? err.message : String(err)}`),
    );
  }
}

/**
 * The line for a read notice: `peer` read up to `seq`. Printed once per own message it newly covers
 * (null when it covers none: a notice for messages the chat did not send, or already reported).
 */
export function readNoticeLine(store: MessageStore, reported: Map<string, number>, peer: string, seq: number): string | null {
  const before = reported.get(peer) ?? 0;
  if (seq <= before) return null;
  reported.set(peer, seq);
  const mine = store.conversation(peer).filter((m) => m.direction === 'out' && m.seq !== null && m.seq > before && m.seq <= seq);
  return mine.length === 0 ? null : `  ✓✓ ${peer} read your message${mine.length > 1 ? 's' : ''} up to seq ${seq}`;
}
