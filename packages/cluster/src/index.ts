export { type Route, type ClaimResult, type RouteStore, decideClaim } from './route-store.js';
export {
  type OfflineMessage,
  type OfflineStore,
  type StoreOutcome,
  DEFAULT_OFFLINE_CAPACITY,
  DEFAULT_OFFLINE_TTL_MS,
} from './offline-store.js';
export {
  type OfflineBudget,
  type OfflineBudgetOptions,
  type BudgetCharge,
  type StorageCeiling,
  type StorageSample,
  DEFAULT_OFFLINE_SENDER_BUDGET_BYTES,
  DEFAULT_OFFLINE_SENDER_WINDOW_MS,
  DEFAULT_STORAGE_CEILING_SAMPLE_MS,
} from './offline-budget.js';
export {
  type ConversationId,
  type ConversationRef,
  type HistoryMessage,
  type AppendResult,
  type ConversationSummary,
  type HistoryStoreOptions,
  type HistoryStore,
  peerConversation,
  groupConversation,
  parseConversation,
  conversationRef,
  DEFAULT_HISTORY_MAX_PER_CONVERSATION,
  DEFAULT_HISTORY_TTL_DAYS,
  DEFAULT_HISTORY_TTL_MS,
} from './history-store.js';
export {
  type GroupInfo,
  type GroupStore,
  type GroupStoreOptions,
  type MembershipOutcome,
  memberIdProblem,
  DEFAULT_GROUP_MAX_MEMBERS,
  DEFAULT_GROUP_PREFIX,
  GROUP_ID_PATTERN,
  MAX_GROUP_NAME_LENGTH,
} from './group-store.js';
export { type PresenceStore, type PresenceStoreOptions, type UserPresence, DEFAULT_PRESENCE_TTL_MS, presenceOf } from './presence-store.js';
export { MemoryPresenceStore, type MemoryPresenceStoreOptions, DEFAULT_MEMORY_PRESENCE_MAX_USERS } from './memory/memory-presence-store.js';
export { type NodeRecord, type NodeRegistry, type NodeState, loadScore } from './node-registry.js';
export { type Bridge, type BridgeMessage, type BridgeMessageType, type BridgeState, type PresenceChange } from './bridge.js';
export { MemoryRouteStore } from './memory/memory-route-store.js';
export { MemoryOfflineStore } from './memory/memory-offline-store.js';
export { MemoryOfflineBudget } from './memory/memory-offline-budget.js';
export { HeapCeiling, type HeapCeilingOptions, DEFAULT_HEAP_CEILING_SHARE } from './memory/heap-ceiling.js';
export {
  MemoryHistoryStore,
  CONVERSATION_BYTES,
  DEFAULT_HISTORY_MEMORY_SHARE,
  type MemoryHistoryStats,
  type MemoryHistoryStoreOptions,
} from './memory/memory-history-store.js';
export { MemoryGroupStore } from './memory/memory-group-store.js';
export { MemoryNodeRegistry } from './memory/memory-node-registry.js';
export { LocalBus, LocalBridge } from './memory/local-bridge.js';
export { findRoute, liveRoute, type NodeLiveness } from './route-resolver.js';
