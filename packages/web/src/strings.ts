import type { ChatMessageState, ClientState } from '@switchboard/client';

/**
 * Every text the chat page's script shows, in one place (the markup's own text is in index.html).
 * Plain English, as the rest of the project.
 */

/** The connection lamp's text per client state. */
export const STATE_TEXT: Record<ClientState, string> = {
  idle: 'offline',
  connecting: 'connecting…',
  online: 'online',
  reconnecting: 'reconnecting…',
  kicked: 'signed out',
  rejected: 'login refused',
  closed: 'offline',
};

/** Under one's own messages. */
export const MESSAGE_STATE_TEXT: Record<ChatMessageState, string> = {
  sending: 'sending…',
  sent: 'sent',
  delivered: 'delivered',
  read: 'read',
  failed: 'failed',
  received: '',
};

export const T = {
  online: (node: string | null | undefined) => `online${node ? ` · ${node}` : ''}`,
  stateWithReason: (state: ClientState, reason: string | null) => `${STATE_TEXT[state]}${reason && state !== 'closed' ? ` (${reason})` : ''}`,
  attempt: (state: ClientState, attempt: number, error: string | null) => `${STATE_TEXT[state]} (attempt ${attempt}${error ? `: ${error}` : ''})`,
  lampLabel: (state: ClientState) => `Connection: ${STATE_TEXT[state]}`,
  kickedByAdmin: (reason: string | null) => `An administrator signed you out${reason ? `: ${reason}` : ''}.`,
  kickedByLogin: 'You were signed out: this user logged in somewhere else.',
  reconnecting: 'Connection lost. Reconnecting by itself; messages you send now go out once it is back.',
  loginNeedsUid: 'Enter a user id.',
  loginReservedUid: '"0" and "-1" are reserved user ids.',
  loginRefused: (why: string | null) => `Login refused${why ? `: ${why}` : ''}`,
  noConversation: 'No conversation open',
  unread: (n: number) => `${n} unread`,
  /** The tab's title with `n` unread messages over every conversation. */
  title: (base: string, n: number) => (n > 0 ? `(${n}) ${base}` : base),
  groupTag: 'group',
  groupLabel: (name: string) => `${name}, group`,
  retry: 'Retry',
  retryLabel: (content: string) => `Send "${content.slice(0, 40)}" again`,
} as const;
