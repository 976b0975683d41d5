import { MemoryOfflineStore } from '../../src/memory/memory-offline-store.js';
import { offlineStoreContract } from '../contract/offline-store.contract.js';

offlineStoreContract('MemoryOfflineStore', async (opts) => ({ store: new MemoryOfflineStore(opts), cleanup: async () => {} }));
