export {
  SwitchboardClient,
  createClient,
  type ClientOptions,
  type ClientState,
  type ClientEvent,
  type ClientEventType,
  type IncomingMessage,
  type SendOptions,
  type SendResult,
  type KeepAliveTimings,
  type QosOptions,
  type GapOptions,
} from './client.js';
export { TOKEN_REFRESHES_PER_REFUSAL, type GetToken, type TokenContext, type TokenReason } from './login-token.js';
export { ClientError, ClientErrorCode, MessageLostError, LossReason, isClientError, type ClientErrorOptions } from './errors.js';
export {
  DEFAULT_QOS_CHECK_INTERVAL_MS,
  DEFAULT_QOS_JUST_SENT_MS,
  DEFAULT_QOS_MAX_RETRIES,
  DEFAULT_QOS_RESEND_GRACE_MS,
  DEFAULT_DEDUPE_TTL_MS,
  DEFAULT_KEEPALIVE_CHECK_INTERVAL_MS,
  DEFAULT_SENSE_MODE,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_LOGIN_TIMEOUT_MS,
  DEFAULT_DISPATCH_TIMEOUT_MS,
  DEFAULT_API_TIMEOUT_MS,
  DEFAULT_TOKEN_TIMEOUT_MS,
  CLIENT_FEATURES,
  DEFAULT_RECONNECT_POLICY,
  DEFAULT_RECEIPT_TYPEU,
  DEFAULT_TYPING_THROTTLE_MS,
  type ReconnectPolicy,
} from './defaults.js';
export { fetchDispatch, parseDispatchInfo, reconnectDelayMs, type DispatchInfo, type FetchLike } from './dispatch.js';
export {
  webSocketTransport,
  type Transport,
  type Connection,
  type ConnectionHandlers,
  type CloseInfo,
  type ServerTarget,
  type WebSocketLike,
  type WebSocketConstructor,
} from './transport.js';
export {
  MessageStore,
  DEFAULT_STORE_HISTORY_PAGE,
  type ChatMessage,
  type ChatMessageState,
  type ChatConversation,
  type StoreEvent,
  type MessageStoreOptions,
} from './message-store.js';
export { ReadMarker } from './read-marker.js';
export {
  HistoryApi,
  MAX_HISTORY_LIMIT,
  type StoredMessage,
  type Conversation,
  type PeerConversation,
  type GroupConversation,
  type GroupInfo,
  type ReadMarkerResult,
  type HistoryQuery,
  type HistoryApiOptions,
} from './history-api.js';
export { DEFAULT_GROUP_PREFIX, groupOrigin, type ConversationRef, type GroupOrigin } from './groups.js';
export {
  Sequencer,
  DEFAULT_GAP_GRACE_MS,
  DEFAULT_GAP_PAGE_SIZE,
  DEFAULT_GAP_MAX_FILL,
  DEFAULT_GAP_MAX_CONVERSATIONS,
  DEFAULT_GAP_MAX_PEERS,
  type SeqEntry,
  type SequencerDeps,
  type SequencerOptions,
  type SkipReason,
} from './sequencer.js';
export { DedupeWindow } from './dedupe.js';
export { Emitter } from './emitter.js';
export { newFingerprint } from './ids.js';
export { type PresenceInfo, type TypingTarget } from './presence.js';
