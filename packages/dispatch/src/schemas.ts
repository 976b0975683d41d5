/** JSON schemas of the dispatch HTTP API: validation and the OpenAPI document at /docs/openapi.json. */

const error = {
  type: 'object',
  properties: { error: { type: 'string' }, message: { type: 'string' }, reason: { type: 'string' } },
} as const;

const security = [{ bearer: [] }];

const nodeRecord = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    host: { type: 'string' },
    ports: {
      type: 'object',
      properties: { ws: { type: 'integer' }, tcp: { type: 'integer' }, udp: { type: 'integer' }, admin: { type: 'integer' } },
    },
    state: { type: 'string', enum: ['active', 'draining'] },
    connections: { type: 'integer' },
    loopLagMs: { type: 'number', description: 'event-loop lag p99, ms' },
    cpu: { type: 'number', description: 'cores busy over the last second' },
    msgRate: { type: 'number', description: 'messages handled per second' },
    load: { type: 'number', description: 'the score dispatch ranks nodes by: connections plus lag and cpu weights (lower is better)' },
    startedAt: { type: 'integer' },
    tls: { type: 'boolean', description: 'the gateway serves wss:// and TLS on TCP' },
    wsUrl: { type: 'string', description: 'the WebSocket URL handed out for it (IM_PUBLIC_WS_URL), when set' },
    reportedAt: { type: 'integer' },
  },
} as const;

const route = {
  type: ['object', 'null'],
  properties: {
    userId: { type: 'string' },
    nodeId: { type: 'string' },
    connId: { type: 'string' },
    firstLoginTime: { type: 'integer' },
    since: { type: 'integer' },
  },
} as const;

const uidParam = { type: 'object', properties: { uid: { type: 'string', minLength: 1, maxLength: 128 } }, required: ['uid'] } as const;

export const dispatchSchema = {
  summary: 'Pick the least-loaded live gateway for a user, before login',
  tags: ['dispatch'],
  querystring: { type: 'object', properties: { uid: { type: 'string', minLength: 1, maxLength: 128 } }, required: ['uid'] },
  response: {
    200: {
      type: 'object',
      properties: {
        node: { type: 'string' },
        ws: { type: 'string', description: 'ws:// or, when the gateway serves TLS, wss://; a proxy\'s URL when the gateway sets IM_PUBLIC_WS_URL' },
        tcp: {
          type: 'object',
          properties: { host: { type: 'string' }, port: { type: 'integer' }, tls: { type: 'boolean', description: 'present and true: connect with TLS (the framing inside unchanged); absent for a plain gateway' } },
        },
        udp: { type: 'object', properties: { host: { type: 'string' }, port: { type: 'integer' } } },
        senseMode: { type: 'string' },
        reconnect: {
          type: 'object',
          properties: {
            initialDelayMs: { type: 'integer' },
            maxDelayMs: { type: 'integer' },
            multiplier: { type: 'number' },
            jitter: { type: 'number' },
          },
        },
      },
    },
    503: error,
  },
} as const;

export const healthSchema = {
  summary: 'Liveness: the process is up',
  tags: ['health'],
  response: { 200: { type: 'object', properties: { status: { type: 'string' } } } },
} as const;

export const readySchema = {
  summary: 'Readiness: Redis reachable and at least one live gateway',
  tags: ['health'],
  response: {
    200: { type: 'object', properties: { ready: { type: 'boolean' }, gateways: { type: 'integer' } } },
    503: { type: 'object', properties: { ready: { type: 'boolean' }, reason: { type: 'string' } } },
  },
} as const;

export const nodesSchema = {
  summary: 'Every live gateway with its load and state',
  tags: ['admin'],
  security,
  response: { 200: { type: 'object', properties: { nodes: { type: 'array', items: nodeRecord } } }, 401: error, 403: error },
} as const;

const sample = {
  type: 'object',
  properties: { t: { type: 'integer' }, gateways: { type: 'integer' }, connections: { type: 'integer' }, msgRate: { type: 'number' } },
} as const;

export const statsSchema = {
  summary: 'Cluster totals now, and sampled every 2 s over the last 10 minutes',
  tags: ['admin'],
  security,
  response: {
    200: {
      type: 'object',
      properties: {
        t: { type: 'integer' },
        gateways: { type: 'integer' },
        draining: { type: 'integer' },
        connections: { type: 'integer' },
        msgRate: { type: 'number' },
        history: { type: 'array', items: sample },
      },
    },
    401: error,
    403: error,
  },
} as const;

export const userSchema = {
  summary: "A user's route, online state and offline queue length",
  tags: ['admin'],
  security,
  params: uidParam,
  response: {
    200: {
      type: 'object',
      properties: { userId: { type: 'string' }, online: { type: 'boolean' }, route, offlineQueue: { type: 'integer' } },
    },
    401: error,
    403: error,
  },
} as const;

export const kickSchema = {
  summary: 'Kick a user wherever they are connected (kickout code 2)',
  tags: ['admin'],
  security,
  params: uidParam,
  body: { type: ['object', 'null'], properties: { reason: { type: 'string', maxLength: 256 } }, additionalProperties: false },
  response: {
    200: { type: 'object', properties: { kicked: { type: 'boolean' }, userId: { type: 'string' }, nodeId: { type: 'string' } } },
    401: error,
    403: error,
    404: error,
    503: error,
  },
} as const;

export const drainSchema = {
  summary: 'Drain a gateway: no new clients, clients reconnect elsewhere, custody handed to offline storage, exit',
  tags: ['admin'],
  security,
  params: { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 64 } }, required: ['id'] },
  response: { 202: { type: 'object', properties: { draining: { type: 'boolean' }, nodeId: { type: 'string' } } }, 401: error, 403: error, 404: error },
} as const;

export const pushSchema = {
  summary: 'Send a server message (from "0", or with the admin token from a user) to a user anywhere in the cluster',
  description:
    'With qos (the default) the message is acked by the receiver or stored in its offline queue; without, it is dropped when the user is offline. ' +
    'status: relayed (handed to the gateway holding the user), stored (offline queue), dropped (non-QoS, user offline).',
  tags: ['push'],
  security,
  body: {
    type: 'object',
    properties: {
      to: { type: 'string', minLength: 1, maxLength: 128, not: { enum: ['0', '-1'] } },
      dataContent: { type: 'string', maxLength: 65_000 },
      typeu: { type: 'integer', minimum: -2147483648, maximum: 2147483647 },
      qos: { type: 'boolean' },
      from: {
        type: 'string',
        minLength: 1,
        maxLength: 128,
        not: { enum: ['-1'] },
        description: 'send as this user instead of "0" (server-side integrations): only with IM_ADMIN_TOKEN set and presented, 403 otherwise',
      },
    },
    required: ['to', 'dataContent'],
    additionalProperties: false,
  },
  response: {
    202: { type: 'object', properties: { fp: { type: 'string' }, status: { type: 'string', enum: ['relayed', 'stored', 'dropped'] } } },
    400: error,
    401: error,
    403: error,
    409: error,
  },
} as const;

/* The user API (routes/history.ts, docs/history.md): authenticated as the user, not the admin. */

const historyMessage = {
  type: 'object',
  properties: {
    seq: { type: 'integer', description: '1, 2, 3 … per conversation, gap-free' },
    fp: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    dataContent: { type: 'string' },
    typeu: { type: 'number' },
    sentAt: { type: 'integer', description: 'when the server accepted it, ms since epoch' },
  },
  required: ['seq', 'fp', 'from', 'to', 'dataContent', 'typeu', 'sentAt'],
} as const;

const userHeaders = {
  type: 'object',
  properties: {
    'x-switchboard-user': {
      type: 'string',
      description: 'the user id: required with IM_AUTH=http (the auth webhook checks it with the token); otherwise optional and, when sent, it must name the token\'s user',
    },
  },
} as const;

const peer = { type: 'string', minLength: 1, maxLength: 128, description: 'the other user of the conversation; "0" for server pushes' } as const;
const group = { type: 'string', minLength: 1, maxLength: 64, description: 'a group the user is a member of (instead of peer); 403 not_a_member otherwise' } as const;
const pageLimit = (what: string) =>
  ({ type: 'string', maxLength: 32, description: `how many ${what}: an integer from 1 to 200, default 50 (400 otherwise)` }) as const;
const userErrors = { 400: error, 401: error, 403: error, 404: error, 503: error } as const;

export const historySchema = {
  summary: 'A page of a conversation of the authenticated user, oldest first',
  description:
    'The newest `limit` messages with seq < `before` (default: the newest) of the conversation with `peer`, or of `group` (exactly one of the two; ' +
    'a group member sees the messages from its join on). Page back with `before` = the first seq of the page. ' +
    'Authenticated as the user (`Authorization: Bearer <token>`, checked as at login). 404 history_off when IM_HISTORY=off.',
  tags: ['history'],
  security,
  headers: userHeaders,
  querystring: {
    type: 'object',
    properties: {
      peer,
      group,
      before: { type: 'string', maxLength: 32, description: 'only messages with a smaller seq: a non-negative integer (400 otherwise)' },
      limit: pageLimit('messages'),
    },
  },
  response: { 200: { type: 'object', properties: { messages: { type: 'array', items: historyMessage } } }, ...userErrors },
} as const;

const conversation = {
  type: 'object',
  properties: {
    peer: { type: 'string', description: 'the other user (one-to-one conversations)' },
    group: { type: 'string', description: 'the group id (group conversations, listed even before their first message)' },
    name: { type: 'string', description: "the group's name" },
    last: { ...historyMessage, type: ['object', 'null'], description: 'the newest message kept (null when every message expired)' },
    unread: { type: 'integer', description: 'messages after readSeq that the user did not send' },
    lastSeq: { type: 'integer', description: 'highest seq of the conversation' },
    readSeq: { type: 'integer', description: "the user's read marker (0: nothing read)" },
  },
  required: ['last', 'unread', 'lastSeq', 'readSeq'],
} as const;

export const conversationsSchema = {
  summary: "The authenticated user's conversations, newest activity first, with unread counts",
  tags: ['history'],
  security,
  headers: userHeaders,
  querystring: { type: 'object', properties: { limit: pageLimit('conversations') } },
  response: { 200: { type: 'object', properties: { conversations: { type: 'array', items: conversation } } }, ...userErrors },
} as const;

export const readSchema = {
  summary: "Move the authenticated user's read marker in a conversation (`peer` or `group`); a peer gets a read receipt",
  description:
    'The marker only moves forward and never past the conversation\'s last seq; the answer is the marker now. ' +
    'If the peer is online with an SDK that announced the `notices` feature, it gets a NOTICE packet (type 60) {kind:"read", reader, seq}.',
  tags: ['history'],
  security,
  headers: userHeaders,
  body: {
    type: 'object',
    properties: { peer, group, seq: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } },
    required: ['seq'],
    additionalProperties: false,
  },
  response: { 200: { type: 'object', properties: { peer: { type: 'string' }, group: { type: 'string' }, readSeq: { type: 'integer' } } }, ...userErrors },
} as const;

export const userGroupsSchema = {
  summary: 'The groups the authenticated user is a member of',
  tags: ['history'],
  security,
  headers: userHeaders,
  response: {
    200: {
      type: 'object',
      properties: { groups: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' } }, required: ['id', 'name'] } } },
    },
    ...userErrors,
  },
} as const;
