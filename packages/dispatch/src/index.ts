export { buildDispatch, httpErrorCode } from './app.js';
export { type DispatchOptions } from './options.js';
export { DEFAULT_RECONNECT, NODE_LIST_CACHE_MS, DEFAULT_DISPATCH_PORT, DEFAULT_HISTORY_PAGE, MAX_HISTORY_PAGE, DISPATCH_REQUEST_TIMEOUT_MS } from './defaults.js';
export { type UserAuthenticator, type UserAuthResult, type UserCredentials, USER_HEADER, bearerToken } from './user-auth.js';
export { NOTICES_FEATURE } from './routes/history.js';
export { NodePicker, PICK_MEMORY_MS } from './picker.js';
