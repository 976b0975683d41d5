/** JSON schemas of the presence API and the online-user list (routes/presence.ts): validation and the OpenAPI document. */
import { MAX_WATCH_UIDS } from '@switchboard/protocol';

const error = {
  type: 'object',
  properties: { error: { type: 'string' }, message: { type: 'string' } },
} as const;

const security = [{ bearer: [] }];

const presenceState = {
  type: 'object',
  properties: {
    uid: { type: 'string' },
    online: { type: 'boolean' },
    lastSeen: { type: 'integer', description: 'offline users only: when the user was last online, ms since epoch (absent when never seen or expired)' },
  },
  required: ['uid', 'online'],
} as const;

export const presenceSchema = {
  summary: 'Whether users are online now, and when offline ones were last seen',
  description:
    `Up to ${MAX_WATCH_UIDS} comma-separated user ids (duplicates count once), answered in the order asked. ` +
    'Authenticated as a user (`Authorization: Bearer <token>`, checked as at login), like /api/history. 400 for none or too many.',
  tags: ['presence'],
  security,
  headers: {
    type: 'object',
    properties: { 'x-switchboard-user': { type: 'string', description: 'the user id: required with IM_AUTH=http' } },
  },
  querystring: {
    type: 'object',
    properties: { uids: { type: 'string', maxLength: 80_000, description: `user ids, comma-separated, 1 to ${MAX_WATCH_UIDS}` } },
  },
  response: { 200: { type: 'object', properties: { users: { type: 'array', items: presenceState } } }, 400: error, 401: error, 503: error },
} as const;

export const onlineUsersSchema = {
  summary: 'Online users, paged',
  description:
    'Users with a live route, node by node. `limit` 1–1000 (default 100); pass the answer\'s `cursor` to get the next page (null: the last page). ' +
    'Users who log in or out while paging may be listed twice or missed. `online` must be `true` (the only listing there is).',
  tags: ['admin'],
  security,
  querystring: {
    type: 'object',
    properties: {
      online: { type: 'string', enum: ['true'] },
      limit: { type: 'string', maxLength: 8, description: 'an integer from 1 to 1000, default 100 (400 otherwise)' },
      cursor: { type: 'string', maxLength: 512, description: 'the previous page\'s cursor (opaque)' },
    },
    required: ['online'],
  },
  response: {
    200: {
      type: 'object',
      properties: {
        users: {
          type: 'array',
          items: { type: 'object', properties: { userId: { type: 'string' }, nodeId: { type: 'string' }, since: { type: 'integer' } } },
        },
        cursor: { type: ['string', 'null'] },
      },
    },
    400: error,
    401: error,
    403: error,
  },
} as const;
