import type { ClientOptions } from './client-types.js';
import { DEFAULT_API_TIMEOUT_MS } from './defaults.js';
import { isRecord, type FetchLike } from './dispatch.js';
import { ClientError, ClientErrorCode } from './errors.js';
import type { ConversationRef } from './groups.js';
import { presenceInfoOf, type PresenceInfo } from './presence.js';
import { MAX_WATCH_UIDS } from '@switchboard/protocol';

/** One message of a conversation's history, as the server keeps it. */
export interface StoredMessage {
  /** 1, 2, 3 … per conversation. */
  seq: number;
  fp: string;
  /** The sender (in a group too: the user, not `g:team:alice`). */
  from: string;
  /** The receiver, or the group's address (`g:team`). */
  to: string;
  content: string;
  typeu: number;
  /** When the sender's gateway accepted it, ms since epoch. */
  sentAt: number;
}

interface ConversationCounts {
  /** The newest message still kept (for a group: and sent after the user joined), or null. */
  last: StoredMessage | null;
  /** Messages after `readSeq` that the user did not send. */
  unread: number;
  /** Highest seq of the conversation. */
  lastSeq: number;
  /** The user's read marker (0: nothing read). */
  readSeq: number;
}

/** A conversation with another user. */
export interface PeerConversation extends ConversationCounts {
  /** The other user (`"0"`: the server's pushes). */
  peer: string;
  group?: undefined;
}

/** A group the user is a member of (listed even before its first message). */
export interface GroupConversation extends ConversationCounts {
  /** The group id. */
  group: string;
  /** The group's name. */
  name: string;
  peer?: undefined;
}

/** One conversation of the user, as `conversations()` lists them (newest activity first): `group` set for a group. */
export type Conversation = PeerConversation | GroupConversation;

/** A group the user is a member of (`groups()`). */
export interface GroupInfo {
  id: string;
  name: string;
}

/** What `markRead()` answers: the user's read marker in that conversation now. */
export type ReadMarkerResult = { peer: string; readSeq: number } | { group: string; readSeq: number };

export interface HistoryQuery {
  /** Only messages with seq < `before`. @default the newest */
  before?: number;
  /** At most this many (the newest of them). @default 50, at most 200 */
  limit?: number;
}

/** Largest `limit` the history API takes. */
export const MAX_HISTORY_LIMIT = 200;

export interface HistoryApiOptions {
  /** Origin of the API (dispatch's): `http://127.0.0.1:8080`. */
  baseUrl: string;
  uid: string;
  /** The current token (null: none; the user id is sent, as IM_AUTH=none expects). */
  token: () => string | null;
  /** A new token after a 401 (the request is then sent once more); null: none to try. */
  refreshToken?: () => Promise<string | null>;
  fetch?: FetchLike;
  timeoutMs: number;
}

/**
 * The user API of dispatch (`/api/history`, `/api/conversations`, `/api/conversations/read`, `/api/groups`),
 * authenticated as the client's user: `Authorization: Bearer <token>` (the login token; the user id
 * without one) and `X-Switchboard-User: <uid>`. Failures are `ClientError`s: `API_UNAUTHORIZED`
 * (401), `API_UNAVAILABLE` (503: a backend down, retryable; 404 `history_off`: IM_HISTORY=off), `API_FAILED` (other
 * answers, unreachable, malformed bodies), `TIMEOUT`.
 */
export class HistoryApi {
  private readonly base: string;

  constructor(private readonly opts: HistoryApiOptions) {
    this.base = opts.baseUrl.replace(/\/+$/, '');
  }

  /** Messages with `peer` (or of `{ group }`), oldest first: the newest `limit` with seq < `before`. */
  async history(conv: string | ConversationRef, q: HistoryQuery = {}): Promise<StoredMessage[]> {
    const params = new URLSearchParams(refParam(conv));
    if (q.before !== undefined) checkSeq('before', q.before);
    if (q.limit !== undefined) checkLimit(q.limit);
    if (q.before !== undefined) params.set('before', String(q.before));
    if (q.limit !== undefined) params.set('limit', String(q.limit));
    const body = await this.request('GET', `/api/history?${params.toString()}`);
    const list = isRecord(body) ? body['messages'] : undefined;
    if (!Array.isArray(list)) throw malformed('history', 'no "messages" array');
    return list.map((m) => storedMessage(m, 'history'));
  }

  /** The user's conversations, newest activity first: at most `limit` (default 50, at most 200). */
  async conversations(q: { limit?: number } = {}): Promise<Conversation[]> {
    if (q.limit !== undefined) checkLimit(q.limit);
    const body = await this.request('GET', q.limit === undefined ? '/api/conversations' : `/api/conversations?limit=${q.limit}`);
    const list = isRecord(body) ? body['conversations'] : undefined;
    if (!Array.isArray(list)) throw malformed('conversations', 'no "conversations" array');
    return list.map(conversation);
  }

  /** Move the user's read marker with `peer` (or in `{ group }`) to `seq`; resolves with the marker now (never backwards). */
  async markRead(conv: string | ConversationRef, seq: number): Promise<ReadMarkerResult> {
    const ref = refParam(conv);
    checkSeq('seq', seq);
    const body = await this.request('POST', '/api/conversations/read', { ...ref, seq });
    if (!isRecord(body) || typeof body['readSeq'] !== 'number') throw malformed('conversations/read', 'no "readSeq"');
    const readSeq = body['readSeq'];
    return 'group' in ref ? { group: ref.group, readSeq } : { peer: ref.peer, readSeq };
  }

  /** The groups the user is a member of, by id. */
  async groups(): Promise<GroupInfo[]> {
    const body = await this.request('GET', '/api/groups');
    const list = isRecord(body) ? body['groups'] : undefined;
    if (!Array.isArray(list)) throw malformed('groups', 'no "groups" array');
    return list.map((g) => {
      if (!isRecord(g) || typeof g['id'] !== 'string') throw malformed('groups', 'a group lacks its id');
      return { id: g['id'], name: typeof g['name'] === 'string' ? g['name'] : g['id'] };
    });
  }

  /** The presence of `uids` (at most MAX_WATCH_UIDS), in the order asked. */
  async presence(uids: readonly string[]): Promise<PresenceInfo[]> {
    if (!Array.isArray(uids) || uids.length === 0 || uids.length > MAX_WATCH_UIDS || uids.some((u) => typeof u !== 'string' || u.length === 0 || u.includes(','))) {
      throw new ClientError(ClientErrorCode.INVALID_ARGUMENT, `presence takes 1 to ${MAX_WATCH_UIDS} user ids without commas`);
    }
    const body = await this.request('GET', `/api/presence?${new URLSearchParams({ uids: uids.join(',') }).toString()}`);
    const list = isRecord(body) ? body['users'] : undefined;
    if (!Array.isArray(list)) throw malformed('presence', 'no "users" array');
    return list.map((u) => {
      const info = presenceInfoOf(u);
      if (!info) throw malformed('presence', 'an entry lacks uid or online');
      return info;
    });
  }

  /** One request; refused with 401 and `refreshToken` gives a new token: once more with it. */
  private async request(method: 'GET' | 'POST', path: string, json?: unknown): Promise<unknown> {
    try {
      return await this.requestOnce(method, path, json);
    } catch (err) {
      if (!(err instanceof ClientError) || err.code !== ClientErrorCode.API_UNAUTHORIZED || !this.opts.refreshToken) throw err;
      if ((await this.opts.refreshToken()) === null) throw err;
      return this.requestOnce(method, path, json);
    }
  }

  private async requestOnce(method: 'GET' | 'POST', path: string, json?: unknown): Promise<unknown> {
    const f = this.opts.fetch ?? (globalThis.fetch as unknown as FetchLike | undefined);
    if (!f) throw new ClientError(ClientErrorCode.INVALID_ARGUMENT, 'no fetch() available; pass options.fetch');
    const url = this.base + path;
    const headers: Record<string, string> = {
      accept: 'application/json',
      authorization: `Bearer ${this.opts.token() ?? this.opts.uid}`,
      'x-switchboard-user': this.opts.uid,
    };
    if (json !== undefined) headers['content-type'] = 'application/json';
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), this.opts.timeoutMs);
    try {
      const res = await f(url, { method, headers, signal: ctl.signal, ...(json === undefined ? {} : { body: JSON.stringify(json) }) });
      // A body that is not JSON is left null: the status says what is wrong.
      const body = await res.json().catch(() => null);
      if (!res.ok) throw statusError(method, path, res.status, body);
      return body;
    } catch (err) {
      if (err instanceof ClientError) throw err;
      if (ctl.signal.aborted) {
        throw new ClientError(ClientErrorCode.TIMEOUT, `${method} ${path.split('?')[0]} did not answer within ${this.opts.timeoutMs} ms`, { cause: err, retryable: true });
      }
      throw new ClientError(ClientErrorCode.API_FAILED, `${method} ${url} failed: unreachable`, { cause: err, retryable: true });
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The user API of a client: at `apiUrl`, else `dispatchUrl`; null with neither (a fixed `server`). */
export function historyApiFor(opts: ClientOptions, token: () => string | null, refreshToken?: () => Promise<string | null>): HistoryApi | null {
  const baseUrl = opts.apiUrl ?? opts.dispatchUrl;
  if (!baseUrl) return null;
  const timeoutMs = opts.apiTimeoutMs ?? DEFAULT_API_TIMEOUT_MS;
  return new HistoryApi({ baseUrl, uid: opts.uid, token, timeoutMs, ...(refreshToken ? { refreshToken } : {}), ...(opts.fetch ? { fetch: opts.fetch } : {}) });
}

/** `{ peer }` or `{ group }` of a conversation given as a peer id or a reference; throws on an empty one. */
function refParam(conv: string | ConversationRef): { peer: string } | { group: string } {
  const ref = typeof conv === 'string' ? { peer: conv } : conv;
  const id: unknown = isRecord(ref) ? ('group' in ref ? ref.group : ref.peer) : undefined;
  if (typeof id !== 'string' || id.length === 0) {
    throw new ClientError(ClientErrorCode.INVALID_ARGUMENT, 'name the conversation: a peer id, { peer } or { group }');
  }
  return 'group' in ref ? { group: id } : { peer: id };
}

function checkLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_HISTORY_LIMIT) {
    throw new ClientError(ClientErrorCode.INVALID_ARGUMENT, `limit must be an integer from 1 to ${MAX_HISTORY_LIMIT}`);
  }
}

function checkSeq(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new ClientError(ClientErrorCode.INVALID_ARGUMENT, `${name} must be a non-negative integer`);
}

/** The error of a non-2xx answer; `serverCode` is the HTTP status. */
function statusError(method: string, path: string, status: number, body: unknown): ClientError {
  const what = `${method} ${path.split('?')[0]}`;
  const said = isRecord(body) ? [body['message'], body['reason'], body['error']].find((v): v is string => typeof v === 'string') : undefined;
  const reason = said ? `: ${said.slice(0, 200)}` : '';
  if (status === 401) {
    return new ClientError(ClientErrorCode.API_UNAUTHORIZED, `${what} refused the credentials (401)${reason}; check the token`, { serverCode: status });
  }
  if (status === 503) {
    return new ClientError(ClientErrorCode.API_UNAVAILABLE, `${what} is unavailable (503)${reason}`, { serverCode: status, retryable: true });
  }
  if (status === 404 && isRecord(body) && body['error'] === 'history_off') {
    return new ClientError(ClientErrorCode.API_UNAVAILABLE, `${what}: the server keeps no history (404 history_off)${reason}`, { serverCode: status });
  }
  return new ClientError(ClientErrorCode.API_FAILED, `${what} answered ${status}${reason}`, { serverCode: status, retryable: status >= 500 });
}

function malformed(route: string, why: string): ClientError {
  return new ClientError(ClientErrorCode.API_FAILED, `/api/${route} answered something else than expected: ${why}`);
}

function storedMessage(v: unknown, route: string): StoredMessage {
  if (
    !isRecord(v) ||
    typeof v['seq'] !== 'number' ||
    typeof v['fp'] !== 'string' ||
    typeof v['from'] !== 'string' ||
    typeof v['to'] !== 'string' ||
    typeof v['dataContent'] !== 'string'
  ) {
    throw malformed(route, 'a message lacks seq, fp, from, to or dataContent');
  }
  return {
    seq: v['seq'],
    fp: v['fp'],
    from: v['from'],
    to: v['to'],
    content: v['dataContent'],
    typeu: typeof v['typeu'] === 'number' ? v['typeu'] : -1,
    sentAt: typeof v['sentAt'] === 'number' ? v['sentAt'] : 0,
  };
}

function conversation(v: unknown): Conversation {
  const peer = isRecord(v) ? v['peer'] : undefined;
  const group = isRecord(v) ? v['group'] : undefined;
  if (!isRecord(v) || (typeof peer !== 'string' && typeof group !== 'string') || typeof v['lastSeq'] !== 'number') {
    throw malformed('conversations', 'a conversation lacks peer (or group) or lastSeq');
  }
  const num = (k: string): number => (typeof v[k] === 'number' ? (v[k] as number) : 0);
  const counts: ConversationCounts = {
    last: v['last'] === null || v['last'] === undefined ? null : storedMessage(v['last'], 'conversations'),
    unread: num('unread'),
    lastSeq: v['lastSeq'],
    readSeq: num('readSeq'),
  };
  if (typeof peer === 'string') return { peer, ...counts };
  return { group: group as string, name: typeof v['name'] === 'string' ? v['name'] : (group as string), ...counts };
}
