/** JSON schemas of the group admin API (routes/groups.ts): validation and the OpenAPI document. */
import { GROUP_ID_PATTERN, MAX_GROUP_NAME_LENGTH } from '@switchboard/cluster';
import { MAX_USER_ID_LENGTH } from '@switchboard/protocol';

const error = {
  type: 'object',
  properties: { error: { type: 'string' }, message: { type: 'string' } },
} as const;

const security = [{ bearer: [] }];
const tags = ['groups'];

const gid = { type: 'string', pattern: GROUP_ID_PATTERN.source, description: 'group id: 1–64 of letters, digits, _ . -' } as const;
const gidParam = { type: 'object', properties: { gid }, required: ['gid'] } as const;

const members = {
  type: 'array',
  description:
    `user ids, 1–${MAX_USER_ID_LENGTH} characters, not "0" or "-1", not starting with the group prefix (IM_GROUP_PREFIX); ` +
    'duplicates count once. More than IM_GROUP_MAX_MEMBERS in the group is 409 too_many_members.',
  items: { type: 'string', minLength: 1, maxLength: MAX_USER_ID_LENGTH },
} as const;

const group = {
  type: 'object',
  properties: { id: { type: 'string' }, name: { type: 'string' }, members: { type: 'array', items: { type: 'string' } } },
} as const;

const noContent = { type: 'null', description: 'done' } as const;

export const putGroupSchema = {
  summary: 'Create a group, or replace its name and members',
  description:
    'Members already in keep the seq they joined at; new members join at the group history’s current seq (0 without history) ' +
    'and receive only later messages. Members not listed are removed. Answers the group.',
  tags,
  security,
  params: gidParam,
  body: {
    type: 'object',
    properties: { name: { type: 'string', minLength: 1, maxLength: MAX_GROUP_NAME_LENGTH }, members },
    required: ['name', 'members'],
    additionalProperties: false,
  },
  response: { 200: group, 400: error, 401: error, 403: error, 409: error, 413: error, 503: error },
} as const;

export const addMembersSchema = {
  summary: 'Add members to a group',
  description: 'Members already in are left as they are; new ones join at the group history’s current seq. All or nothing. Answers the group.',
  tags,
  security,
  params: gidParam,
  body: { type: 'object', properties: { members }, required: ['members'], additionalProperties: false },
  response: { 200: group, 400: error, 401: error, 403: error, 404: error, 409: error, 413: error, 503: error },
} as const;

export const removeMemberSchema = {
  summary: 'Remove one member from a group (the group stays, even empty)',
  tags,
  security,
  params: { type: 'object', properties: { gid, uid: { type: 'string', minLength: 1, maxLength: MAX_USER_ID_LENGTH } }, required: ['gid', 'uid'] },
  response: { 204: noContent, 400: error, 401: error, 403: error, 404: error, 503: error },
} as const;

export const deleteGroupSchema = {
  summary: 'Delete a group and its membership (its history expires on its own)',
  tags,
  security,
  params: gidParam,
  response: { 204: noContent, 400: error, 401: error, 403: error, 404: error, 503: error },
} as const;

export const getGroupSchema = {
  summary: 'A group: its name and members',
  tags,
  security,
  params: gidParam,
  response: { 200: group, 400: error, 401: error, 403: error, 404: error, 503: error },
} as const;
