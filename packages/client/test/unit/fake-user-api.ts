import type * as http from 'node:http';

/** One history entry as the user API answers it. */
export interface FakeStored {
  seq: number;
  fp: string;
  from: string;
  to: string;
  dataContent: string;
  typeu: number;
  sentAt: number;
}

/** One request the fake API got, with its credentials. */
export interface FakeApiRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization: string | null;
  user: string | null;
  body: unknown;
}

/**
 * dispatch's user API for one user (`uid`), in memory, plugged into `FakeDispatch.other`:
 * `/api/history`, `/api/conversations`, `POST /api/conversations/read`, `/api/groups`. `add()` writes
 * a message to a conversation with the next seq, as the gateway's history writer would. A group's
 * conversation is kept under its address (`g:<gid>`, the default prefix); `groups` are those the user
 * is a member of (others answer 403 not_a_member).
 */
export class FakeUserApi {
  readonly convs = new Map<string, { messages: FakeStored[]; readSeq: number }>();
  /** Groups of the user: id → name. */
  readonly groups = new Map<string, string>();
  readonly requests: FakeApiRequest[] = [];
  /** Answer every request with this status (and an error body naming `failError`) instead. */
  failWith: number | null = null;
  failError = 'failed';
  /** When set, a request whose bearer token it does not accept answers 401 (as dispatch with IM_AUTH=jwt). */
  acceptToken: ((token: string) => boolean) | null = null;

  constructor(readonly uid: string) {}

  /** Append a message of the conversation with `peer` (from `from`); returns it. */
  add(peer: string, from: string, content = `msg`, fp = `fp-${peer}-${this.lastSeq(peer) + 1}`): FakeStored {
    let c = this.convs.get(peer);
    if (!c) this.convs.set(peer, (c = { messages: [], readSeq: 0 }));
    const seq = this.lastSeq(peer) + 1;
    const to = peer.startsWith('g:') || from === this.uid ? peer : this.uid;
    const m: FakeStored = { seq, fp, from, to, dataContent: content, typeu: -1, sentAt: 1_000 + seq };
    c.messages.push(m);
    return m;
  }

  lastSeq(peer: string): number {
    return this.convs.get(peer)?.messages.at(-1)?.seq ?? 0;
  }

  /** Requests to one path. */
  to(path: string): FakeApiRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  readonly handler = (req: http.IncomingMessage, res: http.ServerResponse, url: URL): void => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString('utf8')));
    req.on('end', (): void => {
      const r: FakeApiRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        authorization: req.headers['authorization'] ?? null,
        user: (req.headers['x-switchboard-user'] as string | undefined) ?? null,
        body: raw ? (JSON.parse(raw) as unknown) : null,
      };
      this.requests.push(r);
      const send = (status: number, body: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      };
      if (this.failWith !== null) return send(this.failWith, { error: this.failError, message: `forced ${this.failWith}` });
      if (this.acceptToken && !this.acceptToken((r.authorization ?? '').replace(/^Bearer /, ''))) return send(401, { error: 'unauthorized', message: 'bad token' });
      if (r.path === '/api/groups') return send(200, { groups: [...this.groups].map(([id, name]) => ({ id, name })) });
      const group = r.query['group'] ?? (r.body as { group?: string } | null)?.group;
      if (group !== undefined && !this.groups.has(group)) return send(403, { error: 'not_a_member', message: `not in ${group}` });
      const key = group === undefined ? (r.query['peer'] ?? (r.body as { peer?: string } | null)?.peer ?? '') : `g:${group}`;
      if (r.path === '/api/history') {
        const before = r.query['before'] === undefined ? Infinity : Number(r.query['before']);
        const limit = Number(r.query['limit'] ?? 50);
        const older = (this.convs.get(key)?.messages ?? []).filter((m) => m.seq < before);
        return send(200, { messages: older.slice(Math.max(0, older.length - limit)) });
      }
      if (r.path === '/api/conversations') {
        const list = [...this.convs].map(([peer, c]) => ({
          ...(peer.startsWith('g:') ? { group: peer.slice(2), name: this.groups.get(peer.slice(2)) } : { peer }),
          last: c.messages.at(-1) ?? null,
          unread: c.messages.filter((m) => m.seq > c.readSeq && m.from !== this.uid).length,
          lastSeq: this.lastSeq(peer),
          readSeq: c.readSeq,
        }));
        return send(200, { conversations: list.reverse() });
      }
      if (r.path === '/api/conversations/read' && r.method === 'POST') {
        const { seq } = r.body as { seq: number };
        const c = this.convs.get(key);
        if (!c) return send(404, { error: 'not_found' });
        c.readSeq = Math.max(c.readSeq, Math.min(seq, this.lastSeq(key)));
        return send(200, { ...(group === undefined ? { peer: key } : { group }), readSeq: c.readSeq });
      }
      send(404, { error: 'not_found' });
    });
  };
}
