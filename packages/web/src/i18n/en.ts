import type { ChatMessageState, ClientState } from '@switchboard/client';

/**
 * The chat page's English texts: the reference catalog. Every other language is typed as
 * `Messages` (below), so a key missing there, or one too many, does not compile. Static markup
 * names its keys with `data-i18n*` attributes (i18n.ts); the script reads `t()`.
 */
export const en = {
  // ---- static markup (index.html)
  pageTitle: 'Switchboard chat',
  loginHint: 'Log in as any user id. The page asks dispatch for a gateway, then connects.',
  loginUid: 'User id',
  loginToken: 'Token',
  loginTokenOptional: '(optional, for IM_AUTH=jwt)',
  loginButton: 'Log in',
  signedInAs: 'Signed in as',
  logout: 'Log out',
  loginAgain: 'Log in again',
  conversations: 'Conversations',
  chatWith: 'Chat with',
  peerPlaceholder: 'user id',
  open: 'Open',
  back: 'Back',
  backLabel: 'Back to the conversations',
  messagesLabel: 'Messages',
  messageLabel: 'Message',
  messagePlaceholder: 'Message (Enter to send, Shift+Enter for a new line)',
  messagePlaceholderShort: 'Message',
  send: 'Send',
  language: 'Language',
  notifyToggle: 'Notify me when this tab is hidden',
  // ---- connection
  state: {
    idle: 'offline',
    connecting: 'connecting…',
    online: 'online',
    reconnecting: 'reconnecting…',
    kicked: 'signed out',
    rejected: 'login refused',
    closed: 'offline',
  } satisfies Record<ClientState, string>,
  online: (node: string | null | undefined) => `online${node ? ` · ${node}` : ''}`,
  attempt: (state: string, attempt: number) => `${state} (attempt ${attempt})`,
  lampLabel: (state: string) => `Connection: ${state}`,
  reconnectingBanner: 'Connection lost. Reconnecting by itself; messages you send now go out once it is back.',
  kickedByAdmin: (reason: string | null) => `An administrator signed you out${reason ? `: ${reason}` : ''}.`,
  kickedByLogin: 'You were signed out: this user logged in somewhere else.',
  // ---- login
  loginNeedsUid: 'Enter a user id.',
  loginReservedUid: '"0" and "-1" are reserved user ids.',
  loginRefused: (code: number | null) => `Login refused${code !== null ? ` (code ${code})` : ''}.`,
  // ---- conversations and messages
  noConversation: 'No conversation open',
  unread: (n: number) => `${n} unread`,
  groupTag: 'group',
  groupLabel: (name: string) => `${name}, group`,
  messageState: {
    sending: 'sending…',
    sent: 'sent',
    delivered: 'delivered',
    read: 'read',
    failed: 'failed',
    received: '',
  } satisfies Record<ChatMessageState, string>,
  failedHint: 'Not sent: no answer from the server, or it refused the message.',
  retry: 'Retry',
  retryLabel: (content: string) => `Send "${content.slice(0, 40)}" again`,
  // ---- presence and typing
  presenceOnline: 'online',
  presenceOffline: 'offline',
  lastSeen: (when: string) => `last seen ${when}`,
  typing: 'typing…',
  typingNamed: (who: string) => `${who} is typing…`,
  // ---- notifications
  notifyTitle: (name: string) => `New message from ${name}`,
  notifyGroupTitle: (group: string, from: string) => `${from} in ${group}`,
  notifyUnsupported: 'This browser has no notifications.',
  notifyDenied: 'Notifications are blocked for this page in the browser settings.',
  // ---- time labels (time-label.ts)
  time: {
    yesterday: (hm: string) => `Yesterday ${hm}`,
    dayBefore: (hm: string) => `Day before yesterday ${hm}`,
    weekday: (day: number, hm: string) => `${['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'][day] ?? ''} ${hm}`,
    date: (month: number, day: number, hm: string) => `${MONTHS[month] ?? ''} ${day} ${hm}`,
    dateYear: (year: number, month: number, day: number, hm: string) => `${MONTHS[month] ?? ''} ${day}, ${year} ${hm}`,
  },
};

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

/** A catalog's shape: English's keys, with the same function signatures. */
export type Messages = typeof en;
