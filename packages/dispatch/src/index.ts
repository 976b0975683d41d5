export { buildDispatch } from './app.js';
export { type DispatchOptions } from './options.js';
export { DEFAULT_RECONNECT, NODE_LIST_CACHE_MS, DEFAULT_DISPATCH_PORT } from './defaults.js';
export { NodePicker, PICK_MEMORY_MS } from './picker.js';
