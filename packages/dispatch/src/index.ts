export { buildDispatch, type DispatchOptions, DEFAULT_RECONNECT, NODE_LIST_CACHE_MS } from './app.js';
export { NodePicker, PICK_MEMORY_MS } from './picker.js';
